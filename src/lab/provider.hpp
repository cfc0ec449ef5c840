// lab::Provider: the interface every lab provider implements (DESIGN.md "Lab providers"): local
// (network namespaces on this host, src/lab/local) and proxmox (+gns3). The server picks them by name from
// a ProviderRegistry (registry.hpp). All calls are awaitables on the caller's
// executor; blocking work is offloaded by the provider. Boost.Beast stays out of this header.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lab/access.hpp"
#include "lab/state.hpp"

namespace np::lab {

// Sizes a provider may honour when it builds the lab (0: the provider's default; local labs ignore them).
struct ResourceHints {
    int cpus = 0;       // per node / VM
    int memory_mb = 0;  // per node / VM
};

// What to build for one environment, not how: each provider takes from the exercise version what it
// builds from (local: the topology text; proxmox: the GNS3 project) and refuses a request it cannot build
// (check_request).
struct LabRequest {
    std::string env;           // environment name, unique per provider (prefixes everything it makes)
    std::string topology;      // the exercise version's topology.yaml text (configs inlined); may be empty
    std::string gns3_project;  // the exercise version's GNS3 project name; may be empty
    // The project uploaded with the exercise version (stored by the server, migration 0006), read once per
    // request: its sha256, and its bytes when the lab is to be built (else empty). An empty sha256: the name
    // is a file of the provider's own folder (proxmox: pve.projects_dir).
    std::string gns3_project_sha256;
    std::string gns3_project_bytes;
    std::map<std::string, std::string>
        devices;  // the grading spec's devices: name -> platform (may be empty)
    ResourceHints resources;
};

// A byte stream to a device console: a PTY (shells, vtysh) or a telnet socket (VPCS, GNS3 nodes).
// Always a clean terminal stream: a provider wraps a telnet socket in lab::telnet_console
// (telnet_console.hpp), which answers the negotiation and removes it, so a browser terminal gets only what
// the device printed.
class ConsoleStream {
 public:
    virtual ~ConsoleStream() = default;
    // Reads what the console printed; 0 when it closed.
    virtual boost::asio::awaitable<std::size_t> read_some(std::span<char> buffer) = 0;
    virtual boost::asio::awaitable<void> write(std::string_view bytes) = 0;
    // Terminal size (PTY consoles; telnet consoles send it when the device asked for it: NAWS).
    virtual void resize(unsigned short rows, unsigned short cols) = 0;
    // Ends the session (kills the shell of a PTY console; never sends `quit` to VPCS).
    virtual void close() = 0;
};

class Provider {
 public:
    virtual ~Provider() = default;
    virtual std::string_view name() const = 0;

    // Refuses, before anything is made, a request this provider cannot build (local: no topology text).
    virtual void check_request(const LabRequest& request) const = 0;

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
    // Cleans what a crash of this process left behind (local: labs interrupted while being made or
    // removed); returns the environments it cleaned. The server calls it once at start.
    virtual boost::asio::awaitable<std::vector<std::string>> recover() = 0;
};

}  // namespace np::lab
