// How LocalRuntime starts a lab's processes (issue 14): FRR daemons started directly, each reading the
// integrated frr.conf with -f (no frrinit.sh, no `vtysh -b`), still restarted by watchfrr with their config
// (the topology's and what a student saved); a VPCS console port that another program takes between planning
// and starting is replaced instead of leaving a lab "running" without its VPCS.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "core/ids.hpp"
#include "lab/local/host.hpp"
#include "lab/local/process.hpp"
#include "lab/local/runtime.hpp"

namespace np::lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kTopology = R"(name: frr-start
nodes:
  r1:
    kind: frr
    config: |
      frr defaults traditional
      interface eth1
       ip address 10.61.0.1/24
      ip route 10.66.0.0/16 Null0
  h1: {kind: linux, exec: ["ip addr add 10.61.0.10/24 dev eth1"]}
  pc1: {kind: vpcs, config: "ip 10.62.0.10/24 10.62.0.1\n"}
links:
  - endpoints: ["h1:eth1", "r1:eth1"]
  - endpoints: ["pc1:eth0", "r1:eth2"]
)";

class FrrStart : public ::testing::Test {
 protected:
    void SetUp() override {
        if (geteuid() != 0 || access("/usr/lib/frr/watchfrr", X_OK) != 0 ||
            access("/usr/bin/vpcs", X_OK) != 0)
            GTEST_SKIP() << "needs root, frr and vpcs";
        env_ = "ifs" + core::random_hex(3);
        options_.state_dir = fs::temp_directory_path() / ("np-frrstart-" + env_);
        options_.helper_binary = NETPRAXIS_BINARY;
        std::mt19937 rng(std::random_device{}());
        auto base = static_cast<std::uint16_t>(31000 + (rng() % 300) * 100);
        options_.console_port_min = base;
        options_.console_port_max = static_cast<std::uint16_t>(base + 49);
        options_.tunnel_port_min = static_cast<std::uint16_t>(base + 50);
        options_.tunnel_port_max = static_cast<std::uint16_t>(base + 99);
    }
    void TearDown() override {
        if (env_.empty()) return;
        try {
            LocalRuntime(options_).down(env_);
        } catch (const std::exception&) {
        }
        fs::remove_all(options_.state_dir);
    }
    std::string vtysh(const std::vector<std::string>& commands) {
        std::vector<std::string> argv = {"vtysh", "-N", env_ + "_r1"};
        for (const auto& c : commands) argv.insert(argv.end(), {"-c", c});
        return run_command(argv).output;
    }
    pid_t daemon_pid(const std::string& daemon) {
        auto text = host::read_file(fs::path("/var/run/frr") / (env_ + "_r1") / (daemon + ".pid"));
        return text.empty() ? 0 : static_cast<pid_t>(std::atol(text.c_str()));
    }
    // Polls `show ip route static` (up to 60 s) until it holds every one of `prefixes`.
    bool static_routes_show(const std::vector<std::string>& prefixes) {
        auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline) {
            auto out = vtysh({"show ip route static"});
            bool all = true;
            for (const auto& p : prefixes) all = all && out.find(p) != std::string::npos;
            if (all) return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    }

    std::string env_;
    RuntimeOptions options_;
};

TEST_F(FrrStart, DaemonsReadTheirConfigAndWatchfrrRestartsThemWithIt) {
    LocalRuntime runtime(options_);
    runtime.up(parse_topology(kTopology, "frr-start.yaml"), env_);
    // The topology's config reached zebra (address, hostname) and staticd (route) without `vtysh -b`.
    EXPECT_TRUE(static_routes_show({"10.66.0.0/16"})) << vtysh({"show ip route"});
    auto running = vtysh({"show running-config"});
    EXPECT_NE(running.find("hostname r1"), std::string::npos) << running;
    EXPECT_NE(running.find("ip address 10.61.0.1/24"), std::string::npos) << running;
    // Only the daemons a static-routing router needs, watchfrr watching them, and the TAP bridge to pc1
    // (`netpraxis lab _bridge`, which holds its TAP inside r1's namespace); no script left running.
    std::set<std::string> comms;
    for (auto pid : host::pids_in_namespaces({env_ + "_r1"})) {
        auto comm = host::read_file("/proc/" + std::to_string(pid) + "/comm");
        if (!comm.empty()) comms.insert(comm.substr(0, comm.size() - 1));
    }
    EXPECT_EQ(comms, (std::set<std::string>{"netpraxis", "staticd", "watchfrr", "zebra"}));

    // A student saves a change, then staticd dies: watchfrr starts it again with the saved config.
    vtysh({"configure terminal", "ip route 10.77.0.0/16 Null0", "end", "write memory"});
    ASSERT_TRUE(static_routes_show({"10.66.0.0/16", "10.77.0.0/16"}));
    pid_t old_pid = daemon_pid("staticd");
    ASSERT_GT(old_pid, 0);
    ASSERT_EQ(kill(old_pid, SIGKILL), 0);
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while ((daemon_pid("staticd") == old_pid || !pid_alive(daemon_pid("staticd"))) &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(100ms);
    EXPECT_NE(daemon_pid("staticd"), old_pid) << "watchfrr did not restart staticd";
    EXPECT_TRUE(static_routes_show({"10.66.0.0/16", "10.77.0.0/16"})) << vtysh({"show ip route"});
    EXPECT_EQ(runtime.observe(env_).state, EnvState::running);
}

TEST_F(FrrStart, ConsolePortTakenBeforeVpcsStartsIsReplaced) {
    // Another program binds the first console port after the lab was planned (the progress callback runs
    // between planning and starting the nodes), as another server's lab may on a shared host.
    int squatter = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(squatter, 0);
    int one = 1;
    setsockopt(squatter, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool taken = false;
    auto take = [&](const std::string&, int, int) {
        if (taken) return;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(options_.console_port_min);
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
        taken =
            bind(squatter, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 && listen(squatter, 4) == 0;
    };
    LocalRuntime runtime(options_);
    auto record = runtime.up(parse_topology(kTopology, "frr-start.yaml"), env_, take);
    ASSERT_TRUE(taken);
    const NodeRecord* pc1 = nullptr;
    for (const auto& n : record.nodes)
        if (n.name == "pc1") pc1 = &n;
    ASSERT_NE(pc1, nullptr);
    EXPECT_NE(pc1->console_port, options_.console_port_min);
    EXPECT_TRUE(host::listens_on(pc1->pids, pc1->console_port));
    auto stored = runtime.read(env_);  // the record says where the console is now
    ASSERT_TRUE(stored.has_value());
    for (const auto& n : stored->nodes) {
        if (n.name == "pc1") {
            EXPECT_EQ(n.console_port, pc1->console_port);
        }
    }
    EXPECT_EQ(runtime.observe(env_).state, EnvState::running);
    close(squatter);
}

}  // namespace
}  // namespace np::lab
