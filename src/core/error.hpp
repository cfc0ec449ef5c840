// core::Error: the one exception family of netpraxis (DESIGN.md "Errors"). Header-only, no Boost.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace np::core {

enum class Code {
    invalid,            // 400/422: the input is wrong; `fields` says where
    unauthenticated,    // 401
    forbidden,          // 403
    not_found,          // 404
    conflict,           // 409
    payload_too_large,  // 413
    rate_limited,       // 429
    upstream,           // 502: a dependency (Proxmox, GNS3, a device) answered badly
    unavailable,        // 503: a dependency could not be reached, or we are shutting down
    timeout,            // 504
    internal,           // 500
};

// One problem with one field of the input, e.g. {"checks[3].expect.match", "bad regex ..."}.
struct FieldError {
    std::string path;
    std::string message;
};

class Error : public std::runtime_error {
 public:
    Error(Code code, std::string message, bool retryable = false, std::vector<FieldError> fields = {})
        : std::runtime_error(std::move(message)),
          code_(code),
          retryable_(retryable),
          fields_(std::move(fields)) {}

    Code code() const noexcept { return code_; }
    bool retryable() const noexcept { return retryable_; }
    const std::vector<FieldError>& fields() const noexcept { return fields_; }

 private:
    Code code_;
    bool retryable_;
    std::vector<FieldError> fields_;
};

// Shorthands that read well at the throw site: `throw core::not_found("no exercise 'x'")`.
inline Error invalid(std::string m, std::vector<FieldError> f = {}) {
    return {Code::invalid, std::move(m), false, std::move(f)};
}
inline Error unauthenticated(std::string m) {
    return {Code::unauthenticated, std::move(m)};
}
inline Error forbidden(std::string m) {
    return {Code::forbidden, std::move(m)};
}
inline Error not_found(std::string m) {
    return {Code::not_found, std::move(m)};
}
inline Error conflict(std::string m) {
    return {Code::conflict, std::move(m)};
}
inline Error upstream(std::string m, bool retryable = false) {
    return {Code::upstream, std::move(m), retryable};
}
inline Error unavailable(std::string m) {
    return {Code::unavailable, std::move(m), true};
}
inline Error timeout(std::string m) {
    return {Code::timeout, std::move(m), true};
}
inline Error internal(std::string m) {
    return {Code::internal, std::move(m)};
}

// HTTP status and short machine name ("not_found") of a code.
int http_status(Code code) noexcept;
std::string_view code_name(Code code) noexcept;
std::string_view code_title(Code code) noexcept;

}  // namespace np::core
