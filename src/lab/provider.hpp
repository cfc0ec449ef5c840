// lab::Provider: the interface every lab provider implements (DESIGN.md "Lab providers"): local
// (network namespaces on this host, src/lab/local) and proxmox (+gns3). The server picks them by name from
// a ProviderRegistry (registry.hpp). All calls are awaitables on the caller's
// executor; blocking work is offloaded by the provider. Boost.Beast stays out of this header.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lab/access.hpp"
#include "lab/progress.hpp"
#include "lab/state.hpp"

namespace np::lab {

// Sizes a provider may honour when it builds the lab (0: the provider's default; local labs ignore them).
struct ResourceHints {
    int cpus = 0;       // per node / VM
    int memory_mb = 0;  // per node / VM
};

// Who a lab is for, as the realm they log in with knows them. A provider that can give rights of its own
// grants them to this identity (proxmox: a role on the student's own VM for a student of a `proxmox` realm).
struct LabOwner {
    std::string realm_kind;  // the kind of the student's login realm: local | ldap | proxmox ("": unknown)
    std::string userid;      // their id in that realm's backend (proxmox: user@<pve realm>); may be empty
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
    LabOwner owner;
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

// A counter a provider exposes on /metrics as netpraxis_lab_<name>_total{provider="<provider>"}.
struct ProviderCounter {
    std::string name;  // snake_case, e.g. "orphaned_volumes_cleaned"
    std::string help;  // one line
    std::uint64_t value = 0;
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
    // Counters for /metrics (ProviderRegistry::render_metrics); none by default.
    virtual std::vector<ProviderCounter> counters() const { return {}; }

    // Attaches `sink` to the calls on `env` until the returned scope ends (progress.hpp); the sink must
    // outlive the scope. One sink per environment (a later attach replaces the earlier one).
    class ProgressScope {
     public:
        ProgressScope(Provider& provider, std::string env) : provider_(&provider), env_(std::move(env)) {}
        ProgressScope(const ProgressScope&) = delete;
        ProgressScope& operator=(const ProgressScope&) = delete;
        ~ProgressScope();

     private:
        Provider* provider_;
        std::string env_;
    };
    [[nodiscard]] ProgressScope attach_progress(const std::string& env, ProgressSink& sink);

 protected:
    // The sink attached to `env`, or one that drops everything.
    ProgressSink& progress(const std::string& env);

 private:
    std::mutex progress_mutex_;
    std::map<std::string, ProgressSink*, std::less<>> progress_;
};

}  // namespace np::lab
