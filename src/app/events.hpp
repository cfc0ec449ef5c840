// app::EventBus: in-process publish/subscribe of job progress and state changes (DESIGN.md "Jobs, events").
// Keeps the last `capacity` events in a ring so an SSE client that reconnects with Last-Event-ID gets what it
// missed. Lives on the event loop; no locks.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <optional>
#include <string>

namespace np::app {

struct Event {
    std::uint64_t id = 0;  // monotonic per process, starts above 0
    std::string type;      // "job.progress", "job.state", "environment.state", "evaluation.state"
    std::string job_id;
    std::string environment_id;
    std::string owner_id;  // the student/user the event concerns: students only see their own
    std::string data;      // JSON object
    bool remote = false;   // published by another instance (arrived through the store's notifications)
};

struct EventFilter {
    std::string job_id;
    std::string environment_id;
    std::string owner_id;  // empty: all (teachers)
    bool matches(const Event& e) const;
};

class EventBus {
 public:
    explicit EventBus(boost::asio::any_io_executor executor, std::size_t capacity = 4096);
    ~EventBus();

    // Assigns the id and wakes matching subscribers.
    std::uint64_t publish(Event event);

    class Subscription;
    // Subscribes; events with id > `after` still in the ring are delivered first (resume).
    std::unique_ptr<Subscription> subscribe(EventFilter filter, std::uint64_t after);
    // Wakes every subscriber with "closed" (server shutdown).
    void close();
    bool closed() const { return closed_; }
    std::uint64_t last_id() const { return next_id_ - 1; }

    class Subscription {
     public:
        ~Subscription();
        // The next matching event, or nullopt after `timeout` (send a keep-alive) or when the bus closed.
        boost::asio::awaitable<std::optional<Event>> next(std::chrono::milliseconds timeout);
        bool closed() const;

     private:
        friend class EventBus;
        struct State;
        std::shared_ptr<State> state_;
    };

 private:
    boost::asio::any_io_executor executor_;
    std::size_t capacity_;
    std::deque<Event> ring_;
    std::uint64_t next_id_ = 1;
    bool closed_ = false;
    std::list<std::weak_ptr<Subscription::State>> subscribers_;
};

}  // namespace np::app
