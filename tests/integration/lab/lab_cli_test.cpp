// Local labs end to end, as a teacher and a student use them: `netpraxis lab up/exec/ls/down` against real
// namespaces, FRR and VPCS. Each test works under its own environment names ("it<random>-...") and state
// folder, and its fixture removes everything it made even when an assertion fails.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "core/ids.hpp"
#include "lab/local/process.hpp"
#include "lab/local/runtime.hpp"

namespace np::lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kBinary = NETPRAXIS_BINARY;
const std::string kExamples = std::string(NETPRAXIS_SOURCE_DIR) + "/examples/labs/";

bool tools_present() {
    return geteuid() == 0 && access("/usr/lib/frr/frrinit.sh", X_OK) == 0 &&
           access("/usr/bin/vpcs", X_OK) == 0;
}

class LabCli : public ::testing::Test {
 protected:
    void SetUp() override {
        if (!tools_present()) GTEST_SKIP() << "needs root, frr and vpcs (scripts/packages/test-lab.txt)";
        prefix_ = "it" + core::random_hex(3);
        state_dir_ = fs::temp_directory_path() / ("np-labs-" + prefix_);
        fs::create_directories(state_dir_);
        // A port window of our own, away from other suites' ports (the allocator also checks by binding).
        std::mt19937 rng(std::random_device{}());
        base_ = 21000 + static_cast<int>(rng() % 400) * 100;
        const int base = base_;
        env_ = {"NETPRAXIS_LAB__CONSOLE_PORT_MIN=" + std::to_string(base),
                "NETPRAXIS_LAB__CONSOLE_PORT_MAX=" + std::to_string(base + 49),
                "NETPRAXIS_LAB__TUNNEL_PORT_MIN=" + std::to_string(base + 50),
                "NETPRAXIS_LAB__TUNNEL_PORT_MAX=" + std::to_string(base + 99)};
    }

    void TearDown() override {
        if (state_dir_.empty()) return;
        for (const auto& env : envs_) netpraxis({"lab", "down", env});
        // Belt and braces: whatever a failed test left under our prefix.
        RuntimeOptions options;
        options.state_dir = state_dir_;
        LocalRuntime runtime(options);
        for (const auto& env : envs_) {
            try {
                runtime.down(env);
            } catch (const std::exception&) {
            }
        }
        std::error_code ec;
        fs::remove_all(state_dir_, ec);
    }

    RuntimeOptions runtime_options() const {
        RuntimeOptions o;
        o.state_dir = state_dir_;
        o.helper_binary = kBinary;
        o.console_port_min = static_cast<std::uint16_t>(base_);
        o.console_port_max = static_cast<std::uint16_t>(base_ + 49);
        o.tunnel_port_min = static_cast<std::uint16_t>(base_ + 50);
        o.tunnel_port_max = static_cast<std::uint16_t>(base_ + 99);
        return o;
    }

    std::string env(const std::string& name) {
        auto e = prefix_ + "-" + name;
        envs_.push_back(e);
        return e;
    }

    CommandResult netpraxis(std::vector<std::string> args, std::chrono::milliseconds timeout = 120s) {
        std::vector<std::string> argv = {"env"};
        argv.insert(argv.end(), env_.begin(), env_.end());
        argv.push_back(kBinary);
        argv.push_back("--log-level");
        argv.push_back("warn");
        argv.push_back(args.at(0));  // "lab"; --state-dir is an option of `lab`
        argv.push_back("--state-dir");
        argv.push_back(state_dir_.string());
        argv.insert(argv.end(), args.begin() + 1, args.end());
        return run_command(argv, timeout);
    }

    // Runs until `ok` or the deadline; OSPF needs time (hello/dead timers, DR wait on broadcast links).
    bool eventually(const std::function<bool()>& ok, std::chrono::seconds limit) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            if (ok()) return true;
            std::this_thread::sleep_for(1s);
        }
        return ok();
    }

    std::vector<std::string> namespaces_of(const std::string& env) {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator("/var/run/netns", ec))
            if (e.path().filename().string().rfind(env + "_", 0) == 0) out.push_back(e.path().filename());
        return out;
    }

    // Processes that mention the env in their command line (watchfrr/zebra -N env_r1, the bridges) or run
    // in its state folder (VPCS).
    std::vector<std::string> processes_of(const std::string& env) {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator("/proc", ec)) {
            auto pid = e.path().filename().string();
            if (pid.find_first_not_of("0123456789") != std::string::npos || pid == std::to_string(getpid()))
                continue;
            std::ifstream in(e.path() / "cmdline");
            std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            for (auto& c : cmd)
                if (c == '\0') c = ' ';
            if (cmd.empty()) continue;  // kernel threads, zombies
            std::error_code cwd_ec;
            auto cwd = fs::read_symlink(e.path() / "cwd", cwd_ec).string();
            if (cmd.find(env + "_") != std::string::npos ||
                cmd.find("--netns " + env + "_") != std::string::npos ||
                (!cwd_ec && cwd.rfind((state_dir_ / env).string(), 0) == 0))
                out.push_back(pid + ": " + cmd);
        }
        return out;
    }

    void expect_nothing_left(const std::string& env) {
        EXPECT_TRUE(namespaces_of(env).empty()) << "namespaces left: " << namespaces_of(env).size();
        auto procs = processes_of(env);
        EXPECT_TRUE(procs.empty()) << "processes left, first: " << (procs.empty() ? "" : procs[0]);
        EXPECT_FALSE(fs::exists(state_dir_ / env)) << "state folder left";
        std::error_code ec;
        for (const auto& base : {"/etc/frr", "/var/run/frr"})
            for (const auto& e : fs::directory_iterator(base, ec))
                EXPECT_NE(e.path().filename().string().rfind(env + "_", 0), 0u) << "left: " << e.path();
        // Links: the lab makes none in the host namespace; nothing in `ip link` may carry its name.
        auto links = run_command({"ip", "-o", "link"}).output;
        EXPECT_EQ(links.find(env), std::string::npos) << links;
        auto ls = netpraxis({"lab", "ls", "--json"});
        EXPECT_EQ(ls.output.find("\"" + env + "\""), std::string::npos) << ls.output;
    }

    std::string vtysh(const std::string& env, const std::string& node,
                      const std::vector<std::string>& commands) {
        std::vector<std::string> args = {"lab", "exec", env, node, "--", "vtysh"};
        for (const auto& c : commands) {
            args.push_back("-c");
            args.push_back(c);
        }
        auto r = netpraxis(args);
        EXPECT_EQ(r.status, 0) << r.output;
        return r.output;
    }

    // Configures the example topology's routers the way a student would, through vtysh.
    void configure_ospf(const std::string& env) {
        for (int r = 1; r <= 2; ++r) {
            auto id = std::to_string(r);
            vtysh(env, "r" + id,
                  {"configure terminal", "interface eth1", "ip address 192.168." + id + ".1/24", "exit",
                   "interface eth2", "ip address 10.12.0." + id + "/30",
                   // Point-to-point on the router link: no 40 s DR wait (reference/devices/README.md).
                   "ip ospf network point-to-point", "exit", "router ospf",
                   "ospf router-id " + id + "." + id + "." + id + "." + id, "network 10.12.0.0/30 area 0",
                   "network 192.168." + id + ".0/24 area 0", "end"});
        }
    }

    fs::path state_dir_;
    std::string prefix_;
    std::vector<std::string> envs_;
    std::vector<std::string> env_;
    int base_ = 0;
};

TEST_F(LabCli, TwoRoutersTwoHostsPingThroughOspfAndDownLeavesNothing) {
    auto e = env("ospf");
    auto up = netpraxis({"lab", "up", kExamples + "ospf-two-lans.yaml", "--name", e});
    ASSERT_EQ(up.status, 0) << up.output;
    EXPECT_EQ(namespaces_of(e).size(), 4u);
    // Before OSPF is configured h1 cannot reach h2.
    EXPECT_NE(netpraxis({"lab", "exec", e, "h1", "--", "ping", "-c", "1", "-W", "1", "192.168.2.10"}).status,
              0);
    configure_ospf(e);
    bool reached = eventually(
        [&] {
            return netpraxis({"lab", "exec", e, "h1", "--", "ping", "-c", "1", "-W", "1", "192.168.2.10"})
                       .status == 0;
        },
        90s);
    ASSERT_TRUE(reached) << vtysh(e, "r1", {"show ip ospf neighbor", "show ip route"});
    // Through OSPF-learned routes, not static ones.
    EXPECT_NE(vtysh(e, "r1", {"show ip route"}).find("O>* 192.168.2.0/24"), std::string::npos);
    EXPECT_NE(vtysh(e, "r2", {"show ip route"}).find("O>* 192.168.1.0/24"), std::string::npos);
    auto kernel = netpraxis({"lab", "exec", e, "r1", "--", "ip", "route"});
    EXPECT_NE(kernel.output.find("192.168.2.0/24"), std::string::npos);
    EXPECT_NE(kernel.output.find("proto ospf"), std::string::npos) << kernel.output;
    auto ping = netpraxis({"lab", "exec", e, "h2", "--", "ping", "-c", "3", "-W", "1", "192.168.1.10"});
    EXPECT_EQ(ping.status, 0) << ping.output;
    EXPECT_NE(ping.output.find("3 received"), std::string::npos) << ping.output;

    auto ls = netpraxis({"lab", "ls", "--json"});
    auto labs = boost::json::parse(ls.output).as_array();
    ASSERT_EQ(labs.size(), 1u);
    EXPECT_EQ(labs[0].at("health").as_string(), "running");

    auto down = netpraxis({"lab", "down", e});
    ASSERT_EQ(down.status, 0) << down.output;
    expect_nothing_left(e);
    // down of a lab that is gone says so.
    auto again = netpraxis({"lab", "down", e});
    EXPECT_NE(again.status, 0);
    EXPECT_NE(again.output.find("no local lab"), std::string::npos) << again.output;
}

TEST_F(LabCli, TwoCopiesOfOneTopologyRunSideBySide) {
    auto a = env("a");
    auto b = env("b");
    ASSERT_EQ(netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", a}).status, 0);
    auto up_b = netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", b});
    ASSERT_EQ(up_b.status, 0) << up_b.output;
    // Same addresses in both copies; each copy reaches its own far host.
    for (const auto& e : {a, b}) {
        auto ping = netpraxis({"lab", "exec", e, "h1", "--", "ping", "-c", "2", "-W", "2", "192.168.2.10"});
        EXPECT_EQ(ping.status, 0) << e << ": " << ping.output;
    }
    // Separate FRR instances: a change in copy a is not seen in copy b.
    vtysh(a, "r1", {"configure terminal", "ip route 10.99.0.0/16 Null0", "end"});
    EXPECT_NE(vtysh(a, "r1", {"show ip route static"}).find("10.99.0.0/16"), std::string::npos);
    EXPECT_EQ(vtysh(b, "r1", {"show ip route static"}).find("10.99.0.0/16"), std::string::npos);
    // up is idempotent.
    auto again = netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", a, "--json"});
    ASSERT_EQ(again.status, 0) << again.output;
    EXPECT_NE(vtysh(a, "r1", {"show ip route static"}).find("10.99.0.0/16"), std::string::npos)
        << "a second up must leave the running lab alone";
    ASSERT_EQ(netpraxis({"lab", "down", a}).status, 0);
    expect_nothing_left(a);
    EXPECT_EQ(netpraxis({"lab", "exec", b, "h1", "--", "ping", "-c", "1", "-W", "2", "192.168.2.10"}).status,
              0)
        << "copy b must survive copy a's down";
    ASSERT_EQ(netpraxis({"lab", "down", b}).status, 0);
    expect_nothing_left(b);
}

TEST_F(LabCli, LabWhoseNetpraxisWasKilledIsCleanedByALaterDown) {
    auto e = env("killed");
    std::vector<std::string> argv = {"env"};
    argv.insert(argv.end(), env_.begin(), env_.end());
    for (const auto& a : {kBinary, std::string("lab"), std::string("--state-dir"), state_dir_.string(),
                          std::string("up"), kExamples + "vpcs-router.yaml", std::string("--name"), e})
        argv.push_back(a);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        execvp(args[0], args.data());
        _exit(127);
    }
    // Kill it once it has made something: its state and at least one namespace.
    bool made = eventually(
        [&] { return fs::exists(state_dir_ / e / "state.json") && !namespaces_of(e).empty(); }, 30s);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    ASSERT_TRUE(made);
    auto ls = netpraxis({"lab", "ls", "--json"});
    EXPECT_NE(ls.output.find("\"degraded\""), std::string::npos) << ls.output;
    // A later `up` converges (removes the leftovers and starts afresh) ...
    auto up = netpraxis({"lab", "up", kExamples + "vpcs-router.yaml", "--name", e});
    ASSERT_EQ(up.status, 0) << up.output;
    auto ping = netpraxis({"lab", "exec", e, "pc1", "--", "ping", "10.0.2.10", "-c", "2"});
    EXPECT_NE(ping.output.find("icmp_seq=2 ttl=63"), std::string::npos) << ping.output;
    // ... and `down` removes everything.
    auto down = netpraxis({"lab", "down", e});
    ASSERT_EQ(down.status, 0) << down.output;
    expect_nothing_left(e);
}

TEST_F(LabCli, VpcsPcsReachEachOtherThroughTheRouter) {
    auto e = env("vpcs");
    auto up = netpraxis({"lab", "up", kExamples + "vpcs-router.yaml", "--name", e, "--json"});
    ASSERT_EQ(up.status, 0) << up.output;
    auto lab = boost::json::parse(up.output).as_object();
    int consoles = 0;
    for (const auto& n : lab.at("nodes").as_array())
        if (n.at("kind").as_string() == "vpcs") {
            EXPECT_EQ(n.at("transport").as_string(), "telnet");
            ++consoles;
        }
    EXPECT_EQ(consoles, 2);
    auto show = netpraxis({"lab", "exec", e, "pc1", "--", "show", "ip"});
    EXPECT_NE(show.output.find("10.0.1.10/24"), std::string::npos) << show.output;
    auto ping = netpraxis({"lab", "exec", e, "pc1", "--", "ping", "10.0.2.10", "-c", "3"});
    EXPECT_NE(ping.output.find("10.0.2.10 icmp_seq=3 ttl=63"), std::string::npos) << ping.output;
    // The router sees the PCs' MACs (00:50:79:66:68:NN) on its TAP interfaces.
    auto neigh = netpraxis({"lab", "exec", e, "r1", "--", "ip", "neigh"});
    EXPECT_NE(neigh.output.find("00:50:79:66:68"), std::string::npos) << neigh.output;
    ASSERT_EQ(netpraxis({"lab", "down", e}).status, 0);
    expect_nothing_left(e);
}

TEST_F(LabCli, VpcsConsolesAnswerOnlyOnThisHost) {
    if (access("/usr/sbin/nft", X_OK) != 0) GTEST_SKIP() << "needs nftables (scripts/packages/run-lab.txt)";
    auto e = env("guard");
    auto up = netpraxis({"lab", "up", kExamples + "vpcs-router.yaml", "--name", e, "--json"});
    ASSERT_EQ(up.status, 0) << up.output;
    std::vector<std::string> ports;
    auto lab = boost::json::parse(up.output);  // (a temporary would die before the loop body)
    for (const auto& n : lab.at("nodes").as_array())
        if (n.at("kind").as_string() == "vpcs")
            ports.push_back(std::to_string(n.at("port").to_number<std::int64_t>()));
    ASSERT_EQ(ports.size(), 2u);
    // Another "host": a namespace of ours joined to this one by a veth pair.
    const std::string ns = prefix_ + "_remote", here = prefix_.substr(0, 8) + "h",
                      there = prefix_.substr(0, 8) + "r";
    auto sh = [](const std::string& cmd) { return run_command({"sh", "-c", cmd}, 20s); };
    struct RemoveNs {  // even when an assertion below fails
        std::string name;
        ~RemoveNs() { run_command({"ip", "netns", "del", name}); }
    } remove_ns{ns};
    ASSERT_EQ(sh("ip netns add " + ns + " && ip link add " + here + " type veth peer name " + there +
                 " && ip link set " + there + " netns " + ns + " && ip addr add 10.251.7.1/30 dev " + here +
                 " && ip link set " + here + " up && ip -n " + ns + " addr add 10.251.7.2/30 dev " + there +
                 " && ip -n " + ns + " link set " + there + " up")
                  .status,
              0);
    auto connects = [&](const std::string& where, const std::string& host, const std::string& port) {
        std::string cmd = "timeout 3 bash -c 'exec 3<>/dev/tcp/" + host + "/" + port + "'";
        if (!where.empty()) cmd = "ip netns exec " + where + " " + cmd;
        return sh(cmd).status == 0;
    };
    // A port that is not a console is reachable from the other host (the path works) ...
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ASSERT_EQ(bind(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(probe, 4), 0);
    socklen_t len = sizeof addr;
    getsockname(probe, reinterpret_cast<sockaddr*>(&addr), &len);
    EXPECT_TRUE(connects(ns, "10.251.7.1", std::to_string(ntohs(addr.sin_port))));
    close(probe);
    // ... the consoles are not, though they answer on this host.
    for (const auto& port : ports) {
        EXPECT_TRUE(connects("", "127.0.0.1", port)) << port;
        EXPECT_FALSE(connects(ns, "10.251.7.1", port))
            << "console " << port << " reachable from another host";
    }
    ASSERT_EQ(netpraxis({"lab", "down", e}).status, 0);
    auto set = run_command({"nft", "list", "set", "inet", "netpraxis", "vpcs_consoles"}).output;
    for (const auto& port : ports) EXPECT_EQ(set.find(port), std::string::npos) << "still guarded: " << set;
    expect_nothing_left(e);
}

TEST_F(LabCli, BadTopologyFilesGetTheirErrors) {
    auto file = state_dir_ / "bad.yaml";
    std::ofstream(file)
        << "name: bad\nnodes:\n  r1: {kind: router}\nlinks:\n  - endpoints: [\"r1:eth1\", \"r9:eth1\"]\n";
    auto r = netpraxis({"lab", "up", file.string(), "--name", env("bad")});
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("nodes.r1.kind: line 3: unknown kind 'router'"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("links[0].endpoints[1]: line 5: unknown node 'r9'"), std::string::npos)
        << r.output;
    EXPECT_TRUE(namespaces_of(prefix_ + "-bad").empty());
}

TEST_F(LabCli, HostCapsRefuseBeforeMakingAnything) {
    env_.push_back("NETPRAXIS_LAB__MAX_LABS=1");
    auto a = env("capa");
    auto b = env("capb");
    ASSERT_EQ(netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", a}).status, 0);
    auto refused = netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", b});
    EXPECT_NE(refused.status, 0);
    EXPECT_NE(refused.output.find("host lab cap reached"), std::string::npos) << refused.output;
    EXPECT_TRUE(namespaces_of(b).empty());
    env_.back() = "NETPRAXIS_LAB__MAX_NODES=5";  // a runs 4 nodes; b needs 4 more
    refused = netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", b});
    EXPECT_NE(refused.output.find("host node cap reached"), std::string::npos) << refused.output;
    EXPECT_TRUE(namespaces_of(b).empty());
}

}  // namespace
}  // namespace np::lab

namespace np::lab {
namespace {

TEST_F(LabCli, ReconcilerCleansALabInterruptedWhileBeingCreated) {
    auto e = env("rec");
    // A record left by a process that died mid-`up`, and the namespace it had made.
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, nullptr, 0);
    LabRecord record;
    record.env = e;
    record.topology_name = "t";
    record.status = "creating";
    record.owner_pid = dead;
    record.nodes.push_back({"h1", NodeKind::linux, e + "_h1", "", 0, 0, 0, 0, {}});
    fs::create_directories(state_dir_ / e);
    std::ofstream(state_dir_ / e / "state.json") << record_to_json(record);
    ASSERT_EQ(run_command({"ip", "netns", "add", e + "_h1"}).status, 0);
    // A running lab next to it must be left alone.
    auto keep = env("keep");
    ASSERT_EQ(netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", keep}).status, 0);

    RuntimeOptions options;
    options.state_dir = state_dir_;
    LocalRuntime runtime(options);
    EXPECT_EQ(runtime.observe(e).state, EnvState::degraded);
    auto cleaned = runtime.reconcile();
    EXPECT_EQ(cleaned, std::vector<std::string>{e});
    expect_nothing_left(e);
    EXPECT_EQ(runtime.observe(keep).state, EnvState::running);
}

TEST_F(LabCli, UpRefusesAnotherTopologyUnderARunningName) {
    auto e = env("same");
    ASSERT_EQ(netpraxis({"lab", "up", kExamples + "static-two-lans.yaml", "--name", e}).status, 0);
    auto r = netpraxis({"lab", "up", kExamples + "ospf-two-lans.yaml", "--name", e});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("already holds topology 'static-two-lans'"), std::string::npos) << r.output;
    EXPECT_EQ(netpraxis({"lab", "exec", e, "h1", "--", "ping", "-c", "1", "-W", "2", "192.168.2.10"}).status,
              0);
}

// A tunnel port chosen free can be bound by another program before our VPCS or bridge binds it (another
// server on this host, with its own state folder, planning at the same moment: the CI flake of
// Console.StudentAndWatcherShareTheDeviceAndGradingPausesThem, whose PC answered another lab's ARP). The test
// is that other program: once a start is planned, it binds the bridge's port (first try), then the first
// PC's tunnel port (second try). The start finds each, undoes itself, plans again on free ports, and the
// third try's links carry traffic.
TEST_F(LabCli, TunnelPortsTakenAfterPlanningArePlannedAgainAndTheLinksWork) {
    auto e = env("taken");
    auto topology = parse_topology(R"(name: taken
nodes:
  pc1: {kind: vpcs, config: "ip 10.0.0.1/24\n"}
  pc2: {kind: vpcs, config: "ip 10.0.0.2/24\n"}
  pc3: {kind: vpcs, config: "ip 10.0.3.10/24\n"}
  h1: {kind: linux, exec: ["ip addr add 10.0.3.1/24 dev eth1"]}
links:
  - endpoints: ["pc1:eth0", "pc2:eth0"]
  - endpoints: ["pc3:eth0", "h1:eth1"]
)");
    LocalRuntime runtime(runtime_options());
    std::vector<int> held;  // the other program's sockets, open until the end
    std::set<std::uint16_t> taken_ports;
    std::string last_plan;
    int tries = 0;
    auto hold = [&](std::uint16_t port, in_addr_t address) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(address);
        EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << "port " << port;
        held.push_back(fd);
        taken_ports.insert(port);
    };
    auto record = runtime.up(topology, e, [&](const std::string&, int, int) {
        auto planned = runtime.read(e);
        if (!planned || planned->bridges.empty()) return;
        std::string plan = std::to_string(planned->bridges[0].udp_port);
        for (const auto& n : planned->nodes) plan += "," + std::to_string(n.udp_port);
        if (plan == last_plan) return;  // a later step of the same try
        last_plan = plan;
        ++tries;
        if (tries == 1) hold(planned->bridges[0].udp_port, INADDR_LOOPBACK);
        if (tries == 2) hold(planned->find("pc1")->udp_port, INADDR_ANY);
    });
    for (int fd : held) close(fd);
    EXPECT_EQ(tries, 3);
    EXPECT_EQ(record.status, "running");
    EXPECT_EQ(taken_ports.count(record.bridges.at(0).udp_port), 0u);
    EXPECT_EQ(taken_ports.count(record.find("pc1")->udp_port), 0u);
    // Both links carry traffic: VPCS to VPCS, and VPCS to a namespace through the bridge.
    auto ping = netpraxis({"lab", "exec", e, "pc1", "--", "ping", "10.0.0.2", "-c", "2"});
    EXPECT_NE(ping.output.find("10.0.0.2 icmp_seq=2"), std::string::npos) << ping.output;
    ping = netpraxis({"lab", "exec", e, "pc3", "--", "ping", "10.0.3.1", "-c", "2"});
    EXPECT_NE(ping.output.find("10.0.3.1 icmp_seq=2"), std::string::npos) << ping.output;
    ASSERT_EQ(netpraxis({"lab", "down", e}).status, 0);
    expect_nothing_left(e);
}

}  // namespace
}  // namespace np::lab
