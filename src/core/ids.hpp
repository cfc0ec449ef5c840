// Identifiers and random tokens (OpenSSL's CSPRNG), and wall-clock helpers. No Boost.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace np::core {

// `n` random bytes as lowercase hex (2n characters).
std::string random_hex(std::size_t n);
// `n` random bytes as unpadded base64url.
std::string random_base64url(std::size_t n);
// A new identifier for stored objects: 12 hex digits of milliseconds since the epoch, then 8 random hex
// digits. Ids sort by creation time, so lists page by id (keyset pagination) without a separate column.
std::string new_id();
std::string new_request_id();

// Seconds since the Unix epoch, and RFC 3339 UTC text ("2026-11-25T18:21:28Z").
std::int64_t unix_now();
std::string rfc3339(std::int64_t unix_seconds);
std::string rfc3339_now();
// Parses RFC 3339 ("...Z" or with an offset); returns false on malformed input.
bool parse_rfc3339(std::string_view text, std::int64_t& unix_seconds);

// Time source that tests replace (STYLE: time is injected, not slept).
class Clock {
 public:
    virtual ~Clock() = default;
    virtual std::chrono::steady_clock::time_point now() const { return std::chrono::steady_clock::now(); }
    virtual std::int64_t unix_now() const { return core::unix_now(); }
    static const Clock& system();
};

}  // namespace np::core
