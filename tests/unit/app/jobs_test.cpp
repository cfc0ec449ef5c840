// JobRunner against a real SQLite store, with an injected clock: leases of long jobs that report no progress
// are renewed by the runner's heartbeat, so a job is never taken over (run twice) while its instance lives;
// a job whose lease really expired (its instance died) is taken over.
#include "app/jobs.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <thread>

#include "app/events.hpp"
#include "core/error.hpp"
#include "core/offload.hpp"

using namespace np;
namespace asio = boost::asio;

namespace {

// Time that moves only when the test says so (read from the event loop and the worker threads).
class ManualClock final : public core::Clock {
 public:
    std::chrono::steady_clock::time_point now() const override {
        return std::chrono::steady_clock::time_point{} + std::chrono::seconds(offset_.load()) +
               std::chrono::hours(24);
    }
    std::int64_t unix_now() const override { return 1'800'000'000 + offset_.load(); }
    void advance(std::chrono::seconds s) { offset_ += s.count(); }

 private:
    std::atomic<std::int64_t> offset_{0};
};

struct Fixture {
    std::filesystem::path dir;
    std::unique_ptr<store::Store> store;
    asio::io_context io;
    core::WorkerPool pool{2};
    app::EventBus bus{io.get_executor(), 64};
    ManualClock clock;
    std::thread loop;

    Fixture() {
        dir = std::filesystem::temp_directory_path() / ("np-jobs-" + core::random_hex(4));
        std::filesystem::create_directories(dir);
        store = store::open_store("sqlite:" + (dir / "np.db").string());
        store->migrate();
    }
    app::JobRunnerOptions options(std::string instance) {
        app::JobRunnerOptions o;
        o.instance_id = std::move(instance);
        o.lease_seconds = 60;
        o.poll_interval = std::chrono::milliseconds(5);
        o.clock = &clock;
        return o;
    }
    void start() {
        loop = std::thread([this] {
            auto guard = asio::make_work_guard(io);
            io.run();
        });
    }
    // Lets the runner loop turn a few times (it polls every 5 ms of real time): only before checking that
    // something did NOT happen; what must happen is waited for with until().
    static void settle() { std::this_thread::sleep_for(std::chrono::milliseconds(150)); }
    // Polls `done` until it holds, for at most 30 s (a loaded machine); returns its last value.
    template <class F>
    static bool until(F done) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!done() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return done();
    }
    // Stops the event loop; call it before the runners (declared after the fixture) are destroyed.
    void halt() {
        io.stop();
        if (loop.joinable()) loop.join();
        pool.join();  // the store calls still running on the pool end before the store and its folder go
    }
    ~Fixture() {
        halt();
        std::filesystem::remove_all(dir);
    }
};

// A job kind that runs until released and reports no progress at all.
app::JobFn silent_until(std::atomic<bool>& released, std::atomic<int>& runs) {
    return [&released, &runs](app::JobContext&) -> asio::awaitable<std::string> {
        ++runs;
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (!released) {
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        co_return "{}";
    };
}

store::Job submit(Fixture& f, app::JobRunner& runner) {
    store::Job job;
    job.kind = "slow";
    return asio::co_spawn(f.io, runner.submit(job), asio::use_future).get();
}

}  // namespace

TEST(JobRunner, HeartbeatRenewsTheLeaseOfASilentJobSoItRunsOnce) {
    Fixture f;
    std::atomic<bool> released{false};
    std::atomic<int> runs{0};
    app::JobRunner runner(f.io.get_executor(), *f.store, f.pool, f.bus, f.options("a"));
    runner.register_kind("slow", silent_until(released, runs));
    f.start();
    asio::post(f.io, [&] { runner.start(); });
    auto job = submit(f, runner);
    ASSERT_TRUE(Fixture::until([&] { return runs >= 1; }));
    ASSERT_EQ(runs, 1);
    // Five minutes of a job that never reports progress: every 30 s is past lease/3, so each turn renews.
    for (int i = 0; i < 10; ++i) {
        f.clock.advance(std::chrono::seconds(30));
        Fixture::until([&] { return f.store->get_job(job.id)->lease_expires == f.clock.unix_now() + 60; });
        auto row = f.store->get_job(job.id);
        ASSERT_TRUE(row);
        EXPECT_EQ(row->state, "running");
        EXPECT_EQ(row->lease_owner, "a");
        EXPECT_EQ(row->lease_expires, f.clock.unix_now() + 60) << "turn " << i;
    }
    EXPECT_EQ(runs, 1) << "the job was taken over while its instance was alive";
    released = true;
    Fixture::until([&] { return f.store->get_job(job.id)->state == "succeeded"; });
    EXPECT_EQ(f.store->get_job(job.id)->state, "succeeded");
    EXPECT_EQ(f.store->get_job(job.id)->attempt, 1);
    asio::co_spawn(f.io, runner.stop(std::chrono::seconds(1)), asio::use_future).get();
    f.halt();
}

TEST(JobRunner, AJobWhoseInstanceStoppedRenewingIsTakenOver) {
    Fixture f;
    std::atomic<bool> released{false};
    std::atomic<int> runs{0};
    // Instance "a" claims the job, then stops (as if it died: its leases are left as they are).
    app::JobRunner a(f.io.get_executor(), *f.store, f.pool, f.bus, f.options("a"));
    a.register_kind("slow", silent_until(released, runs));
    f.start();
    asio::post(f.io, [&] { a.start(); });
    auto job = submit(f, a);
    ASSERT_TRUE(Fixture::until([&] { return runs >= 1; }));
    ASSERT_EQ(runs, 1);
    asio::co_spawn(f.io, a.stop(std::chrono::milliseconds(50)), asio::use_future).get();

    app::JobRunner b(f.io.get_executor(), *f.store, f.pool, f.bus, f.options("b"));
    b.register_kind("slow", silent_until(released, runs));
    asio::post(f.io, [&] { b.start(); });
    f.clock.advance(std::chrono::seconds(59));
    Fixture::settle();
    EXPECT_EQ(f.store->get_job(job.id)->lease_owner, "a") << "taken over before the lease expired";
    f.clock.advance(std::chrono::seconds(2));
    Fixture::until([&] { return runs >= 2; });
    EXPECT_EQ(runs, 2);
    EXPECT_EQ(f.store->get_job(job.id)->lease_owner, "b");
    EXPECT_EQ(f.store->get_job(job.id)->attempt, 2);
    released = true;
    Fixture::until([&] { return f.store->get_job(job.id)->state == "succeeded"; });
    EXPECT_EQ(f.store->get_job(job.id)->state, "succeeded");
    asio::co_spawn(f.io, b.stop(std::chrono::seconds(1)), asio::use_future).get();
    f.halt();
}

TEST(JobRunner, ShutdownRecordsAJobThatFinishesInItsGraceAndLeavesAnInterruptedOneForTakeover) {
    Fixture f;
    std::atomic<bool> released{false};
    std::atomic<int> runs{0};
    app::JobRunner runner(f.io.get_executor(), *f.store, f.pool, f.bus, f.options("a"));
    runner.register_kind("slow", silent_until(released, runs));
    // A job that notices the shutdown and stops early, as a long job should.
    runner.register_kind("careful", [](app::JobContext& ctx) -> asio::awaitable<std::string> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        while (!ctx.cancelled()) {
            t.expires_after(std::chrono::milliseconds(5));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        throw core::unavailable("stopped: the instance is shutting down");
    });
    f.start();
    asio::post(f.io, [&] { runner.start(); });
    auto finishing = submit(f, runner);
    store::Job careful_job;
    careful_job.kind = "careful";
    auto careful = asio::co_spawn(f.io, runner.submit(careful_job), asio::use_future).get();
    Fixture::until([&] {
        return f.store->get_job(careful.id)->state == "running" &&
               f.store->get_job(finishing.id)->state == "running";
    });
    ASSERT_EQ(f.store->get_job(careful.id)->state, "running");
    auto stopped = asio::co_spawn(f.io, runner.stop(std::chrono::seconds(5)), asio::use_future);
    Fixture::settle();
    released = true;  // the slow job ends within the grace
    stopped.get();
    auto done = f.store->get_job(finishing.id);
    EXPECT_EQ(done->state, "succeeded");  // recorded, so it is not run a second time after the restart
    auto left = f.store->get_job(careful.id);
    EXPECT_EQ(left->state, "running");  // not "cancelled": another instance (or the next start) takes it over
    EXPECT_EQ(left->lease_owner, "a");
    f.halt();
}

TEST(JobRunner, ACancelledJobStopsAtItsNextProgressStep) {
    Fixture f;
    std::atomic<int> steps{0};
    app::JobRunner runner(f.io.get_executor(), *f.store, f.pool, f.bus, f.options("a"));
    runner.register_kind("steps", [&steps](app::JobContext& ctx) -> asio::awaitable<std::string> {
        asio::steady_timer t(co_await asio::this_coro::executor);
        for (int i = 0; i < 1000; ++i) {  // ~10 s if nothing stops it
            co_await ctx.progress(i, 1000, "step");
            ++steps;
            t.expires_after(std::chrono::milliseconds(10));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        co_return "{}";
    });
    f.start();
    asio::post(f.io, [&] { runner.start(); });
    store::Job job;
    job.kind = "steps";
    job = asio::co_spawn(f.io, runner.submit(job), asio::use_future).get();
    Fixture::until([&] { return steps.load() > 0; });
    ASSERT_GT(steps.load(), 0);
    EXPECT_TRUE(asio::co_spawn(f.io, runner.cancel(job.id), asio::use_future).get());
    Fixture::settle();
    int after_cancel = steps.load();
    Fixture::settle();
    EXPECT_LE(steps.load(), after_cancel + 1) << "the job kept working after it was cancelled";
    auto running = asio::co_spawn(
        f.io, [&]() -> asio::awaitable<std::size_t> { co_return runner.running(); }, asio::use_future);
    EXPECT_EQ(running.get(), 0u);  // read on the loop that owns it
    EXPECT_EQ(f.store->get_job(job.id)->state, "cancelled");
    asio::co_spawn(f.io, runner.stop(std::chrono::seconds(1)), asio::use_future).get();
    f.halt();
}

// Each kind has its own slots: with the lab queue full, evaluations still start at once; one evaluation per
// student at a time, so a student pressing grade again waits for their own, not others (issue 14).
TEST(JobRunner, EvaluationsHaveTheirOwnSlotsAndOnePerStudent) {
    Fixture f;
    auto opts = f.options("one");
    opts.max_concurrency = 1;
    opts.kinds["evaluation.run"] = {4, true, 0};
    std::atomic<bool> release_labs{false}, release_evals{false};
    std::atomic<int> lab_runs{0}, eval_runs{0};
    app::JobRunner runner(f.io.get_executor(), *f.store, f.pool, f.bus, opts);
    runner.register_kind("environment.reconcile", silent_until(release_labs, lab_runs));
    runner.register_kind("evaluation.run", silent_until(release_evals, eval_runs));
    auto submit_kind = [&](const std::string& kind, const std::string& owner) {
        store::Job job;
        job.kind = kind;
        job.owner_id = owner;
        return asio::co_spawn(f.io, runner.submit(job), asio::use_future).get();
    };
    f.start();
    for (int i = 0; i < 3; ++i) submit_kind("environment.reconcile", "teacher");
    submit_kind("evaluation.run", "alice");
    submit_kind("evaluation.run", "alice");
    submit_kind("evaluation.run", "bob");
    asio::co_spawn(
        f.io,
        [&]() -> asio::awaitable<void> {
            runner.start();
            co_return;
        },
        asio::detached);
    // Condition, not time: wait (with a generous deadline) until the runner has started what it may.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((lab_runs < 1 || eval_runs < 2) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(lab_runs.load(), 1);   // one lab slot
    EXPECT_EQ(eval_runs.load(), 2);  // alice's first and bob's, not alice's second
    Fixture::settle();
    EXPECT_EQ(eval_runs.load(), 2) << "alice's second evaluation must wait for her first";
    EXPECT_EQ(lab_runs.load(), 1);
    release_evals = true;
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (eval_runs < 3 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(eval_runs.load(), 3);
    release_labs = true;
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (runner.running() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    f.halt();
}

// A kind whose last claim found nothing is skipped until one of its jobs is submitted or ends here (issue 14:
// a class's submissions woke the loop once each, and each wake asked every kind), but never for longer than a
// poll interval: a job that another instance queued is claimed while this instance's own submissions of
// another kind keep waking the loop faster than the poll interval.
TEST(JobRunner, AnotherInstancesJobIsClaimedWhileLocalSubmissionsKeepWakingTheLoop) {
    Fixture f;
    auto opts = f.options("one");
    opts.poll_interval = std::chrono::milliseconds(200);
    std::atomic<bool> released{true};
    std::atomic<int> quick_runs{0}, slow_runs{0};
    app::JobRunner runner(f.io.get_executor(), *f.store, f.pool, f.bus, opts);
    runner.register_kind("quick", silent_until(released, quick_runs));
    runner.register_kind("slow", silent_until(released, slow_runs));
    f.start();
    asio::post(f.io, [&] { runner.start(); });
    auto submit_quick = [&] {
        store::Job job;
        job.kind = "quick";
        asio::co_spawn(f.io, runner.submit(job), asio::use_future).get();
    };
    submit_quick();  // the loop has asked every kind, "slow" found idle
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (quick_runs < 1 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(quick_runs.load(), 1);
    store::Job other;  // queued by another instance: straight into the shared store, no wake-up here
    other.id = "job-" + core::random_hex(8);
    other.kind = "slow";
    other.state = "queued";
    f.store->create_job(other);
    // Local submissions every 20 ms (a tenth of the poll interval) for as long as it takes, bounded.
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int submitted = 0;
    while (slow_runs < 1 && std::chrono::steady_clock::now() < deadline) {
        submit_quick();
        ++submitted;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(slow_runs.load(), 1) << "starved by " << submitted << " local submissions";
    deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (runner.running() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    asio::co_spawn(f.io, runner.stop(std::chrono::seconds(1)), asio::use_future).get();
    f.halt();
}
