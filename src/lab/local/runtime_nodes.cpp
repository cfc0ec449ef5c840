// LocalRuntime's node starters (issue 16 split of runtime.cpp): an FRR instance in its pathspace, a VPCS
// process with its startup script, a TAP-to-UDP bridge helper.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/error.hpp"
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
    const std::string start_script =
        "echo 1 > /proc/sys/net/ipv4/ip_forward || exit 1; "
        "{ echo 1 > /proc/sys/net/ipv6/conf/all/forwarding; } 2>/dev/null; "
        "hostname \"$1\" && exec \"$2\" start \"$3\"";
    run_checked({"ip", "netns", "exec", node.netns, "unshare", "--uts", "sh", "-c", start_script, "frr-start",
                 spec.name, options_.frrinit, node.pathspace},
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

}  // namespace np::lab
