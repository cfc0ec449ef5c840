#include "net/retry.hpp"

#include <algorithm>
#include <cmath>

namespace np::net {

DefaultRandom::DefaultRandom() : engine_(std::random_device{}()) {}

double DefaultRandom::uniform01() {
    return std::uniform_real_distribution<double>(0.0, 1.0)(engine_);
}

Millis backoff_ceiling(const BackoffPolicy& policy, int retry) {
    if (retry < 0) retry = 0;
    // Doubling past 2^30 overflows nothing useful: clamp the exponent first.
    double factor = std::ldexp(1.0, std::min(retry, 30));
    double ceiling =
        std::min(static_cast<double>(policy.cap.count()), static_cast<double>(policy.base.count()) * factor);
    return Millis(static_cast<std::int64_t>(ceiling));
}

Millis backoff_delay(const BackoffPolicy& policy, int retry, Random& random) {
    auto ceiling = backoff_ceiling(policy, retry);
    double u = std::clamp(random.uniform01(), 0.0, 1.0);
    return Millis(static_cast<std::int64_t>(std::llround(u * static_cast<double>(ceiling.count()))));
}

Random& default_random() {
    static DefaultRandom random;
    return random;
}

}  // namespace np::net
