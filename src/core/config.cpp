#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "core/error.hpp"
#include "core/yaml.hpp"

namespace np::core {
namespace {

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= path.size()) {
        size_t dot = path.find('.', start);
        if (dot == std::string_view::npos) dot = path.size();
        parts.emplace_back(path.substr(start, dot - start));
        start = dot + 1;
    }
    return parts;
}

YAML::Node lookup(const YAML::Node& root, std::string_view path) {
    // Walk const nodes: yaml-cpp's non-const operator[] would insert, and assigning one Node to another
    // overwrites the first's content rather than rebinding it, so each step is a new element.
    std::vector<YAML::Node> chain{root};
    for (const auto& p : split_path(path)) {
        const YAML::Node& cur = chain.back();
        if (!cur.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
        YAML::Node next = cur[p];
        if (!next) return YAML::Node(YAML::NodeType::Undefined);
        chain.push_back(next);
    }
    return chain.back();
}

Error bad_type(std::string_view path, std::string_view want, const YAML::Node& n) {
    return invalid("config key '" + std::string(path) + "' must be " + std::string(want) + " (line " +
                   std::to_string(n.Mark().line + 1) + ")");
}

}  // namespace

Config::Config() : root_(YAML::NodeType::Map) {}

Config Config::load(const std::string& path) {
    Config c;
    try {
        c.root_ = load_yaml_file(path, "config file '" + path + "'");
    } catch (const YAML::BadFile&) {
        throw invalid("cannot read config file '" + path + "'");
    } catch (const YAML::Exception& e) {
        throw invalid("config file '" + path + "': line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (c.root_.IsNull()) c.root_ = YAML::Node(YAML::NodeType::Map);
    if (!c.root_.IsMap()) throw invalid("config file '" + path + "' must be a YAML mapping");
    c.source_ = path;
    return c;
}

Config Config::from_string(std::string_view yaml) {
    Config c;
    try {
        c.root_ = load_yaml(yaml, "config");
    } catch (const YAML::Exception& e) {
        throw invalid("config: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (c.root_.IsNull()) c.root_ = YAML::Node(YAML::NodeType::Map);
    if (!c.root_.IsMap()) throw invalid("config must be a YAML mapping");
    c.source_ = "(string)";
    return c;
}

void Config::apply_env(char** envp) {
    if (!envp) return;
    constexpr std::string_view kPrefix = "NETPRAXIS_";
    for (char** e = envp; *e; ++e) {
        std::string_view kv(*e);
        if (!kv.starts_with(kPrefix)) continue;
        auto eq = kv.find('=');
        if (eq == std::string_view::npos) continue;
        std::string key(kv.substr(kPrefix.size(), eq - kPrefix.size()));
        if (key.find("__") == std::string::npos) continue;  // only SECTION__KEY forms are config
        std::string path;
        for (size_t i = 0; i < key.size(); ++i) {
            if (key[i] == '_' && i + 1 < key.size() && key[i + 1] == '_') {
                path.push_back('.');
                ++i;
            } else {
                path.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(key[i]))));
            }
        }
        set(path, std::string(kv.substr(eq + 1)));
    }
}

void Config::set(std::string_view path, const std::string& value) {
    auto parts = split_path(path);
    std::vector<YAML::Node> chain{root_};
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
        YAML::Node child = chain.back()[parts[i]];
        if (!child.IsMap()) {
            chain.back()[parts[i]] = YAML::Node(YAML::NodeType::Map);
            child = chain.back()[parts[i]];
        }
        chain.push_back(child);
    }
    chain.back()[parts.back()] = value;
}

bool Config::has(std::string_view path) const {
    return lookup(root_, path).IsDefined();
}

YAML::Node Config::node(std::string_view path) const {
    return lookup(root_, path);
}

std::string Config::get_string(std::string_view path, std::string_view fallback) const {
    auto n = lookup(root_, path);
    if (!n || n.IsNull()) return std::string(fallback);
    if (!n.IsScalar()) throw bad_type(path, "a string", n);
    return n.as<std::string>();
}

std::int64_t Config::get_int(std::string_view path, std::int64_t fallback) const {
    auto n = lookup(root_, path);
    if (!n || n.IsNull()) return fallback;
    try {
        return n.as<std::int64_t>();
    } catch (const YAML::Exception&) {
        throw bad_type(path, "an integer", n);
    }
}

bool Config::get_bool(std::string_view path, bool fallback) const {
    auto n = lookup(root_, path);
    if (!n || n.IsNull()) return fallback;
    try {
        return n.as<bool>();
    } catch (const YAML::Exception&) {
        throw bad_type(path, "true or false", n);
    }
}

std::chrono::milliseconds Config::get_duration(std::string_view path,
                                               std::chrono::milliseconds fallback) const {
    auto n = lookup(root_, path);
    if (!n || n.IsNull()) return fallback;
    if (!n.IsScalar()) throw bad_type(path, "a duration such as 30s", n);
    return parse_duration(n.Scalar(), path);
}

std::chrono::milliseconds parse_duration(std::string_view text, std::string_view what) {
    auto fail = [&] {
        return invalid(std::string(what) + ": '" + std::string(text) +
                       "' is not a duration (use a number with ms, s, m or h, e.g. 30s)");
    };
    if (text.empty()) throw fail();
    double value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value < 0) throw fail();
    std::string_view unit(ptr, static_cast<size_t>(text.data() + text.size() - ptr));
    double ms = 0;
    if (unit.empty() || unit == "s")
        ms = value * 1000;
    else if (unit == "ms")
        ms = value;
    else if (unit == "m" || unit == "min")
        ms = value * 60'000;
    else if (unit == "h")
        ms = value * 3'600'000;
    else
        throw fail();
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

}  // namespace np::core
