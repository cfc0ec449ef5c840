// app::Consoles: opening a device console of an environment's lab for a user (the browser console bridge,
// GET /api/v1/environments/{id}/nodes/{node}/console). Checks what the use-case owns: the lab runs, the
// caller has a free console slot (consoles.max_per_user), the node exists (the provider says); who may open
// whose environment is the API's policy. A local lab living on another instance (issue 13) is reached
// through that instance's console route (app/remote_console.hpp), with the caller's token. The consoles of
// one node of a lab here share one device connection (app/console_hub.hpp: VPCS serves one telnet client),
// which grading pauses (pause_for_grading). Closing a console closes the stream only: the device keeps
// running. Runs on the event loop.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lab/provider.hpp"

namespace np::store {
struct Environment;
class Store;
}  // namespace np::store
namespace np::core {
class WorkerPool;
}
namespace np::lab {
class ProviderRegistry;
}

namespace np::app {

class ConsoleHub;

struct ConsoleOptions {
    int max_per_user = 4;                                 // consoles.max_per_user (0: no limit)
    std::chrono::milliseconds idle_timeout{30 * 60'000};  // consoles.idle_timeout: no byte either way
};

// What the console of a lab on another instance is opened with there: the caller's token and mode.
struct ConsoleForward {
    std::string token;
    std::string mode = "interactive";
};

class Consoles {
 public:
    // `providers` outlives this object and every console it opened.
    Consoles(lab::ProviderRegistry& providers, ConsoleOptions options);
    ~Consoles();

    // An open console: the device stream and the user's slot, given back when this is destroyed.
    struct Session {
        std::unique_ptr<lab::ConsoleStream> stream;
        std::shared_ptr<void> slot;
    };
    // Labs of other instances are opened through them: `store` tells their address and lease, and
    // `instance_id` is this one (server.instance_id). Without this call every console is opened here.
    void route_through_owners(store::Store& store, core::WorkerPool& pool, std::string instance_id);

    using Forward = ConsoleForward;
    // Throws conflict when the lab is not running, rate_limited when `user_id` has max_per_user consoles
    // open, not_found for a node the lab does not have, unavailable (naming it) when the instance owning
    // the lab is gone or has no address.
    boost::asio::awaitable<Session> open(const store::Environment& environment, const std::string& node,
                                         const std::string& user_id, const Forward& forward = {});
    // Consoles open now for a user.
    int open_count(const std::string& user_id) const;

    // The grader takes the device connections of `nodes` of an environment's lab here (VPCS serves one
    // telnet client) until the returned guard is released: their consoles let go of the device now (the
    // viewers see a notice; input is refused with a message) and connect again after (a notice, the
    // prompt). Consoles opened meanwhile wait for the end the same way. Release it on the event loop.
    std::shared_ptr<void> pause_for_grading(const std::string& environment_id,
                                            const std::vector<std::string>& nodes);
    // Devices with consoles open here now (one shared connection each).
    std::size_t device_connections() const;
    const ConsoleOptions& options() const { return options_; }

 private:
    lab::ProviderRegistry& providers_;
    ConsoleOptions options_;
    store::Store* store_ = nullptr;
    core::WorkerPool* pool_ = nullptr;
    std::string instance_id_;
    std::shared_ptr<std::map<std::string, int>> open_;  // user id -> open consoles (shared with the slots)
    // The hub of a node of a lab here, made (not yet connected) when there is none.
    boost::asio::awaitable<std::shared_ptr<ConsoleHub>> hub_of(const store::Environment& environment,
                                                               const std::string& node);
    struct Hubs;
    std::shared_ptr<Hubs> hubs_;  // "environment/node" -> its hub, and the pauses (shared with the guards)
};

}  // namespace np::app
