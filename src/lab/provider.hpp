// lab::Provider: the interface every lab provider implements (DESIGN.md "Lab providers"): local
// (network namespaces on this host) and proxmox (+gns3). All calls are awaitables on the caller's
// executor; blocking work is offloaded by the provider. Boost.Beast stays out of this header.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lab/access.hpp"

namespace np::lab {

// What to build for one environment.
struct LabRequest {
    std::string env;            // environment name, unique per provider (prefixes everything it makes)
    std::string topology_file;  // local: topology.yaml (configs referenced relative to it)
    std::string topology_yaml;  // local: the topology text itself (wins over topology_file when set)
    std::string template_ref;   // proxmox: the exercise's template VM / GNS3 project
};

enum class EnvState { absent, stopped, creating, running, degraded };
std::string_view env_state_name(EnvState state);

struct Observed {
    EnvState state = EnvState::absent;
    std::vector<std::string> problems;  // what is wrong when degraded, one line each
};

// A byte stream to a device console: a PTY (shells, vtysh) or a telnet socket (VPCS, GNS3 nodes).
// Telnet bytes are passed through unchanged (the browser terminal or the CLI handles IAC).
class ConsoleStream {
 public:
    virtual ~ConsoleStream() = default;
    // Reads what the console printed; 0 when it closed.
    virtual boost::asio::awaitable<std::size_t> read_some(std::span<char> buffer) = 0;
    virtual boost::asio::awaitable<void> write(std::string_view bytes) = 0;
    // Terminal size (PTY consoles; telnet consoles ignore it).
    virtual void resize(unsigned short rows, unsigned short cols) = 0;
    // Ends the session (kills the shell of a PTY console; never sends `quit` to VPCS).
    virtual void close() = 0;
};

class Provider {
 public:
    virtual ~Provider() = default;
    virtual std::string_view name() const = 0;

    // Makes sure what environments are built from exists and is usable (local: the topology parses and
    // the tools it needs are installed).
    virtual boost::asio::awaitable<void> ensure_template(const LabRequest& request) = 0;
    // Records/allocates the environment without starting it. Idempotent.
    virtual boost::asio::awaitable<void> create(const LabRequest& request) = 0;
    virtual boost::asio::awaitable<void> start(const std::string& env) = 0;
    virtual boost::asio::awaitable<void> stop(const std::string& env) = 0;
    // stop/start keep what the students saved (like a VM's disk); reset goes back to the exercise's
    // initial state (local: stop, drop saved configs, start from the recorded topology).
    virtual boost::asio::awaitable<void> reset(const std::string& env) = 0;
    // Removes everything; done only when nothing is left. Idempotent (absent is success).
    virtual boost::asio::awaitable<void> destroy(const std::string& env) = 0;
    // Looks at what really exists instead of trusting earlier replies.
    virtual boost::asio::awaitable<Observed> observe(const std::string& env) = 0;
    virtual boost::asio::awaitable<Inventory> inventory(const std::string& env) = 0;
    virtual boost::asio::awaitable<std::unique_ptr<ConsoleStream>> console(const std::string& env,
                                                                           const std::string& node) = 0;
};

}  // namespace np::lab
