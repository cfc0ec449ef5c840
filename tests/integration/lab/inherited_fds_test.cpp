// Lab processes get no descriptor of the process that started them (issue 9): the test holds what a server
// holds — a listening TCP socket and a connection, opened without close-on-exec like Asio opens them — starts
// a local lab (FRR, VPCS with its TAP bridge, a Linux host) through the `local` provider as `netpraxis
// serve` does, opens PTY consoles on it, and finds none of its sockets in any lab process.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "core/ids.hpp"
#include "lab/local/local_provider.hpp"
#include "lab/local/process.hpp"

namespace np::lab {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

const char* kTopology = R"(name: fds
nodes:
  r1:
    kind: frr
    daemons: [ospfd]
    config: |
      frr defaults traditional
      interface eth1
       ip address 192.168.1.1/24
      interface eth2
       ip address 10.0.1.1/24
  h1: {kind: linux, exec: ["ip addr add 192.168.1.10/24 dev eth1"]}
  pc1: {kind: vpcs, config: "ip 10.0.1.10/24 10.0.1.1\n"}
links:
  - endpoints: ["h1:eth1", "r1:eth1"]
  - endpoints: ["pc1:eth0", "r1:eth2"]
)";

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The descriptors of a server: a listener and both ends of a connection to it, none close-on-exec.
struct ServerSockets {
    int listener = -1, client = -1, accepted = -1;
    std::set<ino_t> inodes;
    ServerSockets() {
        listener = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            listen(listener, 4) != 0 || getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
            return;
        client = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
        accepted = accept(listener, nullptr, nullptr);
        for (int fd : {listener, client, accepted}) {
            struct stat st {};
            if (fd >= 0 && fstat(fd, &st) == 0) inodes.insert(st.st_ino);
        }
    }
    ~ServerSockets() {
        for (int fd : {listener, client, accepted})
            if (fd >= 0) close(fd);
    }
};

// Reads from a console until `needle` shows up or 15 s pass; returns everything read.
asio::awaitable<std::string> read_until(ConsoleStream& console, std::string needle) {
    using namespace asio::experimental::awaitable_operators;
    std::string text;
    asio::steady_timer deadline(co_await asio::this_coro::executor, std::chrono::seconds(15));
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

struct LabProcess {
    pid_t pid;
    std::string comm, cmdline;
};

// Every process of the lab `env`: in one of its namespaces, in its state folder (VPCS, bridges), naming it
// on its command line (FRR daemons run `-N env_r1`), or a child of ours (PTY consoles).
std::vector<LabProcess> lab_processes(const std::string& env, const fs::path& state_dir) {
    std::set<ino_t> netns;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/var/run/netns", ec)) {
        struct stat st {};
        if (e.path().filename().string().rfind(env + "_", 0) == 0 && stat(e.path().c_str(), &st) == 0)
            netns.insert(st.st_ino);
    }
    std::vector<LabProcess> out;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        auto name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        pid_t pid = std::stoi(name);
        if (pid == getpid()) continue;
        std::string cmdline = slurp(e.path() / "cmdline");
        if (cmdline.empty()) continue;  // kernel threads, zombies
        for (auto& c : cmdline)
            if (c == '\0') c = ' ';
        struct stat st {};
        bool in_netns = stat((e.path() / "ns/net").c_str(), &st) == 0 && netns.count(st.st_ino);
        std::error_code cwd_ec;
        auto cwd = fs::read_symlink(e.path() / "cwd", cwd_ec).string();
        bool in_dir = !cwd_ec && cwd.rfind(state_dir.string(), 0) == 0;
        auto stat_line = slurp(e.path() / "stat");
        auto paren = stat_line.rfind(')');
        bool child = false;
        if (paren != std::string::npos) {
            std::istringstream rest(stat_line.substr(paren + 2));
            std::string state;
            pid_t ppid = 0;
            rest >> state >> ppid;
            child = ppid == getpid();
        }
        if (in_netns || in_dir || child || cmdline.find(env + "_") != std::string::npos) {
            auto comm = slurp(e.path() / "comm");
            if (!comm.empty() && comm.back() == '\n') comm.pop_back();
            out.push_back({pid, comm, cmdline});
        }
    }
    return out;
}

class InheritedFds : public ::testing::Test {
 protected:
    void SetUp() override {
        if (geteuid() != 0 || access("/usr/lib/frr/frrinit.sh", X_OK) != 0 ||
            access("/usr/bin/vpcs", X_OK) != 0)
            GTEST_SKIP() << "needs root, frr and vpcs";
        env_ = "itf" + core::random_hex(3);
        options_.state_dir = fs::temp_directory_path() / ("np-fds-" + env_);
        options_.helper_binary = NETPRAXIS_BINARY;
        std::mt19937 rng(std::random_device{}());
        auto base = static_cast<std::uint16_t>(41000 + (rng() % 200) * 100);
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
        std::error_code ec;
        fs::remove_all(options_.state_dir, ec);
    }
    std::string env_;
    RuntimeOptions options_;
};

TEST_F(InheritedFds, LabProcessesAndConsolesHoldNoSocketOfTheServer) {
    ServerSockets server;
    ASSERT_GE(server.accepted, 0) << "could not make the server's sockets";
    ASSERT_EQ(server.inodes.size(), 3u);
    asio::io_context io;
    core::WorkerPool pool(2);
    LocalProvider provider(io.get_executor(), pool, options_);
    auto done = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            LabRequest request;
            request.env = env_;
            request.topology = kTopology;
            co_await provider.create(request);
            co_await provider.start(env_);
            // Consoles open while the lab runs: their programs are children of ours.
            auto vtysh = co_await provider.console(env_, "r1");
            auto shell = co_await provider.console(env_, "h1");
            // Both programs run (a console child that has not exec'd yet still looks like this test).
            co_await vtysh->write("\n");
            auto prompt = co_await read_until(*vtysh, "r1# ");
            EXPECT_NE(prompt.find("r1# "), std::string::npos) << prompt;
            co_await shell->write("echo CONSOLE-$((40+2))\n");
            auto answer = co_await read_until(*shell, "CONSOLE-42");
            EXPECT_NE(answer.find("CONSOLE-42"), std::string::npos) << answer;
            auto procs = lab_processes(env_, options_.state_dir);
            std::set<std::string> names;
            std::size_t checked_fds = 0;
            for (const auto& p : procs) {
                names.insert(p.comm);
                std::error_code ec;
                for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(p.pid) + "/fd", ec)) {
                    std::error_code link_ec;
                    auto target = fs::read_symlink(fd.path(), link_ec).string();
                    if (link_ec) continue;
                    ++checked_fds;
                    if (target.rfind("socket:[", 0) != 0) continue;
                    auto inode = static_cast<ino_t>(std::stoull(target.substr(8)));
                    EXPECT_EQ(server.inodes.count(inode), 0u)
                        << p.comm << " (pid " << p.pid << ", " << p.cmdline << ") holds the server's "
                        << target << " as fd " << fd.path().filename().string();
                }
            }
            // The lab's processes were all found (else the check above proves nothing).
            for (const char* expected :
                 {"vpcs", "zebra", "staticd", "ospfd", "watchfrr", "netpraxis", "vtysh", "bash"})
                EXPECT_TRUE(names.count(expected))
                    << "no " << expected << " among " << procs.size() << " lab processes";
            EXPECT_GT(checked_fds, procs.size() * 3);
            vtysh->close();
            shell->close();
            co_await provider.destroy(env_);
        }(),
        asio::use_future);
    io.run();
    done.get();
}

}  // namespace
}  // namespace np::lab
