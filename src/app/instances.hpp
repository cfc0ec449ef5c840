// app::Instances: this `netpraxis serve` among the instances sharing one store (issue 13).
//  - registers itself (store::Instance: its stable id, the lab providers it offers, lab.max_labs, free
//    memory, its address) and renews that lease every heartbeat; local environments are placed on a live
//    instance with room (store::Store::place_environment) and their jobs pinned to it;
//  - sweeps: the environments of an instance gone for `gone_after` (lease expired that long ago) are
//    shown 'unavailable' with the reason; after `fail_jobs_after` (when set) its queued and running jobs
//    fail with a clear message, never run elsewhere;
//  - when it finds its own environments marked unavailable (it was away), it looks at them again
//    (Workflows::reconcile_owned).
// Runs on the event loop; store calls go through the worker pool.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/ids.hpp"

namespace np::core {
class WorkerPool;
}
namespace np::store {
class Store;
}

namespace np::app {

class EventBus;
class JobRunner;
class Workflows;

struct InstanceOptions {
    std::string id;                           // server.instance_id (see default_instance_id)
    std::vector<std::string> providers;       // lab providers this instance offers
    int max_labs = 0;                         // lab.max_labs
    std::int64_t memory_reserve = 0;          // bytes: no new local lab while the host has less available
    std::string address;                      // its API, for the other instances (http://host:port)
    std::chrono::seconds heartbeat{10};       // lease renewal; the lease lasts three heartbeats
    std::chrono::seconds gone_after{60};      // lease expired this long ago: its environments unavailable
    std::chrono::seconds fail_jobs_after{0};  // its jobs fail after this long gone; 0: they wait
    const core::Clock* clock = &core::Clock::system();
};

// The instance id when server.instance_id is not set: the host name (stable across restarts and port
// changes). Several instances on one host set their own ids (register_now logs a clash).
std::string default_instance_id();
// MemAvailable of /proc/meminfo in bytes (0 when it cannot be read).
std::int64_t available_memory();

class Instances {
 public:
    Instances(boost::asio::any_io_executor executor, store::Store& store, core::WorkerPool& pool,
              EventBus& bus, JobRunner& jobs, Workflows& workflows, InstanceOptions options);
    ~Instances();

    const InstanceOptions& options() const { return options_; }
    void set_address(std::string address) { options_.address = std::move(address); }
    // Writes this instance's row now (blocking: at start, before the API serves, so placement sees it).
    // The first call logs an error when another live instance (another address) holds this id.
    void register_now();
    // Heartbeat and sweep every options.heartbeat until stop().
    void start();
    void stop();
    // One round: heartbeat, then the sweep (tests call it directly).
    boost::asio::awaitable<void> tick();

 private:
    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<void> sweep(std::int64_t now);

    struct Impl;
    std::unique_ptr<Impl> impl_;
    store::Store& store_;
    core::WorkerPool& pool_;
    EventBus& bus_;
    JobRunner& jobs_;
    Workflows& workflows_;
    InstanceOptions options_;
    std::int64_t started_at_ = 0;
    bool registered_ = false;
    bool stopping_ = false;
};

}  // namespace np::app
