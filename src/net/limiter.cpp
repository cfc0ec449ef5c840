#include "net/limiter.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>

#include "core/log.hpp"

namespace np::net {

namespace asio = boost::asio;

AdaptiveWindow::AdaptiveWindow(LimiterOptions options) : options_(options) {
    if (options_.floor < 1) options_.floor = 1;
    if (options_.ceiling < options_.floor) options_.ceiling = options_.floor;
    limit_ = std::clamp(options_.initial, options_.floor, options_.ceiling);
}

void AdaptiveWindow::record(Outcome outcome, std::chrono::milliseconds latency,
                            std::chrono::steady_clock::time_point now) {
    switch (outcome) {
        case Outcome::success:
            // Additive increase: about +1 slot per window's worth of quick successes.
            if (latency <= options_.fast) limit_ = std::min(options_.ceiling, limit_ + 1.0 / limit_);
            break;
        case Outcome::overload:
            // One burst of failures (many calls that were in flight together) counts as one signal.
            if (decreased_ && now - last_decrease_ < options_.cooldown) break;
            limit_ = std::max(options_.floor, limit_ * options_.decrease);
            last_decrease_ = now;
            decreased_ = true;
            break;
        case Outcome::neutral: break;
    }
}

std::size_t AdaptiveWindow::allowed() const {
    return static_cast<std::size_t>(std::max(options_.floor, std::floor(limit_ + 1e-9)));
}

Permit::Permit(Permit&& other) noexcept : limiter_(other.limiter_), started_(other.started_) {
    other.limiter_ = nullptr;
}

Permit& Permit::operator=(Permit&& other) noexcept {
    if (this != &other) {
        done(Outcome::neutral);
        limiter_ = other.limiter_;
        started_ = other.started_;
        other.limiter_ = nullptr;
    }
    return *this;
}

Permit::~Permit() {
    done(Outcome::neutral);
}

void Permit::done(Outcome outcome) {
    if (!limiter_) return;
    auto* l = limiter_;
    limiter_ = nullptr;
    l->release(outcome, started_);
}

struct Limiter::Waiter {
    explicit Waiter(asio::any_io_executor ex) : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    bool admitted = false;
};

Limiter::Limiter(asio::any_io_executor executor, std::string name, LimiterOptions options,
                 const core::Clock& clock)
    : executor_(std::move(executor)), name_(std::move(name)), window_(options), clock_(clock) {}

Limiter::~Limiter() {
    for (auto& w : waiters_) w->timer.cancel();
}

asio::awaitable<Permit> Limiter::acquire() {
    if (waiters_.empty() && in_flight_ < window_.allowed()) {
        ++in_flight_;
        peak_ = std::max(peak_, in_flight_);
        co_return Permit(this, clock_.now());
    }
    auto me = std::make_shared<Waiter>(executor_);
    waiters_.push_back(me);
    while (!me->admitted) {
        co_await me->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (!me->admitted) {
            // Woken without a slot: the limiter is going away, or we were cancelled.
            auto it = std::find(waiters_.begin(), waiters_.end(), me);
            if (it != waiters_.end()) waiters_.erase(it);
            throw std::runtime_error("concurrency limiter '" + name_ + "' was shut down while waiting");
        }
    }
    co_return Permit(this, clock_.now());
}

void Limiter::release(Outcome outcome, std::chrono::steady_clock::time_point started) {
    auto now = clock_.now();
    auto before = window_.limit();
    window_.record(outcome, std::chrono::duration_cast<std::chrono::milliseconds>(now - started), now);
    if (window_.limit() < before)
        log::debug("net.limiter_narrowed", {{"limiter", name_}, {"limit", window_.limit()}});
    if (in_flight_ > 0) --in_flight_;
    wake();
}

void Limiter::wake() {
    while (!waiters_.empty() && in_flight_ < window_.allowed()) {
        auto w = waiters_.front();
        waiters_.pop_front();
        w->admitted = true;
        ++in_flight_;
        peak_ = std::max(peak_, in_flight_);
        w->timer.cancel();
    }
}

}  // namespace np::net
