// Retry policy for outward calls: exponential backoff with full jitter (AWS Architecture Blog,
// "Exponential Backoff And Jitter": sleep = random(0, min(cap, base * 2^attempt))). The random source is
// injected so unit tests get exact delays. No Boost in this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace np::net {

using Millis = std::chrono::milliseconds;

// A source of uniform numbers in [0, 1); tests replace it.
class Random {
 public:
    virtual ~Random() = default;
    virtual double uniform01() = 0;
};

// mt19937_64 seeded from std::random_device (or a fixed seed for reproducible runs).
class DefaultRandom final : public Random {
 public:
    DefaultRandom();
    explicit DefaultRandom(std::uint64_t seed) : engine_(seed) {}
    double uniform01() override;

 private:
    std::mt19937_64 engine_;
};

struct BackoffPolicy {
    Millis base{200};      // first ceiling of the jitter window
    Millis cap{10'000};    // the window never grows past this
    int max_attempts = 8;  // total tries including the first
};

// The ceiling of the jitter window before try number `retry` (0 = the first retry): min(cap, base * 2^retry).
Millis backoff_ceiling(const BackoffPolicy& policy, int retry);
// Full jitter: a uniform delay in [0, backoff_ceiling(retry)].
Millis backoff_delay(const BackoffPolicy& policy, int retry, Random& random);

// Process-wide default random source (not thread-safe: use from the event-loop thread).
Random& default_random();

}  // namespace np::net
