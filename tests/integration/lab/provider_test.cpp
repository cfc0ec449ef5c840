// The `local` provider through its awaitable interface: create, start, observe, inventory, consoles (PTY for
// vtysh and shells, telnet for VPCS), stop, reset and destroy, on a real lab.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <random>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "lab/local/local_provider.hpp"
#include "lab/local/process.hpp"

namespace np::lab {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

const char* kTopology = R"(name: provider-demo
nodes:
  r1:
    kind: frr
    config: |
      frr defaults traditional
      interface eth1
       ip address 192.168.1.1/24
      interface eth2
       ip address 10.0.1.1/24
  h1: {kind: linux, exec: ["ip addr add 192.168.1.10/24 dev eth1", "ip route add default via 192.168.1.1"]}
  pc1: {kind: vpcs, config: "ip 10.0.1.10/24 10.0.1.1\n"}
links:
  - endpoints: ["h1:eth1", "r1:eth1"]
  - endpoints: ["pc1:eth0", "r1:eth2"]
)";

// Reads from the console until `needle` shows up or 15 s pass; returns everything read.
asio::awaitable<std::string> read_until(ConsoleStream& console, std::string needle) {
    std::string text;
    asio::steady_timer deadline(co_await asio::this_coro::executor, 15s);
    char buf[4096];
    while (text.find(needle) == std::string::npos) {
        auto r = co_await (console.read_some(std::span<char>(buf, sizeof buf)) ||
                           deadline.async_wait(asio::use_awaitable));
        if (r.index() == 1) break;
        auto n = std::get<0>(r);
        if (n == 0) break;
        text.append(buf, n);
    }
    co_return text;
}

class LocalProviderTest : public ::testing::Test {
 protected:
    void SetUp() override {
        if (geteuid() != 0 || access("/usr/lib/frr/frrinit.sh", X_OK) != 0 ||
            access("/usr/bin/vpcs", X_OK) != 0)
            GTEST_SKIP() << "needs root, frr and vpcs";
        env_ = "itp" + core::random_hex(3);
        options_.state_dir = fs::temp_directory_path() / ("np-prov-" + env_);
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
        LocalRuntime runtime(options_);
        try {
            runtime.down(env_);
        } catch (const std::exception&) {
        }
        fs::remove_all(options_.state_dir);
    }

    template <class F>
    void run(F body) {
        asio::io_context io;
        core::WorkerPool pool(2);
        LocalProvider provider(io.get_executor(), pool, options_);
        auto done = asio::co_spawn(io, body(provider), asio::use_future);
        io.run();
        done.get();  // rethrows a failure of the coroutine
    }

    std::string env_;
    RuntimeOptions options_;
};

TEST_F(LocalProviderTest, LifecycleInventoryAndConsoles) {
    run([&](LocalProvider& p) -> asio::awaitable<void> {
        LabRequest request;
        request.env = env_;
        request.topology = kTopology;
        co_await p.ensure_template(request);
        EXPECT_EQ((co_await p.observe(env_)).state, EnvState::absent);
        co_await p.create(request);
        EXPECT_EQ((co_await p.observe(env_)).state, EnvState::stopped);
        co_await p.start(env_);
        auto observed = co_await p.observe(env_);
        EXPECT_EQ(observed.state, EnvState::running)
            << (observed.problems.empty() ? "" : observed.problems[0]);

        auto inventory = co_await p.inventory(env_);
        EXPECT_EQ(inventory.size(), 3u);
        if (inventory.size() != 3u) co_return;
        EXPECT_EQ(inventory[0].node, "r1");
        EXPECT_EQ(inventory[0].transport, "exec");
        EXPECT_EQ(inventory[0].frr_pathspace, env_ + "_r1");
        EXPECT_EQ(inventory[1].netns, env_ + "_h1");
        EXPECT_EQ(inventory[2].transport, "telnet");
        EXPECT_GE(inventory[2].port, options_.console_port_min);

        {
            auto vtysh = co_await p.console(env_, "r1");
            co_await vtysh->write("show ip route connected\n");
            auto text = co_await read_until(*vtysh, "10.0.1.0/24");
            EXPECT_NE(text.find("r1# "), std::string::npos) << text;  // the prompt of a PTY session
            EXPECT_NE(text.find("C>* 10.0.1.0/24 is directly connected, eth2"), std::string::npos) << text;
            vtysh->close();
        }
        {
            auto shell = co_await p.console(env_, "h1");
            co_await shell->write("ping -c 1 -W 2 10.0.1.10 && echo PING-OK\n");
            auto text = co_await read_until(*shell, "PING-OK\r\n");
            EXPECT_NE(text.find("PING-OK\r\n"), std::string::npos) << text;  // h1 -> r1 -> bridge -> VPCS
            shell->close();
        }
        {
            auto pc = co_await p.console(env_, "pc1");
            // A second client sees no prompt until it sends a line; VPCS drops input typed before the prompt.
            co_await pc->write("\r\n");
            co_await read_until(*pc, "pc1> ");
            co_await pc->write("show ip\r\n");
            auto text = co_await read_until(*pc, "10.0.1.10/24");
            EXPECT_NE(text.find("IP/MASK     : 10.0.1.10/24"), std::string::npos) << text;
            pc->close();
        }
        try {
            co_await p.console(env_, "nope");
            ADD_FAILURE() << "console of an unknown node";
        } catch (const core::Error& e) {
            EXPECT_EQ(e.code(), core::Code::not_found);
        }

        // A student saves a change; stop/start keeps it (like a VM's disk), reset goes back to the start.
        auto vtysh = [&](std::vector<std::string> commands) {
            std::vector<std::string> argv = {"vtysh", "-N", env_ + "_r1"};
            for (auto& c : commands) argv.insert(argv.end(), {"-c", c});
            return run_command(argv).output;
        };
        vtysh({"configure terminal", "ip route 10.77.0.0/16 Null0", "end", "write memory"});
        EXPECT_NE(vtysh({"show ip route static"}).find("10.77.0.0/16"), std::string::npos);
        co_await p.stop(env_);
        EXPECT_EQ((co_await p.observe(env_)).state, EnvState::stopped);
        EXPECT_FALSE(fs::exists("/var/run/netns/" + env_ + "_r1"));
        EXPECT_FALSE(fs::exists("/etc/frr/" + env_ + "_r1"));
        co_await p.start(env_);
        EXPECT_EQ((co_await p.observe(env_)).state, EnvState::running);
        EXPECT_NE(vtysh({"show ip route static"}).find("10.77.0.0/16"), std::string::npos)
            << "saved config lost";
        co_await p.reset(env_);
        EXPECT_EQ((co_await p.observe(env_)).state, EnvState::running);
        EXPECT_EQ(vtysh({"show ip route static"}).find("10.77.0.0/16"), std::string::npos) << "reset kept it";
        EXPECT_NE(vtysh({"show ip route connected"}).find("10.0.1.0/24"), std::string::npos);
        co_await p.destroy(env_);
        EXPECT_EQ((co_await p.observe(env_)).state, EnvState::absent);
        co_await p.destroy(env_);  // idempotent
        EXPECT_FALSE(fs::exists("/var/run/netns/" + env_ + "_h1"));
        EXPECT_FALSE(fs::exists("/etc/frr/" + env_ + "_r1"));
    });
}

}  // namespace
}  // namespace np::lab
