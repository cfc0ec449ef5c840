// Every intent on real devices: two FRR routers in network namespaces joined by OSPF and an eBGP session,
// with a Linux host on each side (fixture.sh, FRR_BGP=yes), graded right after the routers start with the
// default settle semantics. A correct lab scores full; a broken one (no BGP neighbour on r2, OSPF in another
// area) fails exactly the checks it should, with the parsed records as evidence.
#include <gtest/gtest.h>

#include <filesystem>

#include "real_labs.hpp"

namespace np::eval {
namespace {

using namespace labs;

std::string router_conf(const std::string& id, int as, int peer_as, const std::string& peer,
                        const std::string& lan, int area, bool bgp) {
    std::string c =
        "interface eth1\n ip ospf network point-to-point\n ip ospf hello-interval 1\n"
        " ip ospf dead-interval 4\n" +
        std::string(id == "1.1.1.1" ? " description to r2\n" : "") +
        "exit\n!\nrouter ospf\n ospf router-id " + id + "\n network 10.255.12.0/30 area " +
        std::to_string(area) + "\n network " + lan + " area " + std::to_string(area) +
        "\nexit\n!\nrouter bgp " + std::to_string(as) + "\n bgp router-id " + id +
        "\n no bgp ebgp-requires-policy\n";
    if (bgp)
        c += " neighbor " + peer + " remote-as " + std::to_string(peer_as) + "\n neighbor " + peer +
             " timers connect 2\n";
    return c + " address-family ipv4 unicast\n  network " + lan + "\n exit-address-family\nexit\n";
}

// r1 (AS 65001, LAN 10.1.1.0/24, host h1) and r2 (AS 65002, LAN 10.2.2.0/24, host h2).
class BgpLab {
 public:
    explicit BgpLab(bool broken) : prefix_("npin" + std::to_string(getpid()) + (broken ? "b" : "c")) {
        std::string env =
            "FRR_BGP=yes R1_LAN=10.1.1.1/24 R2_LAN=10.2.2.1/24 H1_ADDR=10.1.1.10/24 H1_GW=10.1.1.1 "
            "H2_ADDR=10.2.2.10/24 H2_GW=10.2.2.1 R1_CONF=" +
            quote(router_conf("1.1.1.1", 65001, 65002, "10.255.12.2", "10.1.1.0/24", 1, true)) + " R2_CONF=" +
            quote(
                router_conf("2.2.2.2", 65002, 65001, "10.255.12.1", "10.2.2.0/24", broken ? 2 : 1, !broken));
        down();
        up_rc_ = sh(env + " " + kFixture + " ospf-up " + prefix_);
    }
    ~BgpLab() { down(); }
    bool up() const { return up_rc_ == 0; }
    std::map<std::string, DeviceTarget> targets() const { return lab_targets(prefix_); }

 private:
    void down() { sh(kFixture + " ospf-down " + prefix_ + " 2>/dev/null"); }
    std::string prefix_;
    int up_rc_ = -1;
};

const char* kSpec = R"(id: intents-frr
devices: {r1: frr, r2: frr, h1: linux, h2: linux}
checks:
  - {id: r1-eth1, on: r1, interface: {name: eth1, admin: up, oper: up, address: 10.255.12.1/30, description: to r2, mtu: 1500}}
  - {id: ospf, on: r1, ospf_neighbor: {router_id: 2.2.2.2, state: full, area: 1, interface: eth1}}
  - {id: bgp, on: r1, bgp_session: {peer: 10.255.12.2, state: established, remote_as: 65002, prefixes_received: 1}}
  - {id: route, on: r1, route: {prefix: 10.2.2.0/24, protocol: bgp, next_hop: 10.255.12.2, fib: true}}
  - {id: no-static, on: r1, route: {prefix: 10.2.2.0/24, protocol: static, present: false}}
  - {id: config, on: r1, config: {section: router bgp 65001, line: neighbor 10.255.12.2 remote-as 65002}}
  - {id: h1-eth1, on: h1, interface: {name: eth1, address: 10.1.1.10/24, oper: up}}
  - {id: h1-gw, on: h1, route: {prefix: 0.0.0.0/0, next_hop: 10.1.1.1}}
  - {id: ping, on: h1, reachability: {target: 10.2.2.10, success: 60}}
  - {id: raw, on: r2, run: show ip route, expect: {match: '^B>\* 10\.1\.1\.0/24'}}
)";

class IntentsOnFrr : public ::testing::Test {
 protected:
    void SetUp() override {
        require_tools();
        if (IsSkipped()) return;
        if (!have("vtysh") || !std::filesystem::exists("/usr/lib/frr/frrinit.sh") ||
            !std::filesystem::exists("/usr/lib/frr/bgpd"))
            GTEST_SKIP() << "FRR missing";
        ParseResult r = parse_spec(kSpec);
        ASSERT_TRUE(r.ok()) << r.diagnostics[0].text();
        spec = r.spec;
    }
    Spec spec;
};

TEST_F(IntentsOnFrr, CorrectLabScoresFullAndPingWaitsForRouting) {
    BgpLab lab(false);
    ASSERT_TRUE(lab.up());
    Evaluation e =
        evaluate_blocking(PlatformRegistry::builtin(), EngineOptions{}, spec, "alice", lab.targets());
    EXPECT_EQ(e.score, 10) << dump(e);
    for (const auto& c : e.checks)
        EXPECT_EQ(c.status, CheckStatus::passed) << c.id << ": " << c.evidence << dump(e);
    EXPECT_TRUE(e.settle.settled) << dump(e);
    auto evidence = [&](const std::string& id) {
        for (const auto& c : e.checks)
            if (c.id == id) return c.evidence;
        return std::string();
    };
    EXPECT_NE(
        evidence("ospf").find("OSPF neighbour 2.2.2.2: Neighbor 2.2.2.2, interface address 10.255.12.2"),
        std::string::npos);
    EXPECT_NE(evidence("bgp").find("BGP session 10.255.12.2: BGP neighbor is 10.255.12.2, remote AS 65002"),
              std::string::npos);
    EXPECT_NE(evidence("route").find("B>* 10.2.2.0/24"), std::string::npos) << evidence("route");
    // In every round, h1's ping ran after r1's routing checks had been observed (data plane after control
    // plane), and the commands came from the platforms.
    for (int round = 1; round <= e.settle.rounds; ++round) {
        std::size_t ping = 0, bgp = 0;
        for (std::size_t i = 0; i < e.transcript.size(); ++i) {
            const auto& t = e.transcript[i];
            if (t.round != round) continue;
            if (t.command == "ping -c 3 -W 1 10.2.2.10") ping = i;
            if (t.command == "show bgp neighbors") bgp = i;
        }
        EXPECT_GT(ping, bgp) << "round " << round << dump(e);
    }
}

TEST_F(IntentsOnFrr, BrokenLabFailsWithTheRecordsAsEvidence) {
    spec.grading.settle.window = std::chrono::seconds(6);  // nothing here converges
    BgpLab lab(true);
    ASSERT_TRUE(lab.up());
    Evaluation e =
        evaluate_blocking(PlatformRegistry::builtin(), EngineOptions{}, spec, "alice", lab.targets());
    auto s = statuses(e);
    std::map<std::string, std::string> ev;
    for (const auto& c : e.checks) ev[c.id] = c.evidence;
    EXPECT_EQ(s["r1-eth1"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["ospf"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(ev["ospf"], "no OSPF neighbour 2.2.2.2 (none shown)");
    EXPECT_EQ(s["bgp"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(ev["bgp"].rfind("BGP session 10.255.12.2: state ", 0), 0u) << ev["bgp"];
    EXPECT_NE(ev["bgp"].find(", expected established"), std::string::npos) << ev["bgp"];
    EXPECT_EQ(s["route"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(ev["route"].rfind("no route 10.2.2.0/24 (shown: ", 0), 0u) << ev["route"];
    EXPECT_EQ(s["no-static"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["config"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["h1-eth1"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["h1-gw"], CheckStatus::passed) << dump(e);
    EXPECT_EQ(s["ping"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(ev["ping"].rfind("ping to 10.2.2.10: 0/3 replies (0%), expected at least 60%", 0), 0u)
        << ev["ping"];
    EXPECT_EQ(s["raw"], CheckStatus::failed) << dump(e);
    EXPECT_EQ(e.score, 5) << dump(e);
    EXPECT_NE(report_text(e).find("no OSPF neighbour 2.2.2.2"), std::string::npos);
}

}  // namespace
}  // namespace np::eval
