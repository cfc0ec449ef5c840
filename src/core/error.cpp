#include "core/error.hpp"

#include <regex>

namespace np::core {

std::string public_message(Code code, std::string_view message) {
    if (code == Code::internal)
        return "an internal error stopped this step; the details are kept for teachers and in the server log";
    return redact(message, 400);
}

std::string public_message(const std::exception& e) {
    if (const auto* err = dynamic_cast<const Error*>(&e)) return public_message(err->code(), err->what());
    return public_message(Code::internal, "");
}

std::string redact(std::string_view text, std::size_t max_bytes) {
    // std::regex: this runs on error paths only, over a few KB at most; no dependency is worth adding.
    static const std::regex secret_value(
        R"(((?:password|passwd|secret|token|ticket|authorization|cookie|api[_-]?key|PVEAuthCookie|CSRFPreventionToken)[A-Za-z_-]*\s*[=:]\s*)(?:Bearer\s+|PVEAPIToken=)?[^\s&;,'"]+)",
        std::regex::icase | std::regex::optimize);
    static const std::regex url_userinfo(R"((\b[a-z][a-z0-9+.-]*://)[^/\s@]+@)",
                                         std::regex::icase | std::regex::optimize);
    std::string cut(text.substr(0, std::min(text.size(), max_bytes)));
    std::string out = std::regex_replace(cut, secret_value, "$1[redacted]");
    out = std::regex_replace(out, url_userinfo, "$1[redacted]@");
    if (text.size() > max_bytes)
        out += " [... " + std::to_string(text.size() - max_bytes) + " more bytes cut]";
    return out;
}

int http_status(Code code) noexcept {
    switch (code) {
        case Code::invalid: return 400;
        case Code::unauthenticated: return 401;
        case Code::forbidden: return 403;
        case Code::not_found: return 404;
        case Code::conflict: return 409;
        case Code::payload_too_large: return 413;
        case Code::rate_limited: return 429;
        case Code::upstream: return 502;
        case Code::unavailable: return 503;
        case Code::timeout: return 504;
        case Code::internal: return 500;
    }
    return 500;
}

std::string_view code_name(Code code) noexcept {
    switch (code) {
        case Code::invalid: return "invalid";
        case Code::unauthenticated: return "unauthenticated";
        case Code::forbidden: return "forbidden";
        case Code::not_found: return "not_found";
        case Code::conflict: return "conflict";
        case Code::payload_too_large: return "payload_too_large";
        case Code::rate_limited: return "rate_limited";
        case Code::upstream: return "upstream";
        case Code::unavailable: return "unavailable";
        case Code::timeout: return "timeout";
        case Code::internal: return "internal";
    }
    return "internal";
}

std::string_view code_title(Code code) noexcept {
    switch (code) {
        case Code::invalid: return "Invalid input";
        case Code::unauthenticated: return "Authentication required";
        case Code::forbidden: return "Forbidden";
        case Code::not_found: return "Not found";
        case Code::conflict: return "Conflict";
        case Code::payload_too_large: return "Payload too large";
        case Code::rate_limited: return "Too many requests";
        case Code::upstream: return "Upstream failure";
        case Code::unavailable: return "Service unavailable";
        case Code::timeout: return "Timed out";
        case Code::internal: return "Internal error";
    }
    return "Internal error";
}

}  // namespace np::core
