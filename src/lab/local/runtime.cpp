#include "lab/local/runtime.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "lab/local/process.hpp"
#include "lab/local/vpcs_client.hpp"

namespace np::lab {
namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// Holds an flock on <state_dir>/.lock: allocation of ports and caps checks see a consistent host.
class HostLock {
 public:
    explicit HostLock(const fs::path& state_dir) {
        fs::create_directories(state_dir);
        fd_ = open((state_dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0) throw core::internal("cannot open lock file in " + state_dir.string());
        // Bounded like every other wait: a holder stuck for a minute is a fault to report, not to wait out.
        auto deadline = std::chrono::steady_clock::now() + 60s;
        while (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK && errno != EINTR) break;
            if (std::chrono::steady_clock::now() > deadline) {
                close(fd_);
                throw core::unavailable("the local lab lock " + (state_dir / ".lock").string() +
                                        " is held by another process for over 60 s; try again");
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    ~HostLock() { close(fd_); }
    HostLock(const HostLock&) = delete;
    HostLock& operator=(const HostLock&) = delete;

 private:
    int fd_ = -1;
};

// VPCS 0.5b2 cannot bind its telnet console to an address: it listens on every address of the host, so
// anyone who can reach the host could type into a student's PC. An nftables set of console ports, with one
// rule dropping them on every interface but lo, keeps them to this host (netpraxis's grader and console
// proxy connect through 127.0.0.1). The table is made idempotently: the chain is flushed and its one rule
// written again in the same transaction. Without nft the consoles stay open, and a warning says so.
constexpr const char* kConsoleTable = "inet netpraxis";

void guard_console(std::uint16_t port) {
    std::string script = std::string("add table ") + kConsoleTable + "\n" + "add set " + kConsoleTable +
                         " vpcs_consoles { type inet_service; }\n" + "add chain " + kConsoleTable +
                         " input { type filter hook input priority 0; policy accept; }\n" + "flush chain " +
                         kConsoleTable + " input\n" + "add rule " + kConsoleTable +
                         " input iifname != \"lo\" tcp dport @vpcs_consoles drop\n" + "add element " +
                         kConsoleTable + " vpcs_consoles { " + std::to_string(port) + " }\n";
    auto r = run_command({"nft", "-f", "-"}, 10s, script);
    if (r.status != 0)
        log::warn(
            "lab.console_unguarded",
            {{"port", port}, {"why", "nft failed: " + r.output}, {"risk", "reachable from other hosts"}});
}

void unguard_console(std::uint16_t port) {
    // Absent already (a lab stopped twice, or nft missing): nothing to do, the error is ignored.
    run_command(
        {"nft", "delete", "element", "inet", "netpraxis", "vpcs_consoles", "{", std::to_string(port), "}"},
        10s);
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& text,
                fs::perms perms = fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read) {
    auto tmp = p;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw core::internal("cannot write " + tmp.string());
    }
    fs::permissions(tmp, perms);
    fs::rename(tmp, p);
}

bool netns_exists(const std::string& name) {
    return fs::exists(fs::path("/var/run/netns") / name);
}

std::vector<std::string> netns_with_prefix(const std::string& prefix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/var/run/netns", ec)) {
        auto n = e.path().filename().string();
        if (n.rfind(prefix, 0) == 0) out.push_back(n);
    }
    return out;
}

// PIDs whose network namespace is one of `names` (what `ip netns pids` does, for all of them in one pass).
std::vector<pid_t> pids_in_namespaces(const std::set<std::string>& names) {
    std::set<std::pair<dev_t, ino_t>> wanted;
    for (const auto& ns : names) {
        struct stat st {};
        if (::stat(("/var/run/netns/" + ns).c_str(), &st) == 0) wanted.insert({st.st_dev, st.st_ino});
    }
    std::vector<pid_t> out;
    if (wanted.empty()) return out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        auto name = e.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        struct stat st {};
        if (::stat((e.path() / "ns" / "net").c_str(), &st) != 0) continue;
        if (wanted.count({st.st_dev, st.st_ino})) out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

bool port_free(std::uint16_t port, int type, bool any_address) {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(any_address ? INADDR_ANY : INADDR_LOOPBACK);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

bool tcp_accepts(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

void run_batch(const std::vector<std::string>& argv, const std::string& input) {
    auto r = run_command(argv, 30s, input);
    if (r.status != 0)
        throw core::internal("`ip` batch failed (exit " + std::to_string(r.status) + "): " + r.output);
}

NodeKind kind_from(std::string_view s) {
    return s == "frr" ? NodeKind::frr : s == "vpcs" ? NodeKind::vpcs : NodeKind::linux;
}

std::string helper_path(const RuntimeOptions& o) {
    if (!o.helper_binary.empty()) return o.helper_binary;
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw core::internal("cannot find the netpraxis binary for the TAP bridge helper");
    return self.string();
}

}  // namespace

std::string node_netns(const std::string& env, const std::string& node) {
    return env + "_" + node;
}

const NodeRecord* LabRecord::find(const std::string& node) const {
    for (const auto& n : nodes)
        if (n.name == node) return &n;
    return nullptr;
}

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

std::string record_to_json(const LabRecord& r) {
    json::object o;
    o["env"] = r.env;
    o["topology_name"] = r.topology_name;
    o["status"] = r.status;
    o["owner_pid"] = r.owner_pid;
    o["created_at"] = r.created_at;
    o["topology"] = r.topology_yaml;
    json::array nodes;
    for (const auto& n : r.nodes) {
        json::object j;
        j["name"] = n.name;
        j["kind"] = std::string(kind_name(n.kind));
        if (!n.netns.empty()) j["netns"] = n.netns;
        if (!n.pathspace.empty()) j["frr_pathspace"] = n.pathspace;
        if (n.kind == NodeKind::vpcs) {
            j["console_port"] = n.console_port;
            j["udp_port"] = n.udp_port;
            j["peer_port"] = n.peer_port;
            j["mac_offset"] = n.mac_offset;
            json::array pids;
            for (auto p : n.pids) pids.push_back(p);
            j["pids"] = pids;
        }
        nodes.push_back(j);
    }
    o["nodes"] = nodes;
    json::array bridges;
    for (const auto& b : r.bridges) {
        bridges.push_back(json::object{{"netns", b.netns},
                                       {"ifname", b.ifname},
                                       {"udp_port", b.udp_port},
                                       {"vpcs_port", b.vpcs_port},
                                       {"pid", b.pid}});
    }
    o["bridges"] = bridges;
    return json::serialize(o) + "\n";
}

LabRecord record_from_json(const std::string& text, const std::string& source) {
    try {
        auto v = json::parse(text);
        const auto& o = v.as_object();
        LabRecord r;
        auto str = [](const json::object& obj, const char* key) {
            auto it = obj.find(key);
            return it != obj.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                              : std::string();
        };
        auto num = [](const json::object& obj, const char* key) -> std::int64_t {
            auto it = obj.find(key);
            return it != obj.end() && it->value().is_int64() ? it->value().as_int64() : 0;
        };
        r.env = str(o, "env");
        r.topology_name = str(o, "topology_name");
        r.status = str(o, "status");
        r.owner_pid = static_cast<pid_t>(num(o, "owner_pid"));
        r.created_at = num(o, "created_at");
        r.topology_yaml = str(o, "topology");
        for (const auto& nv : o.at("nodes").as_array()) {
            const auto& j = nv.as_object();
            NodeRecord n;
            n.name = str(j, "name");
            n.kind = kind_from(str(j, "kind"));
            n.netns = str(j, "netns");
            n.pathspace = str(j, "frr_pathspace");
            n.console_port = static_cast<std::uint16_t>(num(j, "console_port"));
            n.udp_port = static_cast<std::uint16_t>(num(j, "udp_port"));
            n.peer_port = static_cast<std::uint16_t>(num(j, "peer_port"));
            n.mac_offset = static_cast<int>(num(j, "mac_offset"));
            if (auto it = j.find("pids"); it != j.end())
                for (const auto& p : it->value().as_array())
                    n.pids.push_back(static_cast<pid_t>(p.as_int64()));
            r.nodes.push_back(std::move(n));
        }
        if (auto it = o.find("bridges"); it != o.end()) {
            for (const auto& bv : it->value().as_array()) {
                const auto& j = bv.as_object();
                BridgeRecord b;
                b.netns = str(j, "netns");
                b.ifname = str(j, "ifname");
                b.udp_port = static_cast<std::uint16_t>(num(j, "udp_port"));
                b.vpcs_port = static_cast<std::uint16_t>(num(j, "vpcs_port"));
                b.pid = static_cast<pid_t>(num(j, "pid"));
                r.bridges.push_back(b);
            }
        }
        return r;
    } catch (const std::exception& e) {
        throw core::internal("lab state " + source + " is unreadable: " + e.what());
    }
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
        for (const auto& n : r.nodes) taken.insert({n.console_port, n.udp_port, n.peer_port});
        for (const auto& b : r.bridges) taken.insert({b.udp_port, b.vpcs_port});
    }
    auto pick = [&](std::uint16_t lo, std::uint16_t hi, int type, bool any, const char* what) {
        for (std::uint32_t p = lo; p <= hi; ++p) {
            auto port = static_cast<std::uint16_t>(p);
            if (taken.count(port) || !port_free(port, type, any)) continue;
            taken.insert(port);
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
        n.udp_port = pick(options_.tunnel_port_min, options_.tunnel_port_max, SOCK_DGRAM, false, "tunnel");
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
    auto report = [&](const std::string& step, int done, int total) {
        if (progress) progress(step, done, total);
    };
    const std::string yaml = to_yaml(topology);
    LabRecord record;
    {
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
                return *existing;
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
    }
    auto started = std::chrono::steady_clock::now();
    const int total = static_cast<int>(topology.nodes.size() + topology.links.size() + topology.nodes.size());
    int done = 0;
    try {
        // iproute2 in batch mode: one process per step instead of one per command (ip is ~20-40 ms a call).
        std::string namespaces;
        for (const auto& n : record.nodes)
            if (!n.netns.empty()) namespaces += "netns add " + n.netns + "\n";
        if (!namespaces.empty()) run_batch({"ip", "-batch", "-"}, namespaces);
        for (const auto& n : record.nodes)
            if (!n.netns.empty()) report("namespace " + n.netns, ++done, total);
        std::string links;
        std::map<std::string, std::string> set_up;  // namespace -> batch bringing its interfaces up
        for (const auto& n : record.nodes)
            if (!n.netns.empty()) set_up[n.netns] = "link set lo up\n";
        for (const auto& link : topology.links) {
            const Node* a = topology.find(link.a.node);
            const Node* b = topology.find(link.b.node);
            if (a->kind == NodeKind::vpcs || b->kind == NodeKind::vpcs) continue;
            auto ns_a = node_netns(env, a->name);
            auto ns_b = node_netns(env, b->name);
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
            report("link " + link.a.node + ":" + link.a.iface + " - " + link.b.node + ":" + link.b.iface,
                   ++done, total);
        auto phase = [&](const char* name) {
            log::debug("lab.up_phase", {{"env", env},
                                        {"phase", name},
                                        {"ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   std::chrono::steady_clock::now() - started)
                                                   .count()}});
        };
        phase("namespaces_and_links");
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
        std::vector<std::thread> workers;
        std::mutex error_mutex;
        std::string first_error;
        auto guarded = [&](const std::string& what, auto fn) {
            return [&, what, fn] {
                try {
                    fn();
                } catch (const std::exception& e) {
                    std::lock_guard guard(error_mutex);
                    if (first_error.empty()) first_error = what + ": " + e.what();
                }
            };
        };
        for (const auto& n : record.nodes) {
            const Node* spec = topology.find(n.name);
            const NodeRecord* node = &n;
            if (n.kind == NodeKind::frr)
                workers.emplace_back(
                    guarded("frr node " + n.name, [&, spec, node] { start_frr(record, *node, *spec); }));
            if (n.kind == NodeKind::vpcs)
                workers.emplace_back(guarded("vpcs node " + n.name, [node] {
                    vpcs_wait_startup(node->console_port, node->name, 30s);
                }));
        }
        for (const auto& n : record.nodes) {
            if (n.kind != NodeKind::linux) continue;
            const Node* spec = topology.find(n.name);
            if (spec->config.empty() && spec->exec.empty()) continue;
            // One shell per node: the config script, then the exec lines, stopping at the first failure.
            std::string script = "set -e\n" + spec->config + "\n";
            for (const auto& cmd : spec->exec) script += cmd + "\n";
            workers.emplace_back(guarded("linux node " + n.name, [netns = n.netns, script] {
                run_checked({"ip", "netns", "exec", netns, "sh", "-c", script}, 60s);
            }));
        }
        phase("bridges_and_vpcs_processes");
        for (auto& t : workers) t.join();
        phase("frr_and_vpcs_startup");
        if (!first_error.empty()) throw core::internal(first_error);
        for (const auto& n : record.nodes)
            report("node " + n.name + " (" + std::string(kind_name(n.kind)) + ")", ++done, total);
    } catch (const std::exception& e) {
        log::error("lab.up_failed", {{"env", env}, {"error", e.what()}});
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

namespace {

// `chown -R frr:frr DIR` without a process per router (the FRR daemons and vtysh run as frr and must read and
// write their folder).
void chown_to_frr(const fs::path& dir) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(4096);
    if (getpwnam_r("frr", &pw, buf.data(), buf.size(), &found) != 0 || !found)
        throw core::internal("no user frr on this host (is frr installed?)");
    auto own = [&](const fs::path& p) {
        if (lchown(p.c_str(), pw.pw_uid, pw.pw_gid) != 0)
            throw core::internal("chown " + p.string() + ": " + std::strerror(errno));
    };
    own(dir);
    for (const auto& entry : fs::recursive_directory_iterator(dir)) own(entry.path());
}

}  // namespace

void LocalRuntime::start_frr(const LabRecord& record, const NodeRecord& node, const Node& spec) {
    auto etc = options_.frr_etc / node.pathspace;
    fs::create_directories(etc);
    std::string daemons = read_file(options_.frr_etc / "daemons");
    if (daemons.empty())
        throw core::internal("cannot read " + (options_.frr_etc / "daemons").string() +
                             " (is frr installed?)");
    for (const auto& d : spec.daemons) {
        auto pos = daemons.find("\n" + d + "=no");
        if (pos != std::string::npos) daemons.replace(pos, d.size() + 4, "\n" + d + "=yes");
    }
    write_file(etc / "daemons", daemons);
    // A configuration the student saved (`write memory`) before a stop wins over the topology's.
    std::string conf = read_file(lab_dir(record.env) / "saved" / (spec.name + ".frr.conf"));
    if (conf.empty())
        conf = spec.config.empty() ? "frr defaults traditional\nhostname " + spec.name +
                                         "\nservice integrated-vtysh-config\n!\n"
                                   : spec.config;
    write_file(etc / "frr.conf", conf);
    // vtysh takes its prompt from its own config (reference/devices/README.md: `hostname` in frr.conf is not
    // applied to vtysh).
    write_file(etc / "vtysh.conf", "service integrated-vtysh-config\nhostname " + spec.name + "\n");
    chown_to_frr(etc);
    // frrinit.sh does not enter a namespace itself (reference/devices/README.md). Its own UTS namespace gives
    // the daemons the node's hostname, so `show running-config` says `hostname r1`, not the host's name.
    // Forwarding is switched on in the same shell (/proc/sys/net is the namespace's own): one `ip netns exec`
    // per router instead of three (each costs a mount namespace and a /sys remount; issue 14's profile).
    // IPv6 may be disabled on the host (ipv6.disable=1): routers then simply route IPv4 only.
    run_checked({"ip", "netns", "exec", node.netns, "unshare", "--uts", "sh", "-c",
                 "echo 1 > /proc/sys/net/ipv4/ip_forward || exit 1; "
                 "{ echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; } 2>/dev/null; "
                 "hostname \"$1\" && exec \"$2\" start \"$3\"",
                 "frr-start", spec.name, options_.frrinit, node.pathspace},
                60s);
    for (const auto& cmd : spec.exec) run_checked({"ip", "netns", "exec", node.netns, "sh", "-c", cmd}, 60s);
}

void LocalRuntime::start_vpcs(LabRecord& record, NodeRecord& node, const Node& spec) {
    auto dir = lab_dir(record.env) / "nodes" / node.name;
    fs::create_directories(dir);
    // VPCS reads startup.vpc from its working directory; the prompt follows the node name like in GNS3.
    // A configuration saved on the console (`save`) before a stop wins over the topology's.
    std::string saved = read_file(lab_dir(record.env) / "saved" / (node.name + ".vpc"));
    write_file(dir / "startup.vpc",
               "set pcname " + node.name + "\n" + (saved.empty() ? spec.config : saved) + "\n");
    guard_console(node.console_port);  // before VPCS opens it: no window where it is reachable
    auto r = run_command({"vpcs", "-i", "1", "-p", std::to_string(node.console_port), "-m",
                          std::to_string(node.mac_offset), "-s", std::to_string(node.udp_port), "-c",
                          std::to_string(node.peer_port), "-t", "127.0.0.1", "startup.vpc"},
                         10s, {}, dir);
    (void)
        r;  // VPCS 0.5b2 forks into the background with -p; its exit status says nothing. Check the console.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!tcp_accepts(node.console_port)) {
        if (std::chrono::steady_clock::now() > deadline)
            throw core::internal("vpcs node " + node.name + " did not open its console on port " +
                                 std::to_string(node.console_port) + ": " + r.output);
        std::this_thread::sleep_for(20ms);
    }
    node.pids = pids_with_cwd_under(dir);
}

void LocalRuntime::start_bridge(LabRecord& record, BridgeRecord& bridge) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) throw core::internal("pipe failed");
    auto dir = lab_dir(record.env);
    try {
        bridge.pid =
            spawn_detached({helper_path(options_), "lab", "_bridge", "--netns", bridge.netns, "--ifname",
                            bridge.ifname, "--listen", std::to_string(bridge.udp_port), "--peer",
                            std::to_string(bridge.vpcs_port), "--ready-fd", std::to_string(ready[1])},
                           dir, dir / ("bridge-" + bridge.netns + "-" + bridge.ifname + ".log"), ready[1]);
    } catch (...) {
        close(ready[0]);
        close(ready[1]);
        throw;
    }
    close(ready[1]);
    std::string answer;
    pollfd p{ready[0], POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + 5s;
    char buf[256];
    while (answer.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        if (poll(&p, 1, 100) > 0) {
            auto n = ::read(ready[0], buf, sizeof buf);
            if (n <= 0) break;
            answer.append(buf, static_cast<std::size_t>(n));
        }
    }
    close(ready[0]);
    if (answer.rfind("ok", 0) != 0)
        throw core::internal("TAP bridge for " + bridge.netns + ":" + bridge.ifname +
                             " failed: " + (answer.empty() ? std::string("no answer") : answer));
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
