// Adaptive concurrency limit for one upstream resource (a Proxmox node, a storage): additive increase while
// calls succeed quickly, multiplicative decrease on overload signals (lock timeouts, 5xx), kept between a
// configured floor and ceiling (AIMD, as TCP congestion control and Netflix's concurrency-limits do).
// AdaptiveWindow is the pure logic (unit-tested with injected latencies); Limiter makes callers wait for a
// slot on the event-loop thread that owns it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>

#include "core/ids.hpp"

namespace np::net {

struct LimiterOptions {
    double floor = 1;     // never fewer slots than this
    double ceiling = 16;  // never more
    double initial = 4;
    std::chrono::milliseconds fast{3000};     // a success quicker than this widens the window
    double decrease = 0.7;                    // factor applied on an overload signal
    std::chrono::milliseconds cooldown{500};  // at most one decrease per cooldown (one burst = one signal)
};

enum class Outcome {
    success,   // worked
    overload,  // lock timeout, 5xx, timeout: the resource is saturated
    neutral,   // failed for a reason that says nothing about load (4xx, cancelled)
};

class AdaptiveWindow {
 public:
    explicit AdaptiveWindow(LimiterOptions options);
    // Feeds one finished call. `now` is when it ended (for the decrease cooldown).
    void record(Outcome outcome, std::chrono::milliseconds latency,
                std::chrono::steady_clock::time_point now);
    // Whole slots currently allowed (at least floor).
    std::size_t allowed() const;
    double limit() const { return limit_; }
    const LimiterOptions& options() const { return options_; }

 private:
    LimiterOptions options_;
    double limit_;
    std::chrono::steady_clock::time_point last_decrease_{};
    bool decreased_ = false;
};

class Limiter;

// One admitted call; give back its outcome with done(), or the destructor reports it as neutral.
class Permit {
 public:
    Permit() = default;
    Permit(Limiter* limiter, std::chrono::steady_clock::time_point started)
        : limiter_(limiter), started_(started) {}
    Permit(Permit&& other) noexcept;
    Permit& operator=(Permit&& other) noexcept;
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit();
    void done(Outcome outcome);

 private:
    Limiter* limiter_ = nullptr;
    std::chrono::steady_clock::time_point started_{};
};

class Limiter {
 public:
    Limiter(boost::asio::any_io_executor executor, std::string name, LimiterOptions options,
            const core::Clock& clock = core::Clock::system());
    ~Limiter();
    Limiter(const Limiter&) = delete;
    Limiter& operator=(const Limiter&) = delete;

    // Waits (first come, first served) until a slot is free.
    boost::asio::awaitable<Permit> acquire();

    std::size_t in_flight() const { return in_flight_; }
    std::size_t waiting() const { return waiters_.size(); }
    std::size_t peak_in_flight() const { return peak_; }
    double limit() const { return window_.limit(); }
    const std::string& name() const { return name_; }

 private:
    friend class Permit;
    struct Waiter;
    void release(Outcome outcome, std::chrono::steady_clock::time_point started);
    void wake();

    boost::asio::any_io_executor executor_;
    std::string name_;
    AdaptiveWindow window_;
    const core::Clock& clock_;
    std::size_t in_flight_ = 0;
    std::size_t peak_ = 0;
    std::deque<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace np::net
