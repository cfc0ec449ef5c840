// app::EventRelay: carries events between instances that share a PostgreSQL store (DESIGN.md "Jobs, events":
// in-process bus, LISTEN/NOTIFY across instances). Events published on this instance's bus are sent with
// NOTIFY; notifications from the other instances are published on this bus, marked remote, so an SSE
// client sees the progress of a job whichever instance runs it. With the SQLite store (one instance) it
// does nothing. Lives on the event loop; store calls run on the worker pool.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>

#include "app/events.hpp"

namespace np::core {
class WorkerPool;
}
namespace np::store {
class Store;
}

namespace np::app {

class EventRelay {
 public:
    static constexpr const char* kChannel = "netpraxis_events";

    EventRelay(boost::asio::any_io_executor executor, store::Store& store, core::WorkerPool& pool,
               EventBus& bus);
    ~EventRelay();
    EventRelay(const EventRelay&) = delete;
    EventRelay& operator=(const EventRelay&) = delete;

    // Opens the listening connection (on the pool) and starts relaying; returns false when the store
    // has no notifications (SQLite). A connection that fails or drops is retried with backoff.
    boost::asio::awaitable<bool> start();
    // Stops both directions; events not yet sent are dropped.
    void stop();

    // The wire form of an event (JSON, with this instance's origin) and back; nullopt for a payload that
    // is not an event of ours. Public for tests.
    static std::string encode(const Event& e, const std::string& origin);
    static std::optional<Event> decode(const std::string& payload, std::string* origin);

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace np::app
