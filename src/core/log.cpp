#include "core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace np::log {
namespace {

bool g_json = false;

spdlog::level::level_enum to_spd(Level l) {
    switch (l) {
        case Level::debug: return spdlog::level::debug;
        case Level::info: return spdlog::level::info;
        case Level::warn: return spdlog::level::warn;
        case Level::error: return spdlog::level::err;
    }
    return spdlog::level::info;
}

void append_json_string(std::string& out, std::string_view v) {
    out.push_back('"');
    for (char c : v) {
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    constexpr const char* hex = "0123456789abcdef";
                    out.append("\\u00");
                    out.push_back(hex[(c >> 4) & 0xf]);
                    out.push_back(hex[c & 0xf]);
                } else {
                    out.push_back(c);
                }
        }
    }
    out.push_back('"');
}

// A logfmt value: bare when it has no space, quote, '=', backslash or control character; otherwise quoted
// with JSON's escapes (what logfmt readers such as Grafana Loki accept).
void append_logfmt_value(std::string& out, std::string_view v) {
    bool quote =
        v.empty() || std::any_of(v.begin(), v.end(), [](char c) {
            return c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20;
        });
    if (quote)
        append_json_string(out, v);
    else
        out.append(v);
}

}  // namespace

bool is_secret_key(std::string_view key) {
    static constexpr std::array<std::string_view, 8> kSecret = {
        "password", "token", "ticket", "secret", "cookie", "authorization", "csrf", "passwd"};
    std::string lower(key);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    return std::any_of(kSecret.begin(), kSecret.end(),
                       [&](std::string_view s) { return lower.find(s) != std::string::npos; });
}

std::string render(std::string_view event, std::initializer_list<Field> fields, bool json) {
    std::string out;
    out.reserve(64 + fields.size() * 24);
    if (json) {
        out.append("\"event\":");
        append_json_string(out, event);
        for (const auto& f : fields) {
            out.push_back(',');
            append_json_string(out, f.key);
            out.push_back(':');
            append_json_string(out, is_secret_key(f.key) ? std::string_view("[redacted]") : f.value);
        }
        return out;
    }
    out.append("event=");
    append_logfmt_value(out, event);
    for (const auto& f : fields) {
        out.push_back(' ');
        out.append(f.key);
        out.push_back('=');
        append_logfmt_value(out, is_secret_key(f.key) ? std::string_view("[redacted]") : f.value);
    }
    return out;
}

void setup(std::string_view level, std::string_view format) {
    g_json = format == "json";
    spdlog::drop("netpraxis");
    auto logger = spdlog::stderr_logger_mt("netpraxis");
    spdlog::set_default_logger(logger);
    if (g_json) {
        spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                            spdlog::pattern_time_type::utc);
    } else {
        spdlog::set_pattern("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
    }
    spdlog::set_level(spdlog::level::from_str(std::string(level)));
    spdlog::flush_on(spdlog::level::info);
}

bool enabled(Level level) {
    return spdlog::should_log(to_spd(level));
}

void write(Level level, std::string_view event, std::initializer_list<Field> fields) {
    if (!enabled(level)) return;
    spdlog::log(to_spd(level), "{}", render(event, fields, g_json));
}

}  // namespace np::log
