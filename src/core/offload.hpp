// Worker pool for blocking work (SQLite, libpq, argon2, LDAP binds, libssh handshakes): the event loop
// awaits `co_await pool.run(fn)` and resumes on its own executor when `fn` returns or throws.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace np::core {

class WorkerPool {
 public:
    explicit WorkerPool(std::size_t threads) : pool_(threads) {}
    ~WorkerPool() { pool_.join(); }
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Runs `fn` on a worker thread; the awaiting coroutine resumes on its own executor.
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F>> run(F fn) {
        using R = std::invoke_result_t<F>;
        auto home = co_await boost::asio::this_coro::executor;
        co_await boost::asio::post(pool_.get_executor(), boost::asio::use_awaitable);
        std::exception_ptr error;
        if constexpr (std::is_void_v<R>) {
            try {
                fn();
            } catch (...) {
                error = std::current_exception();
            }
            co_await boost::asio::post(home, boost::asio::use_awaitable);
            if (error) std::rethrow_exception(error);
        } else {
            std::optional<R> result;
            try {
                result.emplace(fn());
            } catch (...) {
                error = std::current_exception();
            }
            co_await boost::asio::post(home, boost::asio::use_awaitable);
            if (error) std::rethrow_exception(error);
            co_return std::move(*result);
        }
    }

    void join() { pool_.join(); }

 private:
    boost::asio::thread_pool pool_;
};

}  // namespace np::core
