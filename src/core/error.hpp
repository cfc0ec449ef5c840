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

// What an untrusted reader (a student, an anonymous caller) may see of a failure. Messages of internal
// errors (and of exceptions that are not core::Error) carry command lines, device output or file contents
// written for the operator: they become one short sentence naming no detail. Other codes were written for
// the user who caused them ("all 3 attempts are used") and are kept, redacted and cut to a few hundred
// bytes. The full text goes to the log and to teachers (see redact()).
std::string public_message(const std::exception& e);
std::string public_message(Code code, std::string_view message);

// `text` with secret-looking values masked (password=..., PVEAuthCookie=..., Authorization: ..., tickets,
// the user:password@ of URLs) and cut to `max_bytes` (a marker says how much was cut): what may be kept
// in a job's detail or a log line.
std::string redact(std::string_view text, std::size_t max_bytes = 4096);

// HTTP status and short machine name ("not_found") of a code.
int http_status(Code code) noexcept;
std::string_view code_name(Code code) noexcept;
std::string_view code_title(Code code) noexcept;

}  // namespace np::core
