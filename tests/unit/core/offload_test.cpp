// core::WorkerPool::run: the work runs on a pool thread, never on the awaiting event loop, and the
// coroutine comes back to its own executor with the value or the exception.
#include "core/offload.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <stdexcept>
#include <thread>

namespace {

template <class F>
auto run_on(boost::asio::io_context& ioc, F&& f) {
    auto fut = boost::asio::co_spawn(ioc, std::forward<F>(f), boost::asio::use_future);
    ioc.run();
    return fut.get();
}

}  // namespace

TEST(WorkerPool, RunsTheWorkOffTheEventLoopAndResumesOnIt) {
    np::core::WorkerPool pool(2);
    boost::asio::io_context ioc;
    const auto loop = std::this_thread::get_id();
    auto [worker, resumed] =
        run_on(ioc, [&]() -> boost::asio::awaitable<std::pair<std::thread::id, std::thread::id>> {
            auto w = co_await pool.run([] { return std::this_thread::get_id(); });
            co_return std::pair{w, std::this_thread::get_id()};
        });
    EXPECT_NE(worker, loop) << "the blocking work ran on the event loop's thread";
    EXPECT_EQ(resumed, loop);
}

TEST(WorkerPool, VoidWorkAndExceptionsComeBack) {
    np::core::WorkerPool pool(1);
    boost::asio::io_context ioc;
    int calls = 0;
    bool caught = false;
    run_on(ioc, [&]() -> boost::asio::awaitable<void> {
        co_await pool.run([&] { ++calls; });
        try {
            co_await pool.run([]() -> int { throw std::runtime_error("boom"); });
        } catch (const std::runtime_error& e) {
            caught = std::string(e.what()) == "boom";
        }
    });
    EXPECT_EQ(calls, 1);
    EXPECT_TRUE(caught);
}
