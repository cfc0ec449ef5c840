// Intent checks: the spec syntax (bad fields named), the shipped parsers of every platform on real device
// outputs (tests/unit/eval/data/intents/README.md says where each comes from), the evidence a student sees,
// overrides with --platforms, and the linter saying which platforms observe which intent.
#include "eval/intent.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "eval/lint.hpp"
#include "eval/matcher.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

std::string data(const std::string& name) {
    std::ifstream in(std::string(NETPRAXIS_SOURCE_DIR) + "/tests/unit/eval/data/" + name);
    EXPECT_TRUE(in.good()) << name;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string spec_with(const std::string& platform, const std::string& check) {
    return "id: t\ndevices: {d1: {platform: " + platform + "}}\nchecks:\n  - id: c\n    on: d1\n    " +
           check + "\n";
}

Intent intent_of(const std::string& platform, const std::string& check) {
    ParseResult r = parse_spec(spec_with(platform, check));
    EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].text());
    if (!r.ok() || !r.spec.checks.at(0).intent) return {};
    return *r.spec.checks.at(0).intent;
}

struct Case {
    std::string platform, check, file;
    bool passes;
    std::string evidence;  // a substring of the evidence
};

void PrintTo(const Case& c, std::ostream* os) {
    *os << c.platform << " " << c.check;
}

class Parsers : public ::testing::TestWithParam<Case> {};

TEST_P(Parsers, GradeRealOutput) {
    const Case& c = GetParam();
    const Platform& p = *PlatformRegistry::builtin().find(c.platform);
    Intent intent = intent_of(c.platform, c.check);
    ASSERT_FALSE(intent.kind.empty());
    EXPECT_FALSE(intent_commands(intent, p, {}).empty());
    MatchOutcome o = evaluate_intent(intent, data(c.file), {}, p);
    EXPECT_EQ(o.passed, c.passes) << o.evidence;
    EXPECT_NE(o.evidence.find(c.evidence), std::string::npos) << o.evidence;
}

const std::string I = "intents/";
INSTANTIATE_TEST_SUITE_P(
    Frr, Parsers,
    ::testing::Values(
        Case{"frr", "ospf_neighbor: {router_id: 2.2.2.2, state: Full}",
             "intents/frr_show_ip_ospf_neighbor_detail.txt", true, "OSPF neighbour 2.2.2.2"},
        Case{"frr", "ospf_neighbor: {router_id: 2.2.2.2, state: full, area: 1, interface: eth1}",
             "intents/frr_show_ip_ospf_neighbor_detail.txt", true, ""},
        Case{"frr", "ospf_neighbor: {router_id: 2.2.2.2, state: Full}",
             "intents/frr_ospf_neighbor_early_detail.txt", false,
             "OSPF neighbour 2.2.2.2: state Init, expected Full"},
        Case{"frr", "ospf_neighbor: {router_id: 3.3.3.3}", "intents/frr_show_ip_ospf_neighbor_detail.txt",
             false, "no OSPF neighbour 3.3.3.3 (shown: 2.2.2.2)"},
        Case{"frr", "route: {prefix: 192.168.2.0/24, protocol: ospf, next_hop: 10.12.0.2, fib: true}",
             "frr_r1_show_ip_route.txt", true, "O>* 192.168.2.0/24"},
        Case{"frr", "route: {prefix: 192.168.1.0/24, protocol: ospf, fib: true}", "frr_r1_show_ip_route.txt",
             false, "route 192.168.1.0/24: fib false, expected true"},
        Case{"frr", "route: {prefix: 192.168.2.0/24, protocol: static, present: false}",
             "frr_r1_show_ip_route.txt", true, "as required"},
        Case{"frr", "route: {prefix: 10.9.9.0/24}", "frr_r1_show_ip_route.txt", false,
             "no route 10.9.9.0/24"},
        Case{"frr", "config: {section: router ospf, line: network 192.168.1.0/24 area 0}",
             "frr_r1_show_running_config.txt", true, "router ospf > network 192.168.1.0/24 area 0"},
        Case{"frr", "config: {section: router ospf, line: network 192.168.9.0/24 area 0}",
             "frr_r1_show_running_config.txt", false,
             "no 'network 192.168.9.0/24 area 0' in section 'router ospf'"},
        Case{"frr", "config: {section: router bgp, line: neighbor 10.0.0.2 remote-as 2}",
             "frr_r1_show_running_config.txt", false, "no section 'router bgp'"},
        Case{"frr", "config: {line: 'ip route 0.0.0.0/0 10.0.0.1', present: false}",
             "frr_r1_show_running_config.txt", true, "as required"},
        Case{"frr",
             "interface: {name: eth1, admin: up, oper: up, address: 10.255.12.1/30, description: to r2, mtu: "
             "1500}",
             I + "frr_show_interface.txt", true, "interface eth1: Interface eth1 is up, line protocol is up"},
        Case{"frr", "interface: {name: eth2, mtu: 9000}", I + "frr_show_interface.txt", false,
             "interface eth2: mtu 1500, expected 9000"},
        Case{"frr",
             "bgp_session: {peer: 10.255.12.2, state: Established, remote_as: 65002, prefixes_received: 1}",
             I + "frr_show_bgp_neighbors.txt", true, "BGP session 10.255.12.2"},
        Case{"frr", "bgp_session: {peer: 10.255.12.2, prefixes_received: '>= 2'}",
             I + "frr_show_bgp_neighbors.txt", false, "prefixes_received 1, expected >= 2"},
        Case{"frr",
             "route: {prefix: 10.2.2.0/24, protocol: bgp, next_hop: 10.255.12.2, interface: eth1, fib: true}",
             I + "frr_show_ip_route_bgp.txt", true, "B>* 10.2.2.0/24"},
        Case{"frr", "config: {section: router bgp 65001, line: neighbor 10.255.12.2 remote-as 65002}",
             I + "frr_show_running_config_bgp.txt", true, ""}));

INSTANTIATE_TEST_SUITE_P(
    LinuxVpcs, Parsers,
    ::testing::Values(
        Case{"linux", "reachability: {target: 192.168.2.10, success: 100}", "linux_host_ns.txt", true,
             "ping to 192.168.2.10: 3/3 replies (100%)"},
        Case{"linux", "reachability: {target: 192.168.1.99, present: false}", I + "linux_ping_loss.txt", true,
             "0/3 replies"},
        Case{"linux", "interface: {name: eth1, admin: up, oper: up, address: 10.1.1.10/24, mtu: 1500}",
             I + "linux_ip_addr_show.txt", true, "eth1@if"},
        Case{"linux", "interface: {name: lo, address: 10.1.1.10/24}", I + "linux_ip_addr_show.txt", false,
             "interface lo: address 127.0.0.1/8, expected 10.1.1.10/24"},
        Case{"linux", "route: {prefix: 0.0.0.0/0, next_hop: 10.1.1.1, interface: eth1, protocol: static}",
             I + "linux_h1_ip_route_show.txt", true, "default via 10.1.1.1"},
        Case{"linux", "route: {prefix: 10.2.2.0/24, protocol: bgp, next_hop: 10.255.12.2}",
             I + "linux_r1_ip_route_show.txt", true, ""},
        Case{"linux", "route: {prefix: 10.2.2.0/24, protocol: ospf}", I + "linux_r1_ip_route_show.txt", false,
             "route 10.2.2.0/24: protocol bgp, expected ospf"},
        Case{"vpcs", "reachability: {target: 10.0.0.2, count: 3}", "vpcs083_gns3_console_pc1.txt", true,
             "3/3 replies"},
        Case{"vpcs", "interface: {name: eth0, address: 10.0.0.1/24, mtu: 1500}", "vpcs_pc1_session.txt", true,
             "interface eth0"},
        Case{"vpcs", "interface: {name: eth0, address: 10.0.0.9/24}", "vpcs_pc1_session.txt", false,
             "interface eth0: address 10.0.0.1/24, expected 10.0.0.9/24"},
        Case{"vpcs", "route: {prefix: 0.0.0.0/0}", "vpcs_pc1_session.txt", false, "no route 0.0.0.0/0"}));

INSTANTIATE_TEST_SUITE_P(
    CiscoIos, Parsers,
    ::testing::Values(
        Case{"cisco_ios",
             "ospf_neighbor: {router_id: 10.0.0.2, state: full, area: 0.0.0.0, interface: FastEthernet0/0}",
             I + "cisco_ios_show_ip_ospf_neighbor_detail.txt", true, "OSPF neighbour 10.0.0.2"},
        Case{"cisco_ios", "route: {prefix: 172.20.1.1/32, protocol: ospf, next_hop: 194.0.0.2}",
             I + "cisco_ios_show_ip_route.txt", true, "172.20.1.1"},
        Case{"cisco_ios", "route: {prefix: 1.1.1.1/32, protocol: static, next_hop: [212.0.0.1, 192.168.0.1]}",
             I + "cisco_ios_show_ip_route.txt", true, "1.1.1.1"},
        Case{"cisco_ios", "route: {prefix: 10.0.5.64/26, protocol: eigrp, interface: Serial0/0}",
             I + "cisco_ios_show_ip_route.txt", true, ""},
        Case{"cisco_ios", "route: {prefix: 0.0.0.0/0, protocol: static}", I + "cisco_ios_show_ip_route.txt",
             false, "route 0.0.0.0/0: protocol ospf, expected static"},
        Case{"cisco_ios", "bgp_session: {peer: 10.0.0.4, state: established, prefixes_received: '>= 1000'}",
             I + "cisco_ios_show_ip_bgp_summary.txt", true, "10.0.0.4"},
        Case{"cisco_ios", "bgp_session: {peer: 10.0.0.10, state: established}",
             I + "cisco_ios_show_ip_bgp_summary.txt", false,
             "BGP session 10.0.0.10: state Idle (Admin), expected established"},
        Case{
            "cisco_ios",
            "interface: {name: GigabitEthernet0/1, admin: up, oper: up, description: to iosvl2-2, mtu: 1500}",
            I + "cisco_ios_show_interfaces.txt", true, ""},
        Case{"cisco_ios", "interface: {name: GigabitEthernet0/0, oper: up}",
             I + "cisco_ios_show_interfaces.txt", false,
             "interface GigabitEthernet0/0: oper down, expected up"},
        Case{"cisco_ios", "vlan: {id: 50, name: VLan50, ports: [Fa0/1, Fa0/12]}",
             I + "cisco_ios_show_vlan_brief.txt", true, "VLAN 50"},
        Case{"cisco_ios", "vlan: {id: 60, ports: Fa0/1}", I + "cisco_ios_show_vlan_brief.txt", false,
             "VLAN 60: ports Fa0/13"},
        Case{"cisco_ios", "reachability: 192.168.0.1", I + "cisco_ios_ping.txt", true, "5/5 replies"},
        Case{"cisco_ios",
             "config: {section: interface GigabitEthernet2/0/4.223427, line: ip address 10.53.8.241 "
             "255.255.255.252}",
             I + "cisco_ios_show_running_config.txt", true, ""},
        Case{"cisco_ios",
             "config: {section: interface GigabitEthernet2/0/4.223427, line: ip access-group iACL in}",
             I + "cisco_ios_show_running_config.txt", false, "no 'ip access-group iACL in'"}));

INSTANTIATE_TEST_SUITE_P(
    AristaEos, Parsers,
    ::testing::Values(
        Case{"arista_eos",
             "interface: {name: Ethernet2, admin: up, oper: up, address: 172.16.2.1/24, mtu: 1500}",
             I + "arista_eos_show_interfaces.txt", true, "Ethernet2"},
        Case{"arista_eos", "interface: {name: Ethernet1, description: uplink}",
             I + "arista_eos_show_interfaces.txt", false,
             "interface Ethernet1: description not shown, expected uplink"},
        Case{"arista_eos", "route: {prefix: 10.1.31.100/32, protocol: bgp, next_hop: 192.168.17.5}",
             I + "arista_eos_show_ip_route.txt", true, ""},
        Case{"arista_eos", "route: {prefix: 10.63.255.8/30, protocol: connected, interface: Ethernet20}",
             I + "arista_eos_show_ip_route.txt", true, ""},
        Case{"arista_eos", "ospf_neighbor: {router_id: 3.3.3.3, state: full, interface: Ethernet2}",
             I + "arista_eos_show_ip_ospf_neighbor.txt", true, ""},
        Case{"arista_eos", "bgp_session: {peer: 10.17.254.2, state: Established, prefixes_received: 7}",
             I + "arista_eos_show_ip_bgp_summary.txt", true, ""},
        Case{"arista_eos", "vlan: {id: 10, name: Test1, ports: [Et1, Et2]}", I + "arista_eos_show_vlan.txt",
             true, ""},
        Case{"arista_eos", "vlan: {id: 40}", I + "arista_eos_show_vlan.txt", false,
             "no VLAN 40 (shown: 1, 10, 20, 30)"}));

INSTANTIATE_TEST_SUITE_P(
    JuniperJunos, Parsers,
    ::testing::Values(
        Case{"juniper_junos",
             "interface: {name: ge-0/0/0, admin: up, oper: up, description: Test, mtu: 1514, address: "
             "10.10.199.180/29}",
             I + "juniper_junos_show_interfaces.txt", true, "ge-0/0/0"},
        Case{"juniper_junos",
             "route: {prefix: 10.36.3.3/32, protocol: ospf, next_hop: 10.169.14.121, fib: true}",
             I + "juniper_junos_show_route.txt", true, ""},
        Case{"juniper_junos", "route: {prefix: 10.1.0.0/24, fib: true}", I + "juniper_junos_show_route.txt",
             false, "fib false, expected true"},
        Case{"juniper_junos", "route: {prefix: 10.169.14.240/32, protocol: static}",
             I + "juniper_junos_show_route.txt", true, ""},
        Case{"juniper_junos", "ospf_neighbor: {router_id: 2.2.2.2, state: Full, interface: ge-0/0/2.0}",
             I + "juniper_junos_show_ospf_neighbor.txt", true, ""},
        Case{"juniper_junos", "bgp_session: {peer: 192.0.2.254, state: established, prefixes_received: 224}",
             I + "juniper_junos_show_bgp_summary.txt", true, ""},
        Case{"juniper_junos", "vlan: {id: 100, name: v100-Control, ports: [ae0.0, ge-0/0/3.0]}",
             I + "juniper_junos_show_vlans.txt", true, ""}));

INSTANTIATE_TEST_SUITE_P(
    MikrotikVyos, Parsers,
    ::testing::Values(
        Case{"mikrotik_routeros", "interface: {name: ether2_UniFi2, oper: up, admin: up, mtu: 1500}",
             I + "mikrotik_routeros_interface_print_terse.txt", true, ""},
        Case{"mikrotik_routeros", "interface: {name: bridge-VLAN2, admin: up}",
             I + "mikrotik_routeros_interface_print_terse.txt", false, "admin down, expected up"},
        Case{"mikrotik_routeros", "route: {prefix: 192.168.1.0/24, protocol: connected, fib: true}",
             I + "mikrotik_routeros_ip_route_print_terse.txt", true, ""},
        Case{"mikrotik_routeros", "route: {prefix: 10.199.199.75/32, protocol: static, fib: true}",
             I + "mikrotik_routeros_ip_route_print_terse.txt", false, "fib false, expected true"},
        Case{"mikrotik_routeros", "ospf_neighbor: {router_id: 89.188.172.3, state: Full, interface: vlan71}",
             I + "mikrotik_routeros_routing_ospf_neighbor_print.txt", true, ""},
        Case{"mikrotik_routeros", "bgp_session: {peer: 192.168.1.134, state: established}",
             I + "mikrotik_routeros_routing_bgp_peer_print_status.txt", false,
             "BGP session 192.168.1.134: state opensent, expected established"},
        Case{"mikrotik_routeros",
             "config: {section: /ip address, line: add address=10.159.1.159/30 interface=ether2}",
             I + "mikrotik_routeros_export.txt", true, "/ip address add address=10.159.1.159/30"},
        Case{"mikrotik_routeros", "reachability: {target: 8.8.8.8}", I + "mikrotik_routeros_ping.txt", true,
             "13/13 replies"},
        Case{"vyos",
             "interface: {name: eth1.269, address: [172.18.32.14/28, 123.123.123.123/32], admin: up, oper: "
             "up, description: CUST-COM}",
             I + "vyos_show_interfaces.txt", true, ""},
        Case{"vyos", "interface: {name: eth1.204, description: CUST-LAN}", I + "vyos_show_interfaces.txt",
             false, "description CUST-DS-LAN, expected CUST-LAN"}));

TEST(IntentSpec, BadFieldsAreNamed) {
    ParseResult r = parse_spec(spec_with("frr", "ospf_neighbor: {router_id: 2.2.2.2, stat: full}"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.diagnostics[0].path, "checks[0].ospf_neighbor.stat");
    EXPECT_NE(r.diagnostics[0].message.find("unknown field 'stat' of ospf_neighbor"), std::string::npos);

    r = parse_spec(spec_with("frr", "bgp_session: {peer: 10.0.0.2, prefixes_received: many}"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.diagnostics[0].path, "checks[0].bgp_session.prefixes_received");

    r = parse_spec(spec_with("frr", "route: {protocol: ospf}"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.diagnostics[0].path, "checks[0].route.prefix");

    r = parse_spec(spec_with("frr", "route: {prefix: 10.0.0.0/8, fib: perhaps}"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.diagnostics[0].path, "checks[0].route.fib");

    r = parse_spec(spec_with("frr", "route: {prefix: 10.0.0.0/8}\n    run: show ip route"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.diagnostics[0].path, "checks[0].run");

    r = parse_spec(spec_with("frr", "route: {prefix: 10.0.0.0/8}\n    config: {line: x}"));
    ASSERT_FALSE(r.ok());

    r = parse_spec(spec_with("frr", "config: {present: false}"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.diagnostics[0].message.find("needs line"), std::string::npos);
}

TEST(IntentSpec, ReachabilityRunsAfterControlPlaneChecks) {
    ParseResult r = parse_spec(
        "id: t\ndevices: {r1: frr, h1: linux}\nchecks:\n"
        "  - {id: ping, on: h1, reachability: 10.0.0.1}\n"
        "  - {id: adj, on: r1, ospf_neighbor: {router_id: 2.2.2.2, state: full}}\n"
        "  - {id: raw, on: r1, run: show ip route, expect: {contains: O>*}}\n");
    ASSERT_TRUE(r.ok()) << r.diagnostics[0].text();
    EXPECT_EQ(r.spec.checks[0].after_ids, std::vector<std::string>{"adj"});
    EXPECT_TRUE(r.spec.checks[1].after_ids.empty());
    EXPECT_FALSE(r.spec.checks[2].intent);
}

TEST(IntentCommands, PlaceholdersAreFilledAndHostileValuesRefused) {
    const Platform& linux = *PlatformRegistry::builtin().find("linux");
    Intent i = intent_of("linux", "reachability: {target: '{{ gw }}', count: 2}");
    Values v;
    v["gw"] = Value{Value::Kind::text, "10.0.0.1", 0, {}};
    EXPECT_EQ(intent_commands(i, linux, v), std::vector<std::string>{"ping -c 2 -W 1 10.0.0.1"});
    v["gw"] = Value{Value::Kind::text, "10.0.0.1; reboot", 0, {}};
    EXPECT_THROW(intent_commands(i, linux, v), core::Error);
    Intent ospf = intent_of("linux", "ospf_neighbor: {router_id: 1.1.1.1}");
    try {
        intent_commands(ospf, linux, {});
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("platform linux cannot observe ospf_neighbor"),
                  std::string::npos);
    }
}

TEST(IntentLint, NamesThePlatformsThatObserveAnIntent) {
    LintReport r = lint_spec(spec_with("vpcs", "ospf_neighbor: {router_id: 1.1.1.1, state: full}"),
                             PlatformRegistry::builtin());
    ASSERT_FALSE(r.ok());
    bool found = false;
    for (const auto& d : r.diagnostics)
        found =
            found || (d.path == "checks[0].ospf_neighbor" &&
                      d.message.find("platform vpcs (device d1) cannot observe ospf_neighbor (supported on: "
                                     "arista_eos, cisco_ios, frr, juniper_junos, mikrotik_routeros, vyos)") !=
                          std::string::npos);
    EXPECT_TRUE(found) << r.diagnostics[0].text();
    EXPECT_TRUE(lint_spec(spec_with("frr", "ospf_neighbor: {router_id: 1.1.1.1, state: full}"),
                          PlatformRegistry::builtin())
                    .ok());
}

TEST(IntentPlatforms, EveryShippedPlatformObservesTheIntentsThatApply) {
    const auto& reg = PlatformRegistry::builtin();
    for (const char* p : {"frr", "cisco_ios", "arista_eos", "juniper_junos", "mikrotik_routeros", "vyos"})
        for (const char* i : {"interface", "route", "ospf_neighbor", "bgp_session", "reachability", "config"})
            EXPECT_TRUE(reg.find(p)->intents.count(i) ||
                        (std::string(p) == "frr" && std::string(i) == "reachability"))
                << p << " " << i;
    for (const char* p : {"cisco_ios", "arista_eos", "juniper_junos"})
        EXPECT_TRUE(reg.find(p)->intents.count("vlan"));
    for (const char* i : {"interface", "route", "reachability"})
        EXPECT_TRUE(reg.find("linux")->intents.count(i));
    for (const char* i : {"interface", "route", "reachability"})
        EXPECT_TRUE(reg.find("vpcs")->intents.count(i));
}

TEST(IntentPlatforms, AnOverrideReplacesOneParser) {
    auto dir = std::filesystem::temp_directory_path() / ("np-intent-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "lab.yaml") << "vpcs:\n  intents:\n    ospf_neighbor:\n      command: show ospf\n"
                                       "      record: '^nbr (?<router_id>\\S+) (?<state>\\S+)'\n";
    PlatformRegistry reg = PlatformRegistry::with_overrides(dir.string());
    const Platform& vpcs = *reg.find("vpcs");
    Intent i = intent_of("vpcs", "ospf_neighbor: {router_id: 9.9.9.9, state: full}");
    EXPECT_EQ(intent_commands(i, vpcs, {}), std::vector<std::string>{"show ospf"});
    EXPECT_TRUE(evaluate_intent(i, "nbr 9.9.9.9 Full\n", {}, vpcs).passed);
    EXPECT_TRUE(vpcs.intents.count("reachability"));  // the others stay

    std::ofstream(dir / "lab.yaml") << "vpcs:\n  intents:\n    route: {command: x, record: '(?<prefix'}\n";
    try {
        PlatformRegistry::with_overrides(dir.string());
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("vpcs.intents.route.record"), std::string::npos) << e.what();
    }
    std::ofstream(dir / "lab.yaml") << "vpcs:\n  intents:\n    route: {command: x, recrd: y}\n";
    EXPECT_THROW(PlatformRegistry::with_overrides(dir.string()), core::Error);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace np::eval
