// Worker pool for blocking work (SQLite, libpq, argon2, LDAP binds, libssh handshakes): the event loop
// awaits `co_await pool.run(fn)` and resumes on its own executor when `fn` returns or throws.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <type_traits>

namespace np::core {

class WorkerPool {
 public:
    explicit WorkerPool(std::size_t threads) : pool_(threads) {}
    ~WorkerPool() { pool_.join(); }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Runs `fn` on a worker thread; the awaiting coroutine resumes on its own executor. (co_spawn on the
    // pool, not `co_await post(pool, use_awaitable)`: the latter completes through the awaiting coroutine's
    // executor, so `fn` ran on the event loop and blocked it; tests/unit/core/offload_test.cpp.)
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F>> run(F fn) {
        using R = std::invoke_result_t<F>;
        co_return co_await boost::asio::co_spawn(
            pool_.get_executor(), [&fn]() -> boost::asio::awaitable<R> { co_return fn(); },
            boost::asio::use_awaitable);
    }

    void join() { pool_.join(); }

 private:
    boost::asio::thread_pool pool_;
};

}  // namespace np::core
