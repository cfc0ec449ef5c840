#include "app/events.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace np::app {

bool EventFilter::matches(const Event& e) const {
    if (!job_id.empty() && e.job_id != job_id) return false;
    if (!environment_id.empty() && e.environment_id != environment_id) return false;
    if (!owner_id.empty() && e.owner_id != owner_id) return false;
    return true;
}

struct EventBus::Subscription::State {
    explicit State(boost::asio::any_io_executor ex) : timer(ex) {}
    EventFilter filter;
    std::deque<Event> pending;
    boost::asio::steady_timer timer;
    bool closed = false;
};

EventBus::EventBus(boost::asio::any_io_executor executor, std::size_t capacity)
    : executor_(executor), capacity_(capacity) {}

EventBus::~EventBus() {
    close();
}

std::uint64_t EventBus::publish(Event event) {
    event.id = next_id_++;
    ring_.push_back(event);
    if (ring_.size() > capacity_) ring_.pop_front();
    for (auto it = subscribers_.begin(); it != subscribers_.end();) {
        auto s = it->lock();
        if (!s) {
            it = subscribers_.erase(it);
            continue;
        }
        if (s->filter.matches(event)) {
            // A slow consumer may lag; cap its queue so a stuck browser cannot grow memory without bound.
            if (s->pending.size() < capacity_) s->pending.push_back(event);
            s->timer.cancel();
        }
        ++it;
    }
    return event.id;
}

std::unique_ptr<EventBus::Subscription> EventBus::subscribe(EventFilter filter, std::uint64_t after) {
    auto sub = std::unique_ptr<Subscription>(new Subscription());
    sub->state_ = std::make_shared<Subscription::State>(executor_);
    sub->state_->filter = std::move(filter);
    sub->state_->closed = closed_;
    for (const auto& e : ring_)
        if (e.id > after && sub->state_->filter.matches(e)) sub->state_->pending.push_back(e);
    subscribers_.push_back(sub->state_);
    return sub;
}

void EventBus::close() {
    closed_ = true;
    for (auto& w : subscribers_)
        if (auto s = w.lock()) {
            s->closed = true;
            s->timer.cancel();
        }
}

EventBus::Subscription::~Subscription() {
    if (state_) state_->timer.cancel();
}

bool EventBus::Subscription::closed() const {
    return state_->closed;
}

boost::asio::awaitable<std::optional<Event>> EventBus::Subscription::next(std::chrono::milliseconds timeout) {
    auto st = state_;
    if (st->pending.empty() && !st->closed) {
        st->timer.expires_after(timeout);
        co_await st->timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    if (st->pending.empty()) co_return std::nullopt;
    Event e = std::move(st->pending.front());
    st->pending.pop_front();
    co_return e;
}

}  // namespace np::app
