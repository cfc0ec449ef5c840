// Backoff with full jitter: exact delays from an injected random source.
#include "net/retry.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace np::net {
namespace {

// Replays a fixed list of uniform numbers.
class ScriptedRandom final : public Random {
 public:
    explicit ScriptedRandom(std::vector<double> values) : values_(std::move(values)) {}
    double uniform01() override { return values_.at(next_++ % values_.size()); }

 private:
    std::vector<double> values_;
    std::size_t next_ = 0;
};

TEST(Backoff, CeilingDoublesFromBaseUntilCap) {
    BackoffPolicy p{Millis(100), Millis(1000), 8};
    EXPECT_EQ(backoff_ceiling(p, 0), Millis(100));
    EXPECT_EQ(backoff_ceiling(p, 1), Millis(200));
    EXPECT_EQ(backoff_ceiling(p, 2), Millis(400));
    EXPECT_EQ(backoff_ceiling(p, 3), Millis(800));
    EXPECT_EQ(backoff_ceiling(p, 4), Millis(1000));
    EXPECT_EQ(backoff_ceiling(p, 60), Millis(1000));  // no overflow for large attempt numbers
    EXPECT_EQ(backoff_ceiling(p, -3), Millis(100));
}

TEST(Backoff, FullJitterScalesTheWholeWindow) {
    BackoffPolicy p{Millis(100), Millis(10'000), 8};
    ScriptedRandom r({0.0, 0.5, 1.0, 0.25});
    EXPECT_EQ(backoff_delay(p, 3, r), Millis(0));    // 0 * 800
    EXPECT_EQ(backoff_delay(p, 3, r), Millis(400));  // 0.5 * 800
    EXPECT_EQ(backoff_delay(p, 3, r), Millis(800));  // 1.0 * 800
    EXPECT_EQ(backoff_delay(p, 0, r), Millis(25));   // 0.25 * 100
}

TEST(Backoff, OutOfRangeRandomIsClamped) {
    BackoffPolicy p{Millis(100), Millis(10'000), 8};
    ScriptedRandom r({-1.0, 7.0});
    EXPECT_EQ(backoff_delay(p, 1, r), Millis(0));
    EXPECT_EQ(backoff_delay(p, 1, r), Millis(200));
}

TEST(Backoff, DefaultRandomStaysInWindowAndSpreads) {
    BackoffPolicy p{Millis(100), Millis(10'000), 8};
    DefaultRandom r(42);
    Millis lo(1'000'000), hi(0);
    for (int i = 0; i < 1000; ++i) {
        auto d = backoff_delay(p, 4, r);  // window 0..1600
        ASSERT_GE(d.count(), 0);
        ASSERT_LE(d.count(), 1600);
        lo = std::min(lo, d);
        hi = std::max(hi, d);
    }
    // Full jitter spreads retries over the window instead of bunching them at the ceiling.
    EXPECT_LT(lo.count(), 200);
    EXPECT_GT(hi.count(), 1400);
}

}  // namespace
}  // namespace np::net
