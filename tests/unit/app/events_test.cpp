#include "app/events.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

using namespace np;

namespace {
app::Event ev(std::string type, std::string job, std::string owner = "s1") {
    app::Event e;
    e.type = std::move(type);
    e.job_id = std::move(job);
    e.owner_id = std::move(owner);
    e.data = "{}";
    return e;
}
}  // namespace

TEST(EventBus, ResumesAfterLastEventIdAndFilters) {
    boost::asio::io_context ioc;
    app::EventBus bus(ioc.get_executor(), 16);
    bus.publish(ev("job.state", "j1"));
    auto second = bus.publish(ev("job.state", "j2"));
    bus.publish(ev("job.progress", "j1", "s2"));
    bus.publish(ev("job.state", "j1"));

    auto fut = boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<std::vector<std::uint64_t>> {
            app::EventFilter f;
            f.job_id = "j1";
            f.owner_id = "s1";
            auto sub = bus.subscribe(f, second);  // resume: only after id 2, only j1 of s1
            std::vector<std::uint64_t> got;
            while (auto e = co_await sub->next(std::chrono::milliseconds(20))) got.push_back(e->id);
            co_return got;
        },
        boost::asio::use_future);
    ioc.run();
    EXPECT_EQ(fut.get(), (std::vector<std::uint64_t>{4}));
}

TEST(EventBus, WakesSubscriberOnPublishAndOnClose) {
    boost::asio::io_context ioc;
    app::EventBus bus(ioc.get_executor(), 16);
    auto fut = boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<int> {
            auto sub = bus.subscribe({}, bus.last_id());
            int n = 0;
            for (;;) {
                auto e =
                    co_await sub->next(std::chrono::seconds(30));  // woken by publish/close, not the timer
                if (!e) break;
                ++n;
            }
            co_return sub->closed() ? n : -1;
        },
        boost::asio::use_future);
    boost::asio::post(ioc, [&] {
        bus.publish(ev("a", "j"));
        bus.publish(ev("b", "j"));
        boost::asio::post(ioc, [&] { bus.close(); });
    });
    ioc.run();
    EXPECT_EQ(fut.get(), 2);  // -1 would mean the 30 s timer, not publish/close, ended the wait
}

TEST(EventBus, RingKeepsOnlyCapacity) {
    boost::asio::io_context ioc;
    app::EventBus bus(ioc.get_executor(), 3);
    for (int i = 0; i < 10; ++i) bus.publish(ev("x", "j"));
    auto fut = boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<std::vector<std::uint64_t>> {
            auto sub = bus.subscribe({}, 0);
            std::vector<std::uint64_t> got;
            while (auto e = co_await sub->next(std::chrono::milliseconds(5))) got.push_back(e->id);
            co_return got;
        },
        boost::asio::use_future);
    ioc.run();
    EXPECT_EQ(fut.get(), (std::vector<std::uint64_t>{8, 9, 10}));
}
