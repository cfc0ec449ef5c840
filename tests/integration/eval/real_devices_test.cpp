// Grades real devices started here and removed afterwards: FRR routers running OSPF and Linux hosts in
// network namespaces (vtysh and `ip netns exec` through the exec transport), and VPCS pairs joined by UDP
// tunnels with telnet consoles. Each exercise of examples/ is graded in a correct, a partly correct and a
// broken configuration, with exact scores and statuses. Needs root, vpcs and frr
// (scripts/packages/test-eval.txt).
#include <gtest/gtest.h>

#include <filesystem>

#include "real_labs.hpp"

namespace np::eval {
namespace {

using namespace labs;

class OspfGrading : public ::testing::Test {
 protected:
    void SetUp() override {
        require_tools();
        if (IsSkipped()) return;
        if (!have("vtysh") || !std::filesystem::exists("/usr/lib/frr/frrinit.sh"))
            GTEST_SKIP() << "FRR missing";
        spec = load_spec(kSource + "/examples/ospf-two-lans");
    }
    Evaluation grade(const OspfLab& lab) {
        return evaluate_blocking(PlatformRegistry::builtin(), EngineOptions{}, spec, "alice", lab.targets());
    }
    Spec spec;
};

// Graded right after the routers start, while OSPF converges: the example's spec has no settle or retry key,
// and the default settle window makes the grade full however loaded the machine is.
TEST_F(OspfGrading, CorrectConfigurationScoresFull) {
    OspfLab lab(spec, "alice", OspfMode::correct);
    ASSERT_TRUE(lab.up());
    Evaluation e = grade(lab);
    EXPECT_EQ(e.score, 12) << dump(e);
    EXPECT_EQ(e.max_score, 12);
    for (const auto& c : e.checks)
        EXPECT_EQ(c.status, CheckStatus::passed) << c.id << ": " << c.feedback << dump(e);
    EXPECT_TRUE(e.device_errors.empty());
    EXPECT_TRUE(e.settle.settled) << dump(e);
    EXPECT_TRUE(e.settle.failing.empty());
    // Each distinct command ran once per round (all checks are graded again in every round).
    std::size_t runs_of_ip_route = 0;
    for (const auto& t : e.transcript) runs_of_ip_route += t.device == "h1" && t.command == "ip route show";
    EXPECT_EQ(runs_of_ip_route, static_cast<std::size_t>(e.settle.rounds)) << dump(e);
}

TEST_F(OspfGrading, MissingGatewayIsPartlyCorrect) {
    OspfLab lab(spec, "alice", OspfMode::partial);
    ASSERT_TRUE(lab.up());
    Evaluation e = grade(lab);
    auto s = statuses(e);
    EXPECT_EQ(s["h1-address"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["h1-gateway"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(s["r1-ospf-config"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["r1-neighbor-full"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["r1-learns-lan-b"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["end-to-end"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(e.score, 8) << dump(e);
    EXPECT_NE(e.checks[1].feedback.find("default gateway"), std::string::npos);
}

TEST_F(OspfGrading, BrokenConfigurationFailsAndSkips) {
    // R2 runs OSPF without networks (no adjacency ever), H1 has the wrong host address. Shorten the settle
    // window: nothing here can converge, and the test should not idle for 30 s.
    spec.grading.settle.window = std::chrono::seconds(5);
    OspfLab lab(spec, "alice", OspfMode::broken);
    ASSERT_TRUE(lab.up());
    Evaluation e = grade(lab);
    auto s = statuses(e);
    EXPECT_EQ(s["h1-address"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(s["h1-gateway"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["r1-ospf-config"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["r1-neighbor-full"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(s["r1-learns-lan-b"], CheckStatus::skipped) << dump(e);
    EXPECT_EQ(s["end-to-end"], CheckStatus::skipped) << dump(e);
    EXPECT_EQ(e.score, 3) << dump(e);
    // Graded again every 2 s until the window closed; the report says what was still failing.
    EXPECT_FALSE(e.settle.settled);
    EXPECT_GE(e.settle.rounds, 2) << dump(e);
    EXPECT_EQ(e.checks[3].attempts, e.settle.rounds);
    EXPECT_EQ(e.settle.failing, (std::vector<std::string>{"h1-address", "r1-neighbor-full"}));
    EXPECT_NE(report_text(e).find("Not settled within 5 s (" + std::to_string(e.settle.rounds) +
                                  " rounds); still failing: h1-address, r1-neighbor-full"),
              std::string::npos)
        << dump(e);
    EXPECT_LE(e.duration, std::chrono::seconds(5) + std::chrono::seconds(3));  // the window + a round
    EXPECT_NE(e.checks[4].feedback.find("requires 'r1-neighbor-full', which failed"), std::string::npos);
}

TEST_F(OspfGrading, MissingNamespaceIsAnErrorWithTheReason) {
    std::map<std::string, DeviceTarget> t;
    for (std::string n : {"r1", "r2"})
        t[n] = DeviceTarget{n, "frr", "exec", "", 0, "", "", "", "", "", "npev-none-" + n, ""};
    for (std::string n : {"h1", "h2"})
        t[n] = DeviceTarget{n, "linux", "exec", "", 0, "", "", "", "", "", "npev-none-" + n, ""};
    Evaluation e = evaluate_blocking(PlatformRegistry::builtin(), EngineOptions{}, spec, "alice", t);
    EXPECT_EQ(e.score, 0);
    auto s = statuses(e);
    EXPECT_EQ(s["h1-address"], CheckStatus::error);
    EXPECT_EQ(s["r1-neighbor-full"], CheckStatus::error);
    EXPECT_EQ(s["end-to-end"], CheckStatus::skipped);
    EXPECT_NE(e.device_errors["h1"].find("network namespace 'npev-none-h1' does not exist"),
              std::string::npos)
        << dump(e);
    EXPECT_NE(e.device_errors["r1"].find("is not running"), std::string::npos) << dump(e);
}

// ---------------------------------------------------------------- VPCS

class VpcsPair {
 public:
    VpcsPair()
        : dir_(std::filesystem::temp_directory_path() / ("npev-" + std::to_string(getpid()) + "-vpcs")) {
        std::uint16_t u1 = free_port(SOCK_DGRAM), u2 = free_port(SOCK_DGRAM);
        while (u2 == u1) u2 = free_port(SOCK_DGRAM);
        port1 = free_port(SOCK_STREAM);
        port2 = free_port(SOCK_STREAM);
        while (port2 == port1) port2 = free_port(SOCK_STREAM);
        // Crossed UDP ports join the two PCs: pc1 sends to pc2's local port and back.
        ok_ = sh(kFixture + " vpcs-up " + (dir_ / "pc1").string() + " " + std::to_string(port1) + " " +
                 std::to_string(u1) + " " + std::to_string(u2) + " 1") == 0 &&
              sh(kFixture + " vpcs-up " + (dir_ / "pc2").string() + " " + std::to_string(port2) + " " +
                 std::to_string(u2) + " " + std::to_string(u1) + " 2") == 0;
    }
    ~VpcsPair() {
        stop(2);
        stop(1);
        std::filesystem::remove_all(dir_);
    }
    bool ok() const { return ok_; }
    void command(int pc, const std::string& cmd) {
        sh(kFixture + " vpcs-cmd " + std::to_string(pc == 1 ? port1 : port2) + " " + quote(cmd));
    }
    void stop(int pc) { sh(kFixture + " vpcs-down " + (dir_ / (pc == 1 ? "pc1" : "pc2")).string()); }
    std::map<std::string, DeviceTarget> targets() const {
        std::map<std::string, DeviceTarget> t;
        t["pc1"] = DeviceTarget{"pc1", "vpcs", "telnet", "127.0.0.1", port1, "", "", "", "", "", "", ""};
        t["pc2"] = DeviceTarget{"pc2", "vpcs", "telnet", "127.0.0.1", port2, "", "", "", "", "", "", ""};
        return t;
    }
    std::uint16_t port1 = 0, port2 = 0;

 private:
    std::filesystem::path dir_;
    bool ok_ = false;
};

class VpcsGrading : public ::testing::Test {
 protected:
    void SetUp() override {
        require_tools();
        if (IsSkipped()) return;
        if (!have("vpcs")) GTEST_SKIP() << "vpcs missing";
        spec = load_spec(kSource + "/examples/vpcs-addressing");
        Values v = derive_values(spec.variables, spec.id, "bob");
        lan = v.at("lan").subnet;
    }
    std::string host(int n) const { return ipv4_text(lan.host(n)); }
    Evaluation grade(const VpcsPair& pair) {
        EngineOptions o;
        o.open_timeout = std::chrono::seconds(8);
        return evaluate_blocking(PlatformRegistry::builtin(), o, spec, "bob", pair.targets());
    }
    Spec spec;
    Subnet lan;
};

TEST_F(VpcsGrading, CorrectConfigurationScoresFull) {
    VpcsPair pair;
    ASSERT_TRUE(pair.ok());
    pair.command(1, "ip " + host(10) + "/24 " + host(1));
    pair.command(2, "ip " + host(20) + "/24 " + host(1));
    Evaluation e = grade(pair);
    EXPECT_EQ(e.score, 7) << dump(e);
    for (const auto& c : e.checks) EXPECT_EQ(c.status, CheckStatus::passed) << c.id << dump(e);
    EXPECT_NE(e.checks[2].evidence.find("3/3 replies"), std::string::npos) << dump(e);
    EXPECT_EQ(e.checks[2].feedback, "The LAN works.");
}

TEST_F(VpcsGrading, WrongGatewayGetsPartialPoints) {
    // Addresses are set before grading and nothing converges: a short settle window keeps the test short.
    spec.grading.settle.window = std::chrono::seconds(5);
    VpcsPair pair;
    ASSERT_TRUE(pair.ok());
    pair.command(1, "ip " + host(10) + "/24 " + host(1));
    pair.command(2, "ip " + host(20) + "/24 " + host(254));
    Evaluation e = grade(pair);
    auto s = statuses(e);
    EXPECT_EQ(s["pc1-address"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["pc2-address"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(e.checks[1].points, 1) << dump(e);  // partial: one of two matchers passed
    EXPECT_EQ(s["pc1-reaches-pc2"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(e.score, 6) << dump(e);
}

TEST_F(VpcsGrading, UnconfiguredPcAndDeadConsole) {
    // Addresses are set before grading and nothing converges: a short settle window keeps the test short.
    spec.grading.settle.window = std::chrono::seconds(5);
    VpcsPair pair;
    ASSERT_TRUE(pair.ok());
    pair.stop(2);  // pc2's console refuses connections
    Evaluation e = grade(pair);
    auto s = statuses(e);
    EXPECT_EQ(s["pc1-address"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(e.checks[0].points, 0);
    EXPECT_EQ(s["pc2-address"], CheckStatus::error) << dump(e);
    EXPECT_EQ(s["pc1-reaches-pc2"], CheckStatus::skipped) << dump(e);
    EXPECT_EQ(e.score, 0);
    EXPECT_NE(e.device_errors["pc2"].find("refused"), std::string::npos) << dump(e);
    EXPECT_NE(e.checks[1].feedback.find("device unreachable"), std::string::npos) << dump(e);
}

}  // namespace
}  // namespace np::eval
