// LocalRuntime's node starters (issue 16 split of runtime.cpp): an FRR instance in its pathspace, a VPCS
// process with its startup script, a TAP-to-UDP bridge helper.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"
#include "lab/local/console_guard.hpp"
#include "lab/local/host.hpp"
#include "lab/local/process.hpp"
#include "lab/local/runtime.hpp"

namespace np::lab {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace host;

namespace {

std::string helper_path(const RuntimeOptions& o) {
    if (!o.helper_binary.empty()) return o.helper_binary;
    std::error_code ec;
    auto self = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw core::internal("cannot find the netpraxis binary for the TAP bridge helper");
    return self.string();
}

}  // namespace

// The router's daemons are started here, not by frrinit.sh (issue 14's profile: per router, frrinit.sh and
// watchfrr.sh are two bash scripts with a dozen helper processes, and `vtysh -b` then loads the whole CLI
// only to replay frr.conf: about 90 ms of CPU of the 220 a router took). Each daemon reads the integrated
// frr.conf itself with `-f` (without `-f` a daemon that finds frr.conf skips its own config and waits for
// `vtysh -b`), zebra first (the others connect to it), then watchfrr, which finds them all up and only
// watches. A daemon that dies is restarted by watchfrr as before (`watchfrr.sh restart D`: the daemons file's
// options, then `vtysh -b -d D`), so the copied daemons file stays the one source of each daemon's options.
//
// frrinit.sh does not enter a namespace itself (reference/devices/README.md). Its own UTS namespace gives the
// daemons the node's hostname, so `show running-config` says `hostname r1`, not the host's name. Forwarding
// is switched on in the same shell (/proc/sys/net is the namespace's own): one `ip netns exec` per router
// (each costs a mount namespace and a /sys remount). IPv6 may be disabled on the host (ipv6.disable=1):
// routers then simply route IPv4 only.
std::vector<std::string> LocalRuntime::frr_start_argv(const NodeRecord& node, const Node& spec) const {
    const std::string script =
        "echo 1 > /proc/sys/net/ipv4/ip_forward || exit 1\n"
        "{ echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; } 2>/dev/null\n"
        "hostname \"$1\" || exit 1\n"
        "D=$2 N=$3 C=$4\n"
        "shift 4\n"
        ". \"$C/daemons\" || exit 1\n"  // what frrcommon.sh reads: <daemon>_options, frr_global_options...
        "[ -z \"$MAX_FDS\" ] || ulimit -n \"$MAX_FDS\" 2>/dev/null\n"
        "G=\"$frr_global_options -F ${frr_profile:-traditional}\"\n"
        "for d in \"$@\"; do\n"
        "  eval \"o=\\$${d}_options\"\n"
        "  \"$D/$d\" -N \"$N\" -d $G $o -f \"$C/frr.conf\" || { echo \"FRR's $d did not start\"; exit 1; }\n"
        "done\n"
        "exec \"$D/watchfrr\" -N \"$N\" -d $G $watchfrr_options \"$@\"\n";
    std::vector<std::string> argv = {"ip",           "netns",
                                     "exec",         node.netns,
                                     "unshare",      "--uts",
                                     "sh",           "-c",
                                     script,         "frr-start",
                                     spec.name,      fs::path(options_.frrinit).parent_path().string(),
                                     node.pathspace, (options_.frr_etc / node.pathspace).string()};
    // zebra and staticd always run (frrcommon.sh's rule), the others when the topology asks; in
    // frrcommon.sh's order.
    for (const char* d :
         {"zebra", "bgpd",  "ripd",   "ripngd", "ospfd", "ospf6d",  "isisd", "babeld",  "pimd",  "pim6d",
          "ldpd",  "nhrpd", "eigrpd", "sharpd", "pbrd",  "staticd", "bfdd",  "fabricd", "vrrpd", "pathd"})
        if (std::string_view(d) == "zebra" || std::string_view(d) == "staticd" ||
            std::find(spec.daemons.begin(), spec.daemons.end(), d) != spec.daemons.end())
            argv.emplace_back(d);
    return argv;
}

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
    // The run folder frrcommon.sh would make (install -d, then chmod gu+x): frr's, 0750.
    auto run = options_.frr_run / node.pathspace;
    fs::create_directories(run);
    fs::permissions(run, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
    chown_to_frr(run);
    run_checked(frr_start_argv(node, spec), 60s);
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
    // The console port was free when the lab was planned, but another program (another server's lab, on a
    // shared host) may bind it before VPCS does; VPCS then exits ("Daemon bind port: Address already in use")
    // while the other program answers on the port. So the wait is for OUR VPCS listening, and a port taken
    // meanwhile is replaced (issue 14's flake: a lab "running" with no VPCS process).
    for (int attempt = 1;; ++attempt) {
        if (attempt > 1) {
            unguard_console(node.console_port);
            node.console_port = fresh_console_port(record);
        }
        guard_console(node.console_port);  // before VPCS opens it: no window where it is reachable
        auto r = run_command({"vpcs", "-i", "1", "-p", std::to_string(node.console_port), "-m",
                              std::to_string(node.mac_offset), "-s", std::to_string(node.udp_port), "-c",
                              std::to_string(node.peer_port), "-t", "127.0.0.1", "startup.vpc"},
                             10s, {}, dir);
        // VPCS 0.5b2 forks into the background with -p; its exit status says nothing. Check the console, and
        // its tunnel: a VPCS that could not bind its UDP ports runs on, console up, cut off from its link.
        auto deadline = std::chrono::steady_clock::now() + 5s;
        bool console = false, tunnel = false;
        for (;;) {
            node.pids = pids_with_cwd_under(dir);
            console = listens_on(node.pids, node.console_port);
            tunnel =
                holds_udp_port(node.pids, node.udp_port) &&
                holds_udp_port(node.pids, static_cast<std::uint16_t>(node.udp_port + kVpcsSecondUdpOffset));
            if (console && tunnel) return;
            if (node.pids.empty() || std::chrono::steady_clock::now() > deadline) break;
            std::this_thread::sleep_for(20ms);
        }
        terminate_pids(node.pids);
        if (console)
            throw TunnelPortTaken("vpcs node " + node.name + " could not bind its UDP tunnel ports " +
                                  std::to_string(node.udp_port) + " and " +
                                  std::to_string(node.udp_port + kVpcsSecondUdpOffset) +
                                  ": another program holds one");
        bool taken = tcp_accepts(node.console_port);
        if (!taken || attempt == 3)
            throw core::internal("vpcs node " + node.name + " did not open its console on port " +
                                 std::to_string(node.console_port) +
                                 (taken ? " (another program holds it)" : "") + ": " + r.output);
        log::warn("lab.console_port_taken", {{"node", node.name}, {"port", node.console_port}});
    }
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
    if (answer.find("Address already in use") != std::string::npos)
        throw TunnelPortTaken("the TAP bridge for " + bridge.netns + ":" + bridge.ifname +
                              " could not bind " + std::to_string(bridge.udp_port) +
                              ": another program holds it");
    if (answer.rfind("ok", 0) != 0)
        throw core::internal("TAP bridge for " + bridge.netns + ":" + bridge.ifname +
                             " failed: " + (answer.empty() ? std::string("no answer") : answer));
}

}  // namespace np::lab
