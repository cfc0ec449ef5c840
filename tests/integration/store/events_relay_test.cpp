// app::EventRelay over a real PostgreSQL (the store tests' throwaway server): events published on one
// instance's bus reach another instance's bus through LISTEN/NOTIFY, exactly once on each side; the relay
// survives its listening connection being killed; garbage notifications are ignored.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>

#include "app/event_relay.hpp"
#include "app/events.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "pg_server.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"

using namespace np;
namespace asio = boost::asio;

namespace {

app::Event event(std::string type, std::string job) {
    app::Event e;
    e.type = std::move(type);
    e.job_id = std::move(job);
    e.owner_id = "student-1";
    e.data = R"({"done":1,"total":2})";
    return e;
}

// Two instances (store, bus, relay each) on one event loop and one worker pool.
struct TwoInstances {
    std::string url = store::test::create_database();
    asio::io_context io;
    core::WorkerPool pool{4};
    store::PgStore store_a{{.conninfo = url}}, store_b{{.conninfo = url}};
    app::EventBus bus_a{io.get_executor(), 64}, bus_b{io.get_executor(), 64};
    app::EventRelay relay_a{io.get_executor(), store_a, pool, bus_a};
    app::EventRelay relay_b{io.get_executor(), store_b, pool, bus_b};

    // Runs `body` as a coroutine on the loop, at most 20 s.
    template <class F>
    void run(F body) {
        auto done = asio::co_spawn(io, body(), asio::use_future);
        io.run_for(std::chrono::seconds(20));
        ASSERT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::ready) << "timed out";
        done.get();
    }
};

// The next event of `sub` within `ms`, or nullopt.
asio::awaitable<std::optional<app::Event>> next(app::EventBus::Subscription& sub, int ms = 5000) {
    co_return co_await sub.next(std::chrono::milliseconds(ms));
}

}  // namespace

TEST(EventRelay, CarriesEventsBetweenInstancesOnceEach) {
    TwoInstances t;
    t.run([&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await t.relay_a.start());
        EXPECT_TRUE(co_await t.relay_b.start());
        auto on_a = t.bus_a.subscribe({}, t.bus_a.last_id());
        auto on_b = t.bus_b.subscribe({}, t.bus_b.last_id());

        t.bus_a.publish(event("job.progress", "j1"));
        auto got = co_await next(*on_b);
        EXPECT_TRUE(got.has_value());
        if (got) {
            EXPECT_EQ(got->type, "job.progress");
            EXPECT_EQ(got->job_id, "j1");
            EXPECT_EQ(got->owner_id, "student-1");
            EXPECT_EQ(got->data, R"({"done":1,"total":2})");
            EXPECT_TRUE(got->remote);
        }
        auto own = co_await next(*on_a);  // the local publish itself
        EXPECT_TRUE(own && !own->remote);

        t.bus_b.publish(event("job.state", "j2"));
        auto back = co_await next(*on_a);
        EXPECT_TRUE(back && back->job_id == "j2" && back->remote);
        auto own_b = co_await next(*on_b);
        EXPECT_TRUE(own_b && own_b->job_id == "j2" && !own_b->remote);

        // Nothing more: no echo of a's own notification on a, no remote event relayed back again.
        EXPECT_FALSE((co_await next(*on_a, 700)).has_value());
        EXPECT_FALSE((co_await next(*on_b, 300)).has_value());
        t.relay_a.stop();
        t.relay_b.stop();
    });
}

TEST(EventRelay, ReconnectsWhenItsListeningConnectionIsKilled) {
    TwoInstances t;
    t.run([&]() -> asio::awaitable<void> {
        EXPECT_TRUE(co_await t.relay_a.start());
        EXPECT_TRUE(co_await t.relay_b.start());
        auto on_b = t.bus_b.subscribe({}, t.bus_b.last_id());
        std::string error;
        bool killed = co_await t.pool.run([&] {
            return store::test::raw_exec(t.url,
                                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                         " WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()",
                                         &error);
        });
        EXPECT_TRUE(killed) << error;
        // The relay notices, waits its backoff and listens again; events sent after that arrive.
        std::optional<app::Event> got;
        for (int i = 0; i < 40 && !got; ++i) {
            t.bus_a.publish(event("job.progress", "after-" + std::to_string(i)));
            got = co_await next(*on_b, 250);
        }
        EXPECT_TRUE(got.has_value()) << "no event crossed after the listener was killed";
        t.relay_a.stop();
        t.relay_b.stop();
    });
}

TEST(EventRelay, IgnoresPayloadsThatAreNotEvents) {
    std::string origin;
    EXPECT_FALSE(app::EventRelay::decode("not json", &origin));
    EXPECT_FALSE(app::EventRelay::decode(R"({"type":"x"})", &origin));
    EXPECT_FALSE(app::EventRelay::decode(R"([1,2])", &origin));
    auto e = app::EventRelay::decode(app::EventRelay::encode(event("job.state", "j"), "abc"), &origin);
    ASSERT_TRUE(e);
    EXPECT_EQ(origin, "abc");
    EXPECT_EQ(e->type, "job.state");
    EXPECT_TRUE(e->remote);
}

TEST(EventRelay, DoesNothingOnTheEmbeddedStore) {
    auto dir = std::filesystem::temp_directory_path() / ("np-relay-" + core::random_hex(4));
    std::filesystem::create_directories(dir);
    {
        store::SqliteStore s(store::SqliteOptions{.path = (dir / "np.db").string()});
        asio::io_context io;
        core::WorkerPool pool{1};
        app::EventBus bus{io.get_executor(), 8};
        app::EventRelay relay{io.get_executor(), s, pool, bus};
        auto started = asio::co_spawn(io, relay.start(), asio::use_future);
        io.run_for(std::chrono::seconds(5));
        EXPECT_FALSE(started.get());
    }
    std::filesystem::remove_all(dir);
}
