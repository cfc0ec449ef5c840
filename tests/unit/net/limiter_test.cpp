// The adaptive concurrency window with injected latencies and time, and the async limiter's queueing.

#include "net/limiter.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>

namespace np::net {
namespace {

using namespace std::chrono_literals;
using TP = std::chrono::steady_clock::time_point;

LimiterOptions opts(double floor, double ceiling, double initial) {
    LimiterOptions o;
    o.floor = floor;
    o.ceiling = ceiling;
    o.initial = initial;
    o.fast = 1000ms;
    o.decrease = 0.5;
    o.cooldown = 500ms;
    return o;
}

TEST(AdaptiveWindow, WidensOnQuickSuccessesUpToTheCeiling) {
    AdaptiveWindow w(opts(1, 6, 2));
    TP t{};
    EXPECT_EQ(w.allowed(), 2u);
    w.record(Outcome::success, 100ms, t);
    w.record(Outcome::success, 100ms, t);
    EXPECT_EQ(w.allowed(), 2u);  // 2 -> 2.5 -> 2.9: +1/limit per success, about +1 per window
    w.record(Outcome::success, 100ms, t);
    EXPECT_EQ(w.allowed(), 3u);
    for (int i = 0; i < 200; ++i) w.record(Outcome::success, 100ms, t);
    EXPECT_EQ(w.allowed(), 6u);
    EXPECT_DOUBLE_EQ(w.limit(), 6.0);
}

TEST(AdaptiveWindow, SlowSuccessesDoNotWiden) {
    AdaptiveWindow w(opts(1, 6, 2));
    for (int i = 0; i < 50; ++i) w.record(Outcome::success, 5000ms, TP{});
    EXPECT_EQ(w.allowed(), 2u);
}

TEST(AdaptiveWindow, NarrowsOnOverloadOncePerCooldownAndKeepsTheFloor) {
    AdaptiveWindow w(opts(2, 16, 16));
    TP t{};
    t += 10s;
    w.record(Outcome::overload, 100ms, t);
    EXPECT_EQ(w.allowed(), 8u);
    // A burst of failures within the cooldown is one signal.
    w.record(Outcome::overload, 100ms, t + 100ms);
    w.record(Outcome::overload, 100ms, t + 400ms);
    EXPECT_EQ(w.allowed(), 8u);
    w.record(Outcome::overload, 100ms, t + 600ms);
    EXPECT_EQ(w.allowed(), 4u);
    for (int i = 1; i < 10; ++i) w.record(Outcome::overload, 100ms, t + 600ms + i * 1s);
    EXPECT_EQ(w.allowed(), 2u);  // never below the floor
}

TEST(AdaptiveWindow, NeutralOutcomesChangeNothing) {
    AdaptiveWindow w(opts(1, 8, 4));
    for (int i = 0; i < 20; ++i) w.record(Outcome::neutral, 10ms, TP{});
    EXPECT_EQ(w.allowed(), 4u);
}

TEST(AdaptiveWindow, BadOptionsAreRepaired) {
    AdaptiveWindow w(opts(0, -1, 50));
    EXPECT_EQ(w.allowed(), 1u);
}

// A clock the test moves.
class FakeClock final : public core::Clock {
 public:
    std::chrono::steady_clock::time_point now() const override { return t; }
    std::chrono::steady_clock::time_point t{std::chrono::seconds(1000)};
};

TEST(Limiter, AdmitsUpToTheLimitAndQueuesTheRestInOrder) {
    boost::asio::io_context io;
    FakeClock clock;
    Limiter limiter(io.get_executor(), "node:pve1", opts(1, 4, 2), clock);
    std::vector<int> admitted;
    std::vector<Permit> held;
    for (int i = 0; i < 5; ++i) {
        boost::asio::co_spawn(
            io,
            [&, i]() -> boost::asio::awaitable<void> {
                auto p = co_await limiter.acquire();
                admitted.push_back(i);
                held.push_back(std::move(p));
            },
            boost::asio::detached);
    }
    io.poll();
    ASSERT_EQ(admitted, (std::vector<int>{0, 1}));
    EXPECT_EQ(limiter.in_flight(), 2u);
    EXPECT_EQ(limiter.waiting(), 3u);
    // A slow success frees a slot without widening.
    clock.t += std::chrono::seconds(5);
    held[0].done(Outcome::success);
    io.poll();
    ASSERT_EQ(admitted, (std::vector<int>{0, 1, 2}));
    // A slow success (acquired before the clock moved) frees a slot without widening.
    held[1].done(Outcome::success);
    io.poll();
    ASSERT_EQ(admitted, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_DOUBLE_EQ(limiter.limit(), 2.0);
    // Quick successes widen the window: +1/limit each.
    held[2].done(Outcome::success);
    io.poll();
    EXPECT_EQ(admitted, (std::vector<int>{0, 1, 2, 3, 4}));
    EXPECT_DOUBLE_EQ(limiter.limit(), 2.5);
    held[3].done(Outcome::success);
    EXPECT_NEAR(limiter.limit(), 2.9, 1e-9);
    EXPECT_EQ(limiter.peak_in_flight(), 2u);
    held.clear();
    EXPECT_EQ(limiter.in_flight(), 0u);
}

TEST(Limiter, OverloadNarrowsAdmission) {
    boost::asio::io_context io;
    FakeClock clock;
    Limiter limiter(io.get_executor(), "storage:local", opts(1, 8, 4), clock);
    std::vector<Permit> held;
    int admitted = 0;
    for (int i = 0; i < 6; ++i)
        boost::asio::co_spawn(
            io,
            [&]() -> boost::asio::awaitable<void> {
                held.push_back(co_await limiter.acquire());
                ++admitted;
            },
            boost::asio::detached);
    io.poll();
    EXPECT_EQ(admitted, 4);
    held[0].done(Outcome::overload);  // limit 4 -> 2; three still in flight
    io.poll();
    EXPECT_EQ(admitted, 4);
    EXPECT_EQ(limiter.limit(), 2.0);
    held[1].done(Outcome::neutral);
    held[2].done(Outcome::neutral);
    io.poll();
    EXPECT_EQ(admitted, 5);  // in flight 1 -> one more admitted, up to 2
    EXPECT_EQ(limiter.in_flight(), 2u);
    held.clear();
    io.poll();
    EXPECT_EQ(admitted, 6);
    held.clear();
}

}  // namespace
}  // namespace np::net
