// Grades real devices started here and removed afterwards: FRR routers running OSPF and Linux hosts in
// network namespaces (vtysh and `ip netns exec` through the exec transport), and VPCS pairs joined by UDP
// tunnels with telnet consoles. Each exercise of examples/ is graded in a correct, a partly correct and a
// broken configuration, with exact scores and statuses. Needs root, vpcs and frr
// (scripts/packages/test-eval.txt).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "eval/engine.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

const std::string kSource = NETPRAXIS_SOURCE_DIR;
const std::string kFixture = kSource + "/tests/integration/eval/fixture.sh";

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

int sh(const std::string& cmd) {
    return std::system(cmd.c_str());
}

bool have(const char* tool) {
    return sh(std::string("command -v ") + tool + " >/dev/null 2>&1") == 0;
}

// A port the kernel just gave out (TCP or UDP), so parallel runs do not collide.
std::uint16_t free_port(int type) {
    int fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

void require_tools() {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
}

std::map<std::string, CheckStatus> statuses(const Evaluation& e) {
    std::map<std::string, CheckStatus> m;
    for (const auto& c : e.checks) m[c.id] = c.status;
    return m;
}

std::string dump(const Evaluation& e) {
    return report_text(e) + "\n" + report_json(e, false, true);
}

// ---------------------------------------------------------------- FRR + Linux

enum class OspfMode { correct, partial, broken };

class OspfLab {
 public:
    OspfLab(const Spec& spec, const std::string& student, OspfMode mode)
        : prefix_("npev" + std::to_string(getpid()) + "o") {
        Values v = derive_values(spec.variables, spec.id, student);
        const Subnet a = v.at("lan_a").subnet, b = v.at("lan_b").subnet;
        std::string area = v.at("area").str();
        auto host = [](const Subnet& s, int n) { return ipv4_text(s.host(n)); };
        auto conf = [&](const std::string& id, const Subnet& lan, bool networks) {
            std::string c =
                "interface eth1\n ip ospf network point-to-point\n ip ospf hello-interval 1\n ip ospf "
                "dead-interval 4\n"
                "exit\n!\nrouter ospf\n ospf router-id " +
                id + "\n";
            if (networks)
                c += " network 10.255.12.0/30 area " + area + "\n network " + lan.cidr() + " area " + area +
                     "\n";
            return c + "exit\n";
        };
        std::string h1_addr = host(a, mode == OspfMode::broken ? 11 : 10) + "/24";
        std::string env = "R1_LAN=" + host(a, 1) + "/24 R2_LAN=" + host(b, 1) + "/24 H1_ADDR=" + h1_addr +
                          " H1_GW=" + (mode == OspfMode::partial ? std::string() : host(a, 1)) +
                          " H2_ADDR=" + host(b, 10) + "/24 H2_GW=" + host(b, 1) +
                          " R1_CONF=" + quote(conf("1.1.1.1", a, true)) +
                          " R2_CONF=" + quote(conf("2.2.2.2", b, mode != OspfMode::broken));
        down();
        up_rc_ = sh(env + " " + kFixture + " ospf-up " + prefix_);
    }
    ~OspfLab() { down(); }
    bool up() const { return up_rc_ == 0; }

    std::map<std::string, DeviceTarget> targets() const {
        std::map<std::string, DeviceTarget> t;
        for (std::string n : {"r1", "r2"})
            t[n] = DeviceTarget{n, "frr", "exec", "", 0, "", "", "", "", "", prefix_ + n, prefix_ + n};
        for (std::string n : {"h1", "h2"})
            t[n] = DeviceTarget{n, "linux", "exec", "", 0, "", "", "", "", "", prefix_ + n, ""};
        return t;
    }

 private:
    void down() { sh(kFixture + " ospf-down " + prefix_); }
    std::string prefix_;
    int up_rc_ = -1;
};

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

TEST_F(OspfGrading, CorrectConfigurationScoresFull) {
    OspfLab lab(spec, "alice", OspfMode::correct);
    ASSERT_TRUE(lab.up());
    Evaluation e = grade(lab);
    EXPECT_EQ(e.score, 12) << dump(e);
    EXPECT_EQ(e.max_score, 12);
    for (const auto& c : e.checks)
        EXPECT_EQ(c.status, CheckStatus::passed) << c.id << ": " << c.feedback << dump(e);
    EXPECT_TRUE(e.device_errors.empty());
    // Each distinct command ran once, except the retried ones while OSPF converged.
    std::size_t runs_of_ip_route = 0;
    for (const auto& t : e.transcript) runs_of_ip_route += t.device == "h1" && t.command == "ip route";
    EXPECT_EQ(runs_of_ip_route, 1u);
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
    // R2 runs OSPF without networks (no adjacency ever), H1 has the wrong host address. Shorten the
    // convergence waits: they cannot succeed, and the test should not idle for a minute.
    for (auto& c : spec.checks)
        if (c.retry) c.retry->total = std::chrono::seconds(4);
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
    const CheckResult& neighbor = e.checks[3];
    EXPECT_GT(neighbor.attempts, 1);
    EXPECT_GE(neighbor.waited.count(), 2000);  // time waited is reported apart from time spent checking
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
