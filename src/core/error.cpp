#include "core/error.hpp"

namespace np::core {

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
