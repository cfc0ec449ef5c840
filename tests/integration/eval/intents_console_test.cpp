// Intent checks graded end to end (telnet session, engine, report) on emulated consoles of the platforms that
// cannot run here, fed with real device outputs (tests/unit/eval/data/intents/README.md): each console
// answers the commands its platform's intent parsers send, and a spec mixing intents and a raw matcher
// gets exact statuses and the parsed records as evidence.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "console_emulator.hpp"
#include "eval/engine.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

using testing::ConsoleEmulator;
using testing::ConsoleScript;

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(NETPRAXIS_SOURCE_DIR) + "/tests/unit/eval/data/intents/" + name);
    EXPECT_TRUE(in.good()) << name;
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (!s.empty() && s.back() != '\n') s += '\n';
    return s;
}

std::string dump(const Evaluation& e) {
    return report_text(e) + "\n" + report_json(e, false, true);
}

struct Expect {
    CheckStatus status;
    std::string evidence;  // a substring
};

// Grades `checks` (YAML list items) on one emulated device and compares each check's status and evidence.
void grade_on(const std::string& platform, ConsoleScript s, const std::string& checks,
              const std::vector<Expect>& expected) {
    ConsoleEmulator console(std::move(s));
    ParseResult r = parse_spec("id: t\ndevices: {d1: {platform: " + platform + "}}\nchecks:\n" + checks);
    ASSERT_TRUE(r.ok()) << r.diagnostics[0].text();
    r.spec.grading.settle.enabled = false;  // the consoles answer the same every time
    std::map<std::string, DeviceTarget> t{{"d1", DeviceTarget{"d1", platform, "telnet", "127.0.0.1",
                                                              console.port(), "", "", "", "", "", "", ""}}};
    EngineOptions o;
    o.open_timeout = std::chrono::seconds(10);
    o.command_timeout = std::chrono::seconds(10);
    Evaluation e = evaluate_blocking(PlatformRegistry::builtin(), o, r.spec, "alice", t);
    console.stop();
    ASSERT_EQ(e.checks.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(e.checks[i].status, expected[i].status) << e.checks[i].id << "\n" << dump(e);
        EXPECT_NE(e.checks[i].evidence.find(expected[i].evidence), std::string::npos)
            << e.checks[i].id << ": " << e.checks[i].evidence;
    }
}

TEST(IntentConsoles, CiscoIos) {
    ConsoleScript s;
    s.banner = "\nPress RETURN to get started.\n";
    s.wait_for_return = true;
    s.prompt = "R1#";
    s.config_prompt = "R1(config)#";
    s.outputs["terminal length 0"] = "";
    s.outputs["terminal width 511"] = "";
    s.outputs["show ip ospf neighbor detail"] = fixture("cisco_ios_show_ip_ospf_neighbor_detail.txt");
    s.outputs["show ip route"] = fixture("cisco_ios_show_ip_route.txt");
    s.outputs["show ip bgp summary"] = fixture("cisco_ios_show_ip_bgp_summary.txt");
    s.outputs["show interfaces"] = fixture("cisco_ios_show_interfaces.txt");
    s.outputs["show vlan brief"] = fixture("cisco_ios_show_vlan_brief.txt");
    s.outputs["ping 192.168.0.1 repeat 5"] = fixture("cisco_ios_ping.txt");
    s.outputs["show running-config"] = fixture("cisco_ios_show_running_config.txt");
    grade_on(
        "cisco_ios", s,
        "  - {id: nbr, on: d1, ospf_neighbor: {router_id: 10.0.0.2, state: full, area: 0}}\n"
        "  - {id: nbr2, on: d1, ospf_neighbor: {router_id: 192.168.5.2, interface: Gi9/9}}\n"
        "  - {id: rt, on: d1, route: {prefix: 6.6.0.0/16, protocol: bgp, next_hop: 195.0.0.1}}\n"
        "  - {id: bgp, on: d1, bgp_session: {peer: 10.0.0.10, state: established}}\n"
        "  - {id: if, on: d1, interface: {name: GigabitEthernet0/1, oper: up, description: to iosvl2-2}}\n"
        "  - {id: vlan, on: d1, vlan: {id: 60, name: VLan60, ports: Fa0/24}}\n"
        "  - {id: ping, on: d1, reachability: 192.168.0.1}\n"
        "  - {id: cfg, on: d1, config: {section: interface GigabitEthernet2/0/4.223436, line: ip "
        "access-group "
        "iACL in}}\n"
        "  - {id: raw, on: d1, run: show ip route, expect: {match: '^O\\*E2 0\\.0\\.0\\.0/0'}}\n",
        {{CheckStatus::passed, "OSPF neighbour 10.0.0.2: Neighbor 10.0.0.2, interface address 10.0.0.2"},
         {CheckStatus::failed, "OSPF neighbour 192.168.5.2: interface GigabitEthernet1/0/0, expected Gi9/9"},
         {CheckStatus::passed, "route 6.6.0.0/16"},
         {CheckStatus::failed, "BGP session 10.0.0.10: state Idle (Admin), expected established"},
         {CheckStatus::passed, "interface GigabitEthernet0/1"},
         {CheckStatus::passed, "VLAN 60"},
         {CheckStatus::passed, "ping to 192.168.0.1: 5/5 replies (100%)"},
         {CheckStatus::passed, "interface GigabitEthernet2/0/4.223436 > ip access-group iACL in"},
         {CheckStatus::passed, "O*E2 0.0.0.0/0"}});
}

TEST(IntentConsoles, AristaEos) {
    ConsoleScript s;
    s.user_prompt = "sw1>";
    s.prompt = "sw1#";
    s.config_prompt = "sw1(config)#";
    s.outputs["terminal length 0"] = "Pagination disabled.\n";
    s.outputs["terminal width 32767"] = "Width set to 32767 columns.\n";
    s.outputs["show interfaces"] = fixture("arista_eos_show_interfaces.txt");
    s.outputs["show ip route"] = fixture("arista_eos_show_ip_route.txt");
    s.outputs["show ip ospf neighbor"] = fixture("arista_eos_show_ip_ospf_neighbor.txt");
    s.outputs["show ip bgp summary"] = fixture("arista_eos_show_ip_bgp_summary.txt");
    s.outputs["show vlan"] = fixture("arista_eos_show_vlan.txt");
    grade_on("arista_eos", s,
             "  - {id: if, on: d1, interface: {name: Ethernet1, address: 172.16.1.1/24, oper: up}}\n"
             "  - {id: rt, on: d1, route: {prefix: 10.100.233.34/32, next_hop: 192.168.38.5, interface: "
             "Ethernet21}}\n"
             "  - {id: nbr, on: d1, ospf_neighbor: {router_id: 2.2.2.2, state: full}}\n"
             "  - {id: bgp, on: d1, bgp_session: {peer: 10.17.254.78, prefixes_received: '>= 10'}}\n"
             "  - {id: vlan, on: d1, vlan: {id: 20, name: Test2, ports: Et2}}\n",
             {{CheckStatus::passed, "interface Ethernet1"},
              {CheckStatus::passed, "route 10.100.233.34/32"},
              {CheckStatus::passed, "OSPF neighbour 2.2.2.2"},
              {CheckStatus::failed, "BGP session 10.17.254.78: prefixes_received 7, expected >= 10"},
              {CheckStatus::failed, "VLAN 20: ports not shown, expected Et2"}});
}

TEST(IntentConsoles, JuniperJunos) {
    ConsoleScript s;
    s.prompt = "lab@vmx1>";
    s.config_prompt = "lab@vmx1#";
    s.outputs["set cli screen-length 0"] = "Screen length set to 0\n";
    s.outputs["set cli screen-width 511"] = "Screen width set to 511\n";
    s.outputs["set cli complete-on-space off"] = "Disabling complete-on-space\n";
    s.outputs["show interfaces"] = fixture("juniper_junos_show_interfaces.txt");
    s.outputs["show route"] = fixture("juniper_junos_show_route.txt");
    s.outputs["show ospf neighbor detail"] = fixture("juniper_junos_show_ospf_neighbor.txt");
    s.outputs["show bgp summary"] = fixture("juniper_junos_show_bgp_summary.txt");
    s.outputs["show vlans"] = fixture("juniper_junos_show_vlans.txt");
    grade_on(
        "juniper_junos", s,
        "  - {id: if, on: d1, interface: {name: ge-0/0/0, address: 10.10.199.180/29, description: Test}}\n"
        "  - {id: rt, on: d1, route: {prefix: 0.0.0.0/0, protocol: ospf, next_hop: 10.169.14.121}}\n"
        "  - {id: nbr, on: d1, ospf_neighbor: {router_id: 3.3.3.3, state: full, interface: ge-0/0/3.0}}\n"
        "  - {id: bgp, on: d1, bgp_session: {peer: 198.51.100.200, state: established, prefixes_received: "
        "70}}\n"
        "  - {id: vlan, on: d1, vlan: {id: 1005, ports: [ge-0/0/7.0, xe-0/0/9.0]}}\n",
        {{CheckStatus::passed, "interface ge-0/0/0"},
         {CheckStatus::passed, "route 0.0.0.0/0"},
         {CheckStatus::passed, "OSPF neighbour 3.3.3.3"},
         {CheckStatus::passed, "BGP session 198.51.100.200"},
         {CheckStatus::passed, "VLAN 1005"}});
}

TEST(IntentConsoles, MikrotikRouterOs) {
    ConsoleScript s;
    s.prompt = "[admin@MikroTik] > ";
    s.outputs["/interface print terse without-paging"] =
        fixture("mikrotik_routeros_interface_print_terse.txt");
    s.outputs["/ip address print terse without-paging"] =
        " 0   address=10.159.1.159/30 network=10.159.1.158 interface=ether2_UniFi2 "
        "actual-interface=ether2_UniFi2\n";
    s.outputs["/ip route print terse without-paging"] = fixture("mikrotik_routeros_ip_route_print_terse.txt");
    s.outputs["/routing ospf neighbor print without-paging"] =
        fixture("mikrotik_routeros_routing_ospf_neighbor_print.txt");
    s.outputs["/export"] = fixture("mikrotik_routeros_export.txt");
    grade_on(
        "mikrotik_routeros", s,
        "  - {id: if, on: d1, interface: {name: ether2_UniFi2, address: 10.159.1.159/30, oper: up}}\n"
        "  - {id: rt, on: d1, route: {prefix: 0.0.0.0/0, protocol: static, fib: true, next_hop: "
        "185.138.116.223}}\n"
        "  - {id: nbr, on: d1, ospf_neighbor: {router_id: 89.188.172.2, state: full, interface: vlan68}}\n"
        "  - {id: cfg, on: d1, config: {section: /ip address, line: add address=10.80.90.5/27 "
        "interface=ether9}}\n",
        {{CheckStatus::passed, "interface ether2_UniFi2"},
         {CheckStatus::passed, "route 0.0.0.0/0"},
         {CheckStatus::passed, "OSPF neighbour 89.188.172.2"},
         {CheckStatus::failed, "no 'add address=10.80.90.5/27 interface=ether9' in section '/ip address'"}});
}

TEST(IntentConsoles, Vyos) {
    ConsoleScript s;
    s.prompt = "vyos@vyos:~$ ";
    s.config_prompt = "vyos@vyos# ";
    s.outputs["set terminal length 0"] = "";
    s.outputs["set terminal width 512"] = "";
    s.outputs["show interfaces"] = fixture("vyos_show_interfaces.txt");
    grade_on(
        "vyos", s,
        "  - {id: if, on: d1, interface: {name: lo, address: 172.18.255.110/32, admin: up}}\n"
        "  - {id: vtun, on: d1, interface: {name: vtun1, description: OpenVPN-TUNNEL2}}\n",
        {{CheckStatus::passed, "interface lo"},
         {CheckStatus::failed, "interface vtun1: description OpenVPN-TUNNEL1, expected OpenVPN-TUNNEL2"}});
}

}  // namespace
}  // namespace np::eval
