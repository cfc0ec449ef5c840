// lab::LocalRuntime: runs topologies on this host (needs root). Each node is a network namespace
// "<env>_<node>"; links are veth pairs created directly inside their namespaces with the topology's
// interface names (no host-side names at all); frr nodes run their own FRR daemons in the pathspace
// "<env>_<node>"; vpcs nodes are VPCS processes whose UDP tunnel is joined to the peer namespace by a
// detached TAP-to-UDP bridge (`netpraxis lab _bridge`). Everything is recorded in
// <state_dir>/<env>/state.json before it is made, so `down` (or reconcile()) cleans up after a crash.
// Blocking: call from a worker thread (LocalProvider offloads it); labs are serialised by a lock file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "lab/state.hpp"
#include "lab/topology.hpp"

namespace np::lab {

struct RuntimeOptions {
    std::filesystem::path state_dir = "./var/labs";  // lab.state_dir
    int max_labs = 32;                               // lab.max_labs: labs on this host
    int max_nodes = 320;                             // lab.max_nodes: nodes of all labs on this host
    std::uint16_t console_port_min = 5000;           // lab.console_port_min/max: VPCS telnet consoles (TCP)
    std::uint16_t console_port_max = 5999;
    std::uint16_t tunnel_port_min = 40000;  // lab.tunnel_port_min/max: VPCS UDP tunnels on 127.0.0.1
    std::uint16_t tunnel_port_max = 40999;
    std::string helper_binary;  // the netpraxis binary (runs `lab _bridge`); empty: /proc/self/exe
    std::filesystem::path frr_etc = "/etc/frr";
    std::filesystem::path frr_run = "/var/run/frr";
    std::string frrinit = "/usr/lib/frr/frrinit.sh";  // its folder holds the daemons and watchfrr

    // Reads the `lab:` section (state_dir, max_labs, max_nodes, console_port_min/max, tunnel_port_min/max).
    static RuntimeOptions from_config(const core::Config& config);
};

struct NodeRecord {
    std::string name;
    NodeKind kind = NodeKind::linux;
    std::string netns;               // linux, frr
    std::string pathspace;           // frr
    std::uint16_t console_port = 0;  // vpcs
    std::uint16_t udp_port = 0;      // vpcs: its local UDP port (-s)
    std::uint16_t peer_port = 0;     // vpcs: where it sends (-c): the bridge or the other VPCS
    int mac_offset = 0;              // vpcs -m
    std::vector<pid_t> pids;         // vpcs processes
};

struct BridgeRecord {
    std::string netns;   // namespace holding the TAP
    std::string ifname;  // TAP name inside it (the topology's interface name)
    std::uint16_t udp_port = 0;
    std::uint16_t vpcs_port = 0;
    pid_t pid = 0;
};

// state.json of one lab.
struct LabRecord {
    std::string env;
    std::string topology_name;
    std::string status;   // creating | running | stopped | stopping
    pid_t owner_pid = 0;  // the process that is creating/removing it
    std::int64_t created_at = 0;
    std::string topology_yaml;  // the topology with configs inlined (restarts do not need the file)
    std::vector<NodeRecord> nodes;
    std::vector<BridgeRecord> bridges;

    const NodeRecord* find(const std::string& node) const;
};

using Progress = std::function<void(const std::string& step, int done, int total)>;

class LocalRuntime {
 public:
    explicit LocalRuntime(RuntimeOptions options);

    const RuntimeOptions& options() const { return options_; }

    // Brings `env` up from `topology`. Idempotent: a running lab of the same topology is left as it is;
    // leftovers of an interrupted attempt are removed first. Throws conflict when `env` runs another
    // topology, and when a host cap would be exceeded (before anything is made).
    LabRecord up(const Topology& topology, const std::string& env, const Progress& progress = {});

    // Records `env` as a stopped lab of `topology` (the provider's create); caps are checked.
    LabRecord define(const Topology& topology, const std::string& env);

    // Removes every namespace, process and file of the running lab but keeps its record (status stopped)
    // and the configurations the students saved (FRR `write memory`, VPCS `save`): the next up uses them.
    void stop(const std::string& env);
    // Drops those saved configurations (the provider's reset: back to the topology's startup configs).
    void forget_saved(const std::string& env);

    // Removes everything the lab made, and its record. Works from the record and from the naming scheme,
    // so it also cleans a lab whose creator was killed. Throws not_found when there was nothing at all.
    void down(const std::string& env);

    std::optional<LabRecord> read(const std::string& env) const;
    std::vector<LabRecord> list() const;
    // absent | stopped | creating (its creator alive) | running | degraded, with problems such as
    // "r1: namespace missing", "pc1: vpcs process is gone".
    Observed observe(const std::string& env) const;

    // Cleans labs whose creating/removing process died (status creating/stopping, owner gone).
    // Returns the environments it cleaned. The server calls it at start and periodically.
    std::vector<std::string> reconcile();

    std::filesystem::path lab_dir(const std::string& env) const { return options_.state_dir / env; }

 private:
    // `up` in steps: plan (under the host lock: the record, its ports, written before anything is made;
    // returns the lab when it already runs unchanged) -> links (namespaces, veth pairs) -> nodes (bridges,
    // VPCS, then FRR, VPCS startups and Linux configs side by side) -> on failure, rollback.
    LabRecord up_once(const Topology& topology, const std::string& env, const Progress& progress);
    std::optional<LabRecord> plan(const Topology& topology, const std::string& env, LabRecord& record);
    void make_links(const LabRecord& record, const Topology& topology,
                    const std::function<void(const std::string&)>& step);
    void start_nodes(LabRecord& record, const Topology& topology,
                     const std::function<void(const char*)>& phase);
    void rollback(const LabRecord& record, const std::string& env);
    void teardown(const LabRecord& record, const std::string& env);
    void write_record(const LabRecord& record) const;
    void check_caps(const std::string& env, const Topology& topology) const;
    void allocate_ports(LabRecord& record, const Topology& topology) const;
    void start_frr(const LabRecord& record, const NodeRecord& node, const Node& spec);
    std::vector<std::string> frr_start_argv(const NodeRecord& node, const Node& spec) const;
    // A console port no lab of this host records and nothing holds now (when another program took ours).
    std::uint16_t fresh_console_port(const LabRecord& record) const;
    void start_vpcs(LabRecord& record, NodeRecord& node, const Node& spec);
    void start_bridge(LabRecord& record, BridgeRecord& bridge);

    RuntimeOptions options_;
};

// A tunnel port of the lab being started was bound by another program first (up_once throws it, up plans
// again).
struct TunnelPortTaken : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// VPCS 0.5b2 binds two UDP ports: its base port (-s) and base + 9 (seen with `ss -uap`; when either is
// taken it runs with no tunnel at all, console up). A VPCS node's tunnel port reserves both.
constexpr std::uint16_t kVpcsSecondUdpOffset = 9;

// "<env>_<node>": the namespace and FRR pathspace of a node.
std::string node_netns(const std::string& env, const std::string& node);

// Record <-> JSON text (state.json).
std::string record_to_json(const LabRecord& record);
LabRecord record_from_json(const std::string& text, const std::string& source);

}  // namespace np::lab
