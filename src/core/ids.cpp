#include "core/ids.hpp"

#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <vector>

#include "core/error.hpp"

namespace np::core {
namespace {

void fill_random(unsigned char* buf, std::size_t n) {
    if (RAND_bytes(buf, static_cast<int>(n)) != 1) throw internal("the system random generator failed");
}

}  // namespace

std::string random_hex(std::size_t n) {
    std::vector<unsigned char> buf(n);
    fill_random(buf.data(), n);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = kHex[buf[i] >> 4];
        out[2 * i + 1] = kHex[buf[i] & 0xf];
    }
    return out;
}

std::string random_base64url(std::size_t n) {
    std::vector<unsigned char> buf(n);
    fill_random(buf.data(), n);
    static constexpr char kAlpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((n * 4 + 2) / 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char b : buf) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kAlpha[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(kAlpha[(acc << (6 - bits)) & 0x3f]);
    return out;
}

std::string new_id() {
    auto ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    unsigned char raw[4];
    fill_random(raw, sizeof raw);
    std::uint32_t suffix =
        (std::uint32_t{raw[0]} << 24) | (std::uint32_t{raw[1]} << 16) | (std::uint32_t{raw[2]} << 8) | raw[3];
    {
        // Ids made in the same millisecond (or after the wall clock stepped back) still sort in creation
        // order within this process: the suffix then grows from the previous one by a random step.
        static std::mutex mutex;
        static std::uint64_t last_ms = 0;
        static std::uint32_t last_suffix = 0;
        std::lock_guard lock(mutex);
        if (ms <= last_ms) {
            ms = last_ms;
            std::uint32_t next = last_suffix + 1 + (suffix & 0xffff);
            if (next <= last_suffix) ++ms;  // wrapped: borrow the next millisecond
            suffix = next;
        }
        last_ms = ms;
        last_suffix = suffix;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "%012llx%08x", static_cast<unsigned long long>(ms) & 0xffffffffffffULL,
                  static_cast<unsigned>(suffix));
    return buf;
}

std::string new_request_id() {
    // A random prefix per process and a counter: unique, cheap on the hot path, and sortable in a log.
    // Formatted by hand: it runs once per HTTP request and snprintf costs more than the rest of it.
    static const std::string prefix = random_hex(4);
    static std::atomic<std::uint64_t> counter{0};
    std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
    char digits[16];
    int len = 0;
    do {
        digits[len++] = "0123456789abcdef"[n & 0xf];
        n >>= 4;
    } while (n != 0 || len < 6);
    std::string out;
    out.reserve(prefix.size() + 1 + static_cast<std::size_t>(len));
    out.append(prefix).push_back('-');
    while (len > 0) out.push_back(digits[--len]);
    return out;
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string rfc3339(std::int64_t unix_seconds) {
    // Civil calendar arithmetic from <chrono> (no gmtime_r: glibc takes its time-zone lock there).
    using namespace std::chrono;
    sys_seconds tp{seconds{unix_seconds}};
    auto day = floor<days>(tp);
    year_month_day ymd{day};
    hh_mm_ss hms{tp - day};
    int y = static_cast<int>(ymd.year());
    if (y < 0 || y > 9999) y = y < 0 ? 0 : 9999;  // RFC 3339 has four-digit years only
    char buf[21] = "0000-00-00T00:00:00Z";
    auto put = [&buf](int at, unsigned v, int width) {
        for (int i = width - 1; i >= 0; --i, v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
    };
    put(0, static_cast<unsigned>(y), 4);
    put(5, static_cast<unsigned>(ymd.month()), 2);
    put(8, static_cast<unsigned>(ymd.day()), 2);
    put(11, static_cast<unsigned>(hms.hours().count()), 2);
    put(14, static_cast<unsigned>(hms.minutes().count()), 2);
    put(17, static_cast<unsigned>(hms.seconds().count()), 2);
    return std::string(buf, 20);
}

std::string rfc3339_now() {
    return rfc3339(unix_now());
}

bool parse_rfc3339(std::string_view text, std::int64_t& out) {
    int y, mo, d, h, mi, s;
    char rest[16] = {0};
    std::string copy(text.substr(0, 40));
    int n = std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &s, rest);
    if (n < 6) return false;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return false;
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    std::int64_t t = timegm(&tm);
    std::string_view r(rest);
    if (!r.empty() && r.front() == '.') {  // fractional seconds: ignored
        size_t i = 1;
        while (i < r.size() && r[i] >= '0' && r[i] <= '9') ++i;
        r.remove_prefix(i);
    }
    if (r.empty() || r == "Z" || r == "z") {
        out = t;
        return true;
    }
    int oh = 0, om = 0;
    char sign = r.front();
    if ((sign != '+' && sign != '-') ||
        std::sscanf(std::string(r.substr(1)).c_str(), "%2d:%2d", &oh, &om) != 2)
        return false;
    std::int64_t off = oh * 3600 + om * 60;
    out = sign == '+' ? t - off : t + off;
    return true;
}

const Clock& Clock::system() {
    static const Clock clock;
    return clock;
}

}  // namespace np::core
