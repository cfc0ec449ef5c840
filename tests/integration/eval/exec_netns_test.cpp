// The exec transport on a Linux host (issue 14): `ip netns exec {netns} sh -c {command}` is entered by the
// grader itself (core::spawn) instead of through ip. Every command shows what it showed through ip — the
// namespace's links, its /sys, /etc/netns files — and a command past its deadline still dies with its
// children. Needs root (a namespace of this process's own, removed afterwards).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "eval/session.hpp"
#include "real_labs.hpp"

namespace np::eval {
namespace {

using namespace labs;
namespace asio = boost::asio;
namespace fs = std::filesystem;

class ExecNetns : public ::testing::Test {
 protected:
    void SetUp() override {
        require_tools();
        if (IsSkipped()) return;
        ns = "npex" + std::to_string(::getpid());
        ASSERT_EQ(sh("ip netns add " + ns), 0);
        const std::string in = "ip -n " + ns + " ";
        ASSERT_EQ(sh(in + "link add npexd0 type veth peer name npexd1 && " + in +
                     "addr add 10.77.0.1/24 dev npexd0 && " + in + "link set npexd0 up && " + in +
                     "link set npexd1 up && " + in + "link set lo up"),
                  0);
        fs::create_directories("/etc/netns/" + ns);
        std::ofstream("/etc/netns/" + ns + "/hosts") << "10.77.0.9 only-in-" << ns << "\n";
        target = DeviceTarget{"h1", "linux", "exec", "", 0, "", "", "", "", "", ns, ""};
    }
    void TearDown() override {
        if (ns.empty()) return;
        std::error_code ec;
        fs::remove_all("/etc/netns/" + ns, ec);
        sh("ip netns pids " + ns + " 2>/dev/null | xargs -r kill -9; ip netns del " + ns + " 2>/dev/null");
    }

    // Runs `commands` through a session of `platform`; an exception's text stands for its output.
    std::vector<std::string> run_all(const Platform& platform, const std::vector<std::string>& commands,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
        asio::io_context io;
        auto fut = asio::co_spawn(
            io,
            [&]() -> asio::awaitable<std::vector<std::string>> {
                auto s = make_exec_session(io.get_executor(), target, platform);
                co_await s->open(std::chrono::steady_clock::now() + timeout);
                std::vector<std::string> out;
                for (const auto& c : commands) {
                    try {
                        out.push_back(co_await s->run(c, std::chrono::steady_clock::now() + timeout));
                    } catch (const core::Error& e) {
                        out.push_back(std::string("error ") + std::string(core::code_name(e.code())) + ": " +
                                      e.what());
                    }
                }
                co_await s->close();
                co_return out;
            },
            asio::use_future);
        io.run();
        return fut.get();
    }

    std::string ns;
    DeviceTarget target;
};

TEST_F(ExecNetns, CommandsShowWhatTheyShowedThroughIp) {
    const Platform& linux = *PlatformRegistry::builtin().find("linux");
    ASSERT_EQ(linux.exec.at(0), "ip");
    Platform through_ip = linux;  // the same argv with ip named by its path: run through ip as before
    through_ip.exec[0] = fs::exists("/usr/sbin/ip") ? "/usr/sbin/ip" : "/usr/bin/ip";
    const std::vector<std::string> commands = {
        "ip -br addr",
        "ls /sys/class/net",
        "cat /sys/class/net/npexd0/operstate",
        "cat /etc/hosts",
        "ping -c 1 -W 1 10.77.0.1 | grep -c 'bytes from'",
        "echo out; echo err >&2; exit 3",
        "env | sort",
        "no-such-command-np",
        "grep -c . /proc/net/dev",
        // Plain commands run without sh (issue 14): the same output, environment and errors as through sh.
        "printenv PWD",
        "env",
        "echo builtin words",
        "ls /no/such/path",
        "/etc/hosts",
    };
    auto mine = run_all(linux, commands);
    auto ip = run_all(through_ip, commands);
    ASSERT_EQ(mine.size(), ip.size());
    auto sorted_lines = [](const std::string& text) {
        std::vector<std::string> lines;
        std::istringstream in(text);
        for (std::string l; std::getline(in, l);) lines.push_back(l);
        std::sort(lines.begin(), lines.end());
        return lines;
    };
    for (std::size_t i = 0; i < commands.size(); ++i) {
        if (commands[i] == "env")  // (the order of the variables is sh's own)
            EXPECT_EQ(sorted_lines(mine[i]), sorted_lines(ip[i]));
        else
            EXPECT_EQ(mine[i], ip[i]) << commands[i];
    }
    EXPECT_NE(mine[0].find("10.77.0.1/24"), std::string::npos) << mine[0];
    EXPECT_EQ(mine[1], "lo\nnpexd0\nnpexd1\n");
    EXPECT_NE(mine[3].find("only-in-" + ns), std::string::npos) << mine[3];
    EXPECT_EQ(mine[4], "1\n");
    // Nothing of it reached the host.
    std::ifstream hosts("/etc/hosts");
    std::string text((std::istreambuf_iterator<char>(hosts)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find("only-in-" + ns), std::string::npos);
    EXPECT_FALSE(fs::exists("/sys/class/net/npexd0"));
}

TEST_F(ExecNetns, ACommandPastItsDeadlineDiesWithItsChildren) {
    const Platform& linux = *PlatformRegistry::builtin().find("linux");
    auto out = run_all(linux, {"sleep 60 & sleep 60; echo never"}, std::chrono::milliseconds(500));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].rfind("error timeout:", 0), 0u) << out[0];
    // No process left in the namespace (the kill is immediate; reaping the orphan may take a moment).
    std::string pids = "x";
    for (int i = 0; i < 200 && !pids.empty(); ++i) {
        pids.clear();
        if (FILE* p = ::popen(("ip netns pids " + ns).c_str(), "r")) {
            char buf[256];
            for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) pids.append(buf, n);
            ::pclose(p);
        }
        if (!pids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_EQ(pids, "");
}

TEST_F(ExecNetns, ANamespaceGoneMidEvaluationIsUnavailable) {
    const Platform& linux = *PlatformRegistry::builtin().find("linux");
    asio::io_context io;
    auto fut = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<std::string> {
            auto s = make_exec_session(io.get_executor(), target, linux);
            co_await s->open(std::chrono::steady_clock::now() + std::chrono::seconds(5));
            sh("ip netns del " + ns);
            try {
                co_await s->run("true", std::chrono::steady_clock::now() + std::chrono::seconds(5));
            } catch (const core::Error& e) {
                co_return std::string(core::code_name(e.code())) + ": " + e.what();
            }
            co_return "no error";
        },
        asio::use_future);
    io.run();
    auto what = fut.get();
    EXPECT_EQ(what.rfind("unavailable: h1: network namespace '" + ns + "'", 0), 0u) << what;
}

}  // namespace
}  // namespace np::eval
