#include "lab/local/runtime.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "lab/local/console_guard.hpp"
#include "lab/local/host.hpp"
#include "lab/local/process.hpp"
#include "lab/local/vpcs_client.hpp"

namespace np::lab {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace host;

RuntimeOptions RuntimeOptions::from_config(const core::Config& config) {
    RuntimeOptions o;
    o.state_dir = config.get_string("lab.state_dir", o.state_dir.string());
    o.max_labs = static_cast<int>(config.get_int("lab.max_labs", o.max_labs));
    o.max_nodes = static_cast<int>(config.get_int("lab.max_nodes", o.max_nodes));
    auto port = [&](std::string_view key, std::uint16_t fallback) {
        auto v = config.get_int(key, fallback);
        if (v < 1024 || v > 65535)
            throw core::invalid("config " + std::string(key) + ": " + std::to_string(v) +
                                " is not a port in 1024-65535");
        return static_cast<std::uint16_t>(v);
    };
    o.console_port_min = port("lab.console_port_min", o.console_port_min);
    o.console_port_max = port("lab.console_port_max", o.console_port_max);
    o.tunnel_port_min = port("lab.tunnel_port_min", o.tunnel_port_min);
    o.tunnel_port_max = port("lab.tunnel_port_max", o.tunnel_port_max);
    if (o.console_port_min > o.console_port_max || o.tunnel_port_min > o.tunnel_port_max)
        throw core::invalid("config lab: a port range has its minimum above its maximum");
    if (o.max_labs < 1 || o.max_nodes < 1)
        throw core::invalid("config lab: max_labs and max_nodes must be >= 1");
    return o;
}

LocalRuntime::LocalRuntime(RuntimeOptions options) : options_(std::move(options)) {}

std::optional<LabRecord> LocalRuntime::read(const std::string& env) const {
    if (!valid_env_name(env)) return std::nullopt;
    auto file = lab_dir(env) / "state.json";
    if (!fs::exists(file)) return std::nullopt;
    return record_from_json(read_file(file), file.string());
}

std::vector<LabRecord> LocalRuntime::list() const {
    std::vector<LabRecord> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(options_.state_dir, ec)) {
        if (!e.is_directory()) continue;
        auto env = e.path().filename().string();
        try {
            if (auto r = read(env)) out.push_back(std::move(*r));
        } catch (const core::Error& err) {
            log::warn("lab.state_unreadable", {{"env", env}, {"error", err.what()}});
        }
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.env < b.env; });
    return out;
}

void LocalRuntime::write_record(const LabRecord& record) const {
    fs::create_directories(lab_dir(record.env));
    write_file(lab_dir(record.env) / "state.json", record_to_json(record));
}

void LocalRuntime::check_caps(const std::string& env, const Topology& topology) const {
    int labs = 0;
    int nodes = 0;
    for (const auto& r : list()) {
        if (r.env == env || r.status == "stopped") continue;
        ++labs;
        nodes += static_cast<int>(r.nodes.size());
    }
    if (labs + 1 > options_.max_labs)
        throw core::conflict("host lab cap reached: " + std::to_string(labs) +
                             " labs run here (lab.max_labs=" + std::to_string(options_.max_labs) +
                             "); take one down or raise lab.max_labs");
    if (nodes + static_cast<int>(topology.nodes.size()) > options_.max_nodes)
        throw core::conflict("host node cap reached: " + std::to_string(nodes) + " nodes run here and '" +
                             topology.name + "' needs " + std::to_string(topology.nodes.size()) +
                             " more (lab.max_nodes=" + std::to_string(options_.max_nodes) +
                             "); take a lab down or raise lab.max_nodes");
}

void LocalRuntime::allocate_ports(LabRecord& record, const Topology& topology) const {
    std::set<std::uint16_t> taken;
    for (const auto& r : list()) {
        if (r.env == record.env || r.status == "stopped") continue;
        for (const auto& n : r.nodes) {
            taken.insert({n.console_port, n.udp_port, n.peer_port});
            if (n.kind == NodeKind::vpcs && n.udp_port != 0)
                taken.insert(static_cast<std::uint16_t>(n.udp_port + kVpcsSecondUdpOffset));
        }
        for (const auto& b : r.bridges) taken.insert({b.udp_port, b.vpcs_port});
    }
    // `also`: a second port the same program binds (a VPCS's base + 9), free and reserved with the first.
    auto pick = [&](std::uint16_t lo, std::uint16_t hi, int type, bool any, const char* what,
                    std::uint16_t also = 0) {
        for (std::uint32_t p = lo; p + also <= hi; ++p) {
            auto port = static_cast<std::uint16_t>(p);
            auto second = static_cast<std::uint16_t>(p + also);
            if (taken.count(port) || !port_free(port, type, any)) continue;
            if (also && (taken.count(second) || !port_free(second, type, any))) continue;
            taken.insert({port, second});
            return port;
        }
        throw core::conflict(std::string("no free ") + what + " port left in " + std::to_string(lo) + "-" +
                             std::to_string(hi) + "; take a lab down or widen the range in the lab config");
    };
    int mac = 1;
    for (auto& n : record.nodes) {
        if (n.kind != NodeKind::vpcs) continue;
        n.console_port =
            pick(options_.console_port_min, options_.console_port_max, SOCK_STREAM, true, "console");
        n.udp_port = pick(options_.tunnel_port_min, options_.tunnel_port_max, SOCK_DGRAM, false, "tunnel",
                          kVpcsSecondUdpOffset);
        n.mac_offset = mac++;
    }
    for (const auto& link : topology.links) {
        const Node* a = topology.find(link.a.node);
        const Node* b = topology.find(link.b.node);
        bool va = a->kind == NodeKind::vpcs;
        bool vb = b->kind == NodeKind::vpcs;
        auto node_rec = [&](const std::string& name) -> NodeRecord& {
            for (auto& n : record.nodes)
                if (n.name == name) return n;
            throw core::internal("no record of node " + name);
        };
        if (va && vb) {  // two VPCS: cross their UDP ports, no bridge
            node_rec(a->name).peer_port = node_rec(b->name).udp_port;
            node_rec(b->name).peer_port = node_rec(a->name).udp_port;
        } else if (va || vb) {
            const auto& vpcs_end = va ? link.a : link.b;
            const auto& other_end = va ? link.b : link.a;
            BridgeRecord bridge;
            bridge.netns = node_netns(record.env, other_end.node);
            bridge.ifname = other_end.iface;
            bridge.udp_port =
                pick(options_.tunnel_port_min, options_.tunnel_port_max, SOCK_DGRAM, false, "tunnel");
            bridge.vpcs_port = node_rec(vpcs_end.node).udp_port;
            node_rec(vpcs_end.node).peer_port = bridge.udp_port;
            record.bridges.push_back(bridge);
        }
    }
    // A VPCS without a link still needs somewhere to send: a port nobody listens on.
    for (auto& n : record.nodes)
        if (n.kind == NodeKind::vpcs && n.peer_port == 0)
            n.peer_port =
                pick(options_.tunnel_port_min, options_.tunnel_port_max, SOCK_DGRAM, false, "tunnel");
}

std::uint16_t LocalRuntime::fresh_console_port(const LabRecord& record) const {
    HostLock lock(options_.state_dir);
    std::set<std::uint16_t> taken;
    for (const auto& r : list())
        if (r.env != record.env && r.status != "stopped")
            for (const auto& n : r.nodes) taken.insert(n.console_port);
    for (const auto& n : record.nodes) taken.insert(n.console_port);
    for (std::uint32_t p = options_.console_port_min; p <= options_.console_port_max; ++p) {
        auto port = static_cast<std::uint16_t>(p);
        if (!taken.count(port) && port_free(port, SOCK_STREAM, true)) return port;
    }
    throw core::conflict("no free console port left in " + std::to_string(options_.console_port_min) + "-" +
                         std::to_string(options_.console_port_max) +
                         "; take a lab down or widen the range in the lab config");
}

LabRecord LocalRuntime::define(const Topology& topology, const std::string& env) {
    if (!valid_env_name(env))
        throw core::invalid("bad environment name '" + env + "': use 1-24 of a-z, 0-9 and '-'");
    HostLock lock(options_.state_dir);
    if (auto existing = read(env)) {
        if (existing->topology_yaml != to_yaml(topology))
            throw core::conflict("environment '" + env + "' already holds topology '" +
                                 existing->topology_name + "' with other content; `netpraxis lab down " +
                                 env + "` first");
        return *existing;
    }
    LabRecord record;
    record.env = env;
    record.topology_name = topology.name;
    record.status = "stopped";
    record.created_at = core::unix_now();
    record.topology_yaml = to_yaml(topology);
    for (const auto& n : topology.nodes) record.nodes.push_back({n.name, n.kind, {}, {}, 0, 0, 0, 0, {}});
    write_record(record);
    return record;
}

LabRecord LocalRuntime::up(const Topology& topology, const std::string& env, const Progress& progress) {
    if (!valid_env_name(env))
        throw core::invalid("bad environment name '" + env + "': use 1-24 of a-z, 0-9 and '-'");
    if (geteuid() != 0)
        throw core::forbidden(
            "local labs need root (network namespaces, FRR daemons, TAP devices); run as root");
    // Ports are chosen free, but a program outside this host's lab records (another server with another
    // state_dir, anything else) may bind one before our VPCS or bridge does: that start is then undone and
    // planned again, on ports free by then (a few times; each time someone else won a port).
    for (int attempt = 1;; ++attempt) {
        try {
            return up_once(topology, env, progress);
        } catch (const TunnelPortTaken& e) {
            if (attempt == 3) throw core::conflict("lab " + env + ": " + e.what() + " (3 tries)");
            log::warn("lab.tunnel_port_taken", {{"env", env}, {"attempt", attempt}, {"error", e.what()}});
        }
    }
}

LabRecord LocalRuntime::up_once(const Topology& topology, const std::string& env, const Progress& progress) {
    auto report = [&](const std::string& step, int done, int total) {
        if (progress) progress(step, done, total);
    };
    LabRecord record;
    if (auto unchanged = plan(topology, env, record)) return *unchanged;
    auto started = std::chrono::steady_clock::now();
    const int total = static_cast<int>(topology.nodes.size() + topology.links.size() + topology.nodes.size());
    int done = 0;
    auto phase = [&](const char* name) {
        log::debug("lab.up_phase", {{"env", env},
                                    {"phase", name},
                                    {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::steady_clock::now() - started)
                                               .count()}});
    };
    try {
        make_links(record, topology, [&](const std::string& step) { report(step, ++done, total); });
        phase("namespaces_and_links");
        start_nodes(record, topology, phase);
        for (const auto& n : record.nodes)
            report("node " + n.name + " (" + std::string(kind_name(n.kind)) + ")", ++done, total);
    } catch (const TunnelPortTaken& e) {
        rollback(record, env);
        throw;
    } catch (const std::exception& e) {
        log::error("lab.up_failed", {{"env", env}, {"error", e.what()}});
        rollback(record, env);
        if (const auto* err = dynamic_cast<const core::Error*>(&e)) throw *err;
        throw core::internal(std::string("lab ") + env + ": " + e.what());
    }
    record.status = "running";
    record.owner_pid = 0;
    write_record(record);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    log::info("lab.up", {{"env", env}, {"nodes", topology.nodes.size()}, {"ms", ms.count()}});
    return record;
}

std::optional<LabRecord> LocalRuntime::plan(const Topology& topology, const std::string& env,
                                            LabRecord& record) {
    const std::string yaml = to_yaml(topology);
    HostLock lock(options_.state_dir);
    if (auto existing = read(env)) {
        if (existing->topology_yaml != yaml)
            throw core::conflict("environment '" + env + "' already holds topology '" +
                                 existing->topology_name + "' with other content; `netpraxis lab down " +
                                 env + "` first");
        if ((existing->status == "creating" || existing->status == "stopping") &&
            existing->owner_pid != getpid() && pid_alive(existing->owner_pid))
            throw core::conflict("environment '" + env + "' is being changed by process " +
                                 std::to_string(existing->owner_pid) + "; try again when it is done");
        if (existing->status == "running" && observe(env).state == EnvState::running) {
            log::info("lab.up_unchanged", {{"env", env}});
            return existing;
        }
        // Leftovers of an interrupted or broken lab: start from a clean slate.
        teardown(*existing, env);
    } else if (!netns_with_prefix(env + "_").empty()) {
        teardown(LabRecord{env, topology.name, "stopping", getpid(), 0, {}, {}, {}}, env);
    }
    check_caps(env, topology);
    record.env = env;
    record.topology_name = topology.name;
    record.status = "creating";
    record.owner_pid = getpid();
    record.created_at = core::unix_now();
    record.topology_yaml = yaml;
    for (const auto& n : topology.nodes) {
        NodeRecord nr;
        nr.name = n.name;
        nr.kind = n.kind;
        if (n.kind != NodeKind::vpcs) nr.netns = node_netns(env, n.name);
        if (n.kind == NodeKind::frr) nr.pathspace = node_netns(env, n.name);
        record.nodes.push_back(std::move(nr));
    }
    allocate_ports(record, topology);
    // Recorded before anything is made: a crash from here on leaves a record `down` can follow.
    write_record(record);
    return std::nullopt;
}

void LocalRuntime::make_links(const LabRecord& record, const Topology& topology,
                              const std::function<void(const std::string&)>& step) {
    // iproute2 in batch mode: one process per step instead of one per command (ip is ~20-40 ms a call).
    std::string namespaces;
    for (const auto& n : record.nodes)
        if (!n.netns.empty()) namespaces += "netns add " + n.netns + "\n";
    if (!namespaces.empty()) run_batch({"ip", "-batch", "-"}, namespaces);
    for (const auto& n : record.nodes)
        if (!n.netns.empty()) step("namespace " + n.netns);
    std::string links;
    std::map<std::string, std::string> set_up;  // namespace -> batch bringing its interfaces up
    for (const auto& n : record.nodes)
        if (!n.netns.empty()) set_up[n.netns] = "link set lo up\n";
    for (const auto& link : topology.links) {
        const Node* a = topology.find(link.a.node);
        const Node* b = topology.find(link.b.node);
        if (a->kind == NodeKind::vpcs || b->kind == NodeKind::vpcs) continue;
        auto ns_a = node_netns(record.env, a->name);
        auto ns_b = node_netns(record.env, b->name);
        // Both ends are made inside their namespaces: no name ever exists on the host side, so two labs
        // with the same interface names never collide (and IFNAMSIZ is the topology's own limit of 15).
        links += "link add " + link.a.iface + " netns " + ns_a + " type veth peer name " + link.b.iface +
                 " netns " + ns_b + "\n";
        set_up[ns_a] += "link set " + link.a.iface + " up\n";
        set_up[ns_b] += "link set " + link.b.iface + " up\n";
    }
    if (!links.empty()) run_batch({"ip", "-batch", "-"}, links);
    for (const auto& [ns, batch] : set_up) run_batch({"ip", "-n", ns, "-batch", "-"}, batch);
    for (const auto& link : topology.links)
        step("link " + link.a.node + ":" + link.a.iface + " - " + link.b.node + ":" + link.b.iface);
}

namespace {

// Runs every job on its own thread and waits for all; throws core::internal with the first failure, named.
void run_side_by_side(const std::vector<std::pair<std::string, std::function<void()>>>& jobs) {
    std::vector<std::thread> workers;
    std::mutex error_mutex;
    std::string first_error;
    for (const auto& [what, fn] : jobs)
        workers.emplace_back([&, what = what, fn = fn] {
            try {
                fn();
            } catch (const std::exception& e) {
                std::lock_guard guard(error_mutex);
                if (first_error.empty()) first_error = what + ": " + e.what();
            }
        });
    for (auto& t : workers) t.join();
    if (!first_error.empty()) throw core::internal(first_error);
}

}  // namespace

void LocalRuntime::start_nodes(LabRecord& record, const Topology& topology,
                               const std::function<void(const char*)>& phase) {
    for (auto& bridge : record.bridges) {
        start_bridge(record, bridge);
        write_record(record);
    }
    for (auto& n : record.nodes) {
        if (n.kind != NodeKind::vpcs) continue;
        start_vpcs(record, n, *topology.find(n.name));
        write_record(record);
    }
    // The slow parts run side by side: each FRR instance (watchfrr takes ~1-2 s, mostly waiting) and each
    // VPCS startup (VPCS 0.5b2 runs startup.vpc only when the first console client connects, and that
    // first session is unreliable for further commands: we are that client; each `ip` takes ~2 s).
    std::vector<std::pair<std::string, std::function<void()>>> jobs;
    for (const auto& n : record.nodes) {
        const Node* spec = topology.find(n.name);
        const NodeRecord* node = &n;
        if (n.kind == NodeKind::frr)
            jobs.emplace_back("frr node " + n.name, [&, spec, node] { start_frr(record, *node, *spec); });
        if (n.kind == NodeKind::vpcs)
            jobs.emplace_back("vpcs node " + n.name,
                              [node] { vpcs_wait_startup(node->console_port, node->name, 30s); });
    }
    for (const auto& n : record.nodes) {
        if (n.kind != NodeKind::linux) continue;
        const Node* spec = topology.find(n.name);
        if (spec->config.empty() && spec->exec.empty()) continue;
        // One shell per node: the config script, then the exec lines, stopping at the first failure.
        std::string script = "set -e\n" + spec->config + "\n";
        for (const auto& cmd : spec->exec) script += cmd + "\n";
        jobs.emplace_back("linux node " + n.name, [netns = n.netns, script] {
            run_checked({"ip", "netns", "exec", netns, "sh", "-c", script}, 60s);
        });
    }
    phase("bridges_and_vpcs_processes");
    try {
        run_side_by_side(jobs);
    } catch (...) {
        phase("frr_and_vpcs_startup");
        throw;
    }
    phase("frr_and_vpcs_startup");
}

void LocalRuntime::rollback(const LabRecord& record, const std::string& env) {
    try {
        teardown(record, env);
        if (fs::exists(lab_dir(env) / "saved")) {
            // Keep the students' saved configs: the environment stays, stopped, for another try.
            LabRecord stopped = record;
            stopped.status = "stopped";
            stopped.owner_pid = 0;
            stopped.bridges.clear();
            for (auto& n : stopped.nodes) n.pids.clear();
            write_record(stopped);
        } else {
            fs::remove_all(lab_dir(env));
        }
    } catch (const std::exception& cleanup) {
        log::error("lab.cleanup_failed", {{"env", env}, {"error", cleanup.what()}});
    }
}

void LocalRuntime::teardown(const LabRecord& record, const std::string& env) {
    auto dir = lab_dir(env);
    if (fs::exists(dir / "state.json")) {
        LabRecord stopping = record;
        stopping.status = "stopping";
        stopping.owner_pid = getpid();
        try {
            write_record(stopping);
        } catch (const std::exception&) {
        }
    }
    // Every process of the lab at once: helpers in the lab folder (VPCS, the bridges holding TAPs) and all
    // processes inside its namespaces (FRR daemons, watchfrr, anything a student started), then the
    // namespaces.
    std::vector<pid_t> pids = pids_with_cwd_under(dir);
    for (const auto& n : record.nodes)
        for (auto p : n.pids)
            if (std::find(pids.begin(), pids.end(), p) == pids.end() && pid_alive(p)) {
                // A recorded PID counts only while it still is a VPCS of this lab (PIDs get reused).
                std::error_code ec;
                auto cwd = fs::read_symlink("/proc/" + std::to_string(p) + "/cwd", ec).string();
                if (!ec && cwd.rfind(fs::weakly_canonical(dir).string(), 0) == 0) pids.push_back(p);
            }
    std::set<std::string> namespaces;
    for (const auto& n : record.nodes)
        if (!n.netns.empty() && netns_exists(n.netns)) namespaces.insert(n.netns);
    for (const auto& ns : netns_with_prefix(env + "_")) namespaces.insert(ns);
    for (auto p : pids_in_namespaces(namespaces))
        if (std::find(pids.begin(), pids.end(), p) == pids.end()) pids.push_back(p);
    terminate_pids(pids);
    for (const auto& n : record.nodes)
        if (n.kind == NodeKind::vpcs && n.console_port != 0) unguard_console(n.console_port);
    if (!namespaces.empty()) {
        std::string batch;
        for (const auto& ns : namespaces) batch += "netns del " + ns + "\n";
        auto r = run_command({"ip", "-force", "-batch", "-"}, 30s, batch);
        for (const auto& ns : namespaces)
            if (netns_exists(ns))
                log::warn("lab.netns_delete_failed", {{"env", env}, {"netns", ns}, {"output", r.output}});
    }
    std::set<fs::path> frr_dirs;
    for (const auto& n : record.nodes)
        if (!n.pathspace.empty()) {
            frr_dirs.insert(options_.frr_etc / n.pathspace);
            frr_dirs.insert(options_.frr_run / n.pathspace);
        }
    for (const auto& base : {options_.frr_etc, options_.frr_run}) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(base, ec))
            if (e.path().filename().string().rfind(env + "_", 0) == 0) frr_dirs.insert(e.path());
    }
    for (const auto& d : frr_dirs) {
        std::error_code ec;
        fs::remove_all(d, ec);
    }
    std::error_code ec;
    fs::remove_all(dir / "nodes", ec);
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.path().filename().string().rfind("bridge-", 0) == 0) fs::remove(e.path(), ec);
}

void LocalRuntime::stop(const std::string& env) {
    HostLock lock(options_.state_dir);
    auto record = read(env);
    if (!record) throw core::not_found("no local lab '" + env + "' (see `netpraxis lab ls`)");
    // Keep what the students saved (FRR `write memory`, VPCS `save`) for the next start, like a VM's disk.
    auto saved = lab_dir(env) / "saved";
    for (const auto& n : record->nodes) {
        fs::path from = n.kind == NodeKind::frr    ? options_.frr_etc / n.pathspace / "frr.conf"
                        : n.kind == NodeKind::vpcs ? lab_dir(env) / "nodes" / n.name / "startup.vpc"
                                                   : fs::path();
        if (from.empty() || !fs::exists(from)) continue;
        fs::create_directories(saved);
        std::error_code ec;
        fs::copy_file(from, saved / (n.name + (n.kind == NodeKind::frr ? ".frr.conf" : ".vpc")),
                      fs::copy_options::overwrite_existing, ec);
    }
    teardown(*record, env);
    LabRecord stopped = *record;
    stopped.status = "stopped";
    stopped.owner_pid = 0;
    stopped.bridges.clear();
    for (auto& n : stopped.nodes) n.pids.clear();
    write_record(stopped);
}

void LocalRuntime::forget_saved(const std::string& env) {
    std::error_code ec;
    fs::remove_all(lab_dir(env) / "saved", ec);
}

void LocalRuntime::down(const std::string& env) {
    if (!valid_env_name(env)) throw core::invalid("bad environment name '" + env + "'");
    HostLock lock(options_.state_dir);
    auto record = read(env);
    bool leftovers = !netns_with_prefix(env + "_").empty() || fs::exists(lab_dir(env));
    if (!record && !leftovers) throw core::not_found("no local lab '" + env + "' (see `netpraxis lab ls`)");
    auto started = std::chrono::steady_clock::now();
    teardown(record ? *record : LabRecord{env, "", "stopping", getpid(), 0, {}, {}, {}}, env);
    std::error_code ec;
    fs::remove_all(lab_dir(env), ec);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    log::info("lab.down", {{"env", env}, {"ms", ms.count()}});
}

Observed LocalRuntime::observe(const std::string& env) const {
    Observed obs;
    auto record = read(env);
    if (!record) {
        if (!netns_with_prefix(env + "_").empty()) {
            obs.state = EnvState::degraded;
            obs.problems.push_back("namespaces of '" + env + "' exist without a record");
        }
        return obs;
    }
    if (record->status == "stopped") {
        obs.state = EnvState::stopped;
        return obs;
    }
    if (record->status == "creating" || record->status == "stopping") {
        if (pid_alive(record->owner_pid)) {
            obs.state = EnvState::creating;
            return obs;
        }
        obs.state = EnvState::degraded;
        obs.problems.push_back("interrupted while " + record->status + " (process " +
                               std::to_string(record->owner_pid) + " is gone)");
        return obs;
    }
    for (const auto& n : record->nodes) {
        if (!n.netns.empty() && !netns_exists(n.netns))
            obs.problems.push_back(n.name + ": namespace missing");
        if (n.kind == NodeKind::frr) {
            auto pid_text = read_file(options_.frr_run / n.pathspace / "zebra.pid");
            pid_t pid = pid_text.empty() ? 0 : static_cast<pid_t>(std::atol(pid_text.c_str()));
            if (!pid_alive(pid)) obs.problems.push_back(n.name + ": zebra is not running");
        }
        if (n.kind == NodeKind::vpcs) {
            bool alive = !n.pids.empty();
            for (auto p : n.pids) alive = alive && pid_alive(p);
            if (!alive) obs.problems.push_back(n.name + ": vpcs process is gone");
        }
    }
    for (const auto& b : record->bridges)
        if (!pid_alive(b.pid)) obs.problems.push_back(b.netns + ":" + b.ifname + ": TAP bridge is gone");
    obs.state = obs.problems.empty() ? EnvState::running : EnvState::degraded;
    return obs;
}

std::vector<std::string> LocalRuntime::reconcile() {
    std::vector<std::string> cleaned;
    for (const auto& r : list()) {
        if ((r.status == "creating" || r.status == "stopping") && !pid_alive(r.owner_pid)) {
            log::warn("lab.reconcile_interrupted", {{"env", r.env}, {"status", r.status}});
            down(r.env);
            cleaned.push_back(r.env);
        }
    }
    return cleaned;
}

}  // namespace np::lab
