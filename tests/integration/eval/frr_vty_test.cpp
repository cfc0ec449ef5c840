// The FRR vty-socket session (issue 14): read-only `show` commands that one daemon answers go to that
// daemon's vty socket, with what `vtysh -c` prints for them; everything else still runs through vtysh. Proved
// on real FRR routers (OSPF, started by fixture.sh in namespaces of this process, removed afterwards). Needs
// root and frr.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <regex>

#include "eval/session.hpp"
#include "real_labs.hpp"

namespace np::eval {
namespace {

using namespace labs;
namespace asio = boost::asio;

TEST(FrrVtyRoutes, OnlyShowCommandsOfOneDaemonGoToASocket) {
    EXPECT_EQ(frr_vty_daemon("show ip route"), "zebra");
    EXPECT_EQ(frr_vty_daemon("  show   ip route 10.0.0.0/24 "), "zebra");
    EXPECT_EQ(frr_vty_daemon("show ipv6 route"), "zebra");
    EXPECT_EQ(frr_vty_daemon("show interface eth1"), "zebra");
    EXPECT_EQ(frr_vty_daemon("show ip ospf neighbor"), "ospfd");
    EXPECT_EQ(frr_vty_daemon("show ip bgp summary"), "bgpd");
    EXPECT_EQ(frr_vty_daemon("show bgp summary"), "bgpd");
    // vtysh's own, merged, abbreviated, piped, instanced, or not read-only: vtysh runs them.
    for (const char* c : {"show running-config", "sh ip route", "show ip route | include 10",
                          "show ip ospf 1", "show ip router-id", "configure terminal", "write memory",
                          "ping 10.0.0.1", "show ip route\nconfigure terminal", "show version", ""})
        EXPECT_EQ(frr_vty_daemon(c), "") << c;
}

// Counters, timers and uptimes move between two runs: they are masked, everything else must be identical.
std::string masked(const std::string& s) {
    static const std::regex digits("[0-9]+");
    return std::regex_replace(s, digits, "#");
}

class FrrVty : public ::testing::Test {
 protected:
    void SetUp() override {
        require_tools();
        if (IsSkipped()) return;
        if (!have("vtysh") || !std::filesystem::exists("/usr/lib/frr/frrinit.sh"))
            GTEST_SKIP() << "FRR missing";
        spec = load_spec(kSource + "/examples/ospf-two-lans");
    }

    // Runs `commands` on r1 through a vtysh-process session and a vty session (whose vtysh fallback is `echo
    // fallback`, so what did not go through a socket shows); returns {vtysh output, vty output} per command.
    std::vector<std::pair<std::string, std::string>> both(const OspfLab& lab,
                                                          const std::vector<std::string>& commands) {
        const Platform& frr = *PlatformRegistry::builtin().find("frr");
        Platform marked = frr;
        marked.exec = {"echo", "fallback", "{command}"};
        auto target = lab.targets().at("r1");
        asio::io_context io;
        auto fut = asio::co_spawn(
            io,
            [&]() -> asio::awaitable<std::vector<std::pair<std::string, std::string>>> {
                auto deadline = [] { return std::chrono::steady_clock::now() + std::chrono::seconds(20); };
                auto vtysh = make_exec_session(io.get_executor(), target, frr);
                auto vty = make_frr_vty_session(io.get_executor(), target, marked);
                co_await vtysh->open(deadline());
                co_await vty->open(deadline());
                std::vector<std::pair<std::string, std::string>> out;
                for (const auto& c : commands) {
                    auto a = co_await vtysh->run(c, deadline());
                    auto b = co_await vty->run(c, deadline());
                    out.emplace_back(std::move(a), std::move(b));
                }
                co_await vty->close();
                co_await vtysh->close();
                co_return out;
            },
            asio::use_future);
        io.run();
        return fut.get();
    }
    Spec spec;
};

TEST_F(FrrVty, ShowCommandsAnswerAsVtyshDoesThroughTheSocket) {
    OspfLab lab(spec, "alice", OspfMode::correct, 'v');
    ASSERT_TRUE(lab.up());
    const std::vector<std::string> shows = {
        "show ip route", "show ip route 10.255.12.0/30", "show ipv6 route",       "show interface eth1",
        "show ip ospf",  "show ip ospf interface eth1",  "show ip ospf neighbor", "show interface brief"};
    // OSPF converges while this runs: the two outputs of a command may differ in content for a while (a
    // neighbour comes up); poll, bounded, until they agree.
    std::vector<std::pair<std::string, std::string>> got;
    for (int attempt = 0; attempt < 30; ++attempt) {
        got = both(lab, shows);
        bool same = true;
        // ...and until each has something to say (IPv6 link-local routes appear a moment after the lab is
        // up).
        for (const auto& [a, b] : got) same = same && !b.empty() && masked(a) == masked(b);
        if (same) break;
    }
    for (std::size_t i = 0; i < shows.size(); ++i) {
        EXPECT_EQ(got[i].second.rfind("fallback", 0), std::string::npos) << shows[i] << " went through vtysh";
        EXPECT_FALSE(got[i].second.empty()) << shows[i];
        EXPECT_EQ(masked(got[i].first), masked(got[i].second)) << shows[i];
    }
}

TEST_F(FrrVty, EverythingElseAndEveryErrorGoesThroughVtysh) {
    OspfLab lab(spec, "alice", OspfMode::correct, 'w');
    ASSERT_TRUE(lab.up());
    const std::vector<std::string> others = {
        "show running-config",           // merged by vtysh from every daemon
        "show ip route 203.0.113.0/24",  // zebra answers "% Network not in table" with a warning status
        "show ip route bogus",           // a parse error: vtysh words it itself
        "sh ip route",                   // abbreviated
        "show ip route | include eth",   // vtysh's pipe
        "show ip bgp",                   // bgpd is not running here: vtysh says so
    };
    auto got = both(lab, others);
    for (std::size_t i = 0; i < others.size(); ++i)
        EXPECT_EQ(got[i].second, "fallback " + others[i] + "\n") << others[i];
}

}  // namespace
}  // namespace np::eval
