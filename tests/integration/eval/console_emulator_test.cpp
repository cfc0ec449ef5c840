// The CLI session and engine against scripted consoles of platforms that cannot run here: cisco_ios,
// juniper_junos, arista_eos and mikrotik_routeros (paging, "Press RETURN", config-mode prompts, slow
// output, ANSI colour, a console that never answers, a command that never completes).
#include "console_emulator.hpp"

#include <gtest/gtest.h>

#include "eval/engine.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

using testing::ConsoleEmulator;
using testing::ConsoleScript;

std::string dump(const Evaluation& e) {
    return report_text(e) + "\n" + report_json(e, false, true);
}

// Graded in one round (settle off): the emulated consoles answer the same every time, nothing converges, and
// several specs fail a check on purpose (settle would grade them again for 30 s to no effect).
Spec spec_of(const std::string& yaml) {
    ParseResult r = parse_spec(yaml);
    EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].text());
    r.spec.grading.settle.enabled = false;
    return r.spec;
}

std::map<std::string, DeviceTarget> one(const std::string& name, const std::string& platform,
                                        std::uint16_t port) {
    return {{name, DeviceTarget{name, platform, "telnet", "127.0.0.1", port, "", "", "", "", "", "", ""}}};
}

Evaluation grade(const Spec& spec, const std::map<std::string, DeviceTarget>& targets,
                 std::chrono::milliseconds open = std::chrono::seconds(5),
                 std::chrono::milliseconds command = std::chrono::seconds(5)) {
    EngineOptions o;
    o.open_timeout = open;
    o.command_timeout = command;
    return evaluate_blocking(PlatformRegistry::builtin(), o, spec, "alice", targets);
}

std::string running_config() {
    std::string c = "Building configuration...\n\nCurrent configuration : 1234 bytes\n!\nhostname R1\n!\n";
    for (int i = 0; i < 4; ++i)
        c += "interface GigabitEthernet0/" + std::to_string(i) + "\n ip address 10.0." + std::to_string(i) +
             ".1 255.255.255.0\n" + (i == 1 ? " ip ospf 1 area 0\n" : " shutdown\n") + "!\n";
    c += "router ospf 1\n router-id 1.1.1.1\n!\nline con 0\n logging synchronous\n!\nend\n";
    return c;
}

TEST(ConsoleEmulators, CiscoIosPressReturnEnablePagingAndConfigMode) {
    ConsoleScript s;
    s.banner = "\n\nR1 con0 is now available\n\n\n\n\nPress RETURN to get started.\n";
    s.wait_for_return = true;
    s.user_prompt = "R1>";
    s.prompt = "R1#";
    s.config_prompt = "R1(config-if)#";
    s.start_in_config = true;  // left in interface configuration by the student
    s.pager_marker = " --More-- ";
    s.page_lines = 6;
    s.pager_off = "";  // this console ignores `terminal length 0`: the session must answer --More--
    s.outputs["show running-config"] = running_config();
    s.outputs["terminal length 0"] = "";
    s.outputs["terminal width 511"] = "";
    s.outputs["ping 10.0.1.2"] =
        "Type escape sequence to abort.\nSending 5, 100-byte ICMP Echos to 10.0.1.2, timeout is 2 "
        "seconds:\n.!!!!\n"
        "Success rate is 80 percent (4/5), round-trip min/avg/max = 1/2/4 ms\n";
    ConsoleEmulator console(s);
    Spec spec = spec_of(R"(id: ios
devices: {r1: {platform: cisco_ios}}
checks:
  - id: g01
    on: r1
    run: show running-config
    expect:
      section:
        parent: '^interface GigabitEthernet0/1$'
        children:
          all:
            - line: ip address 10.0.1.1 255.255.255.0
            - line: ip ospf 1 area 0
            - not: {line: shutdown}
    points: 2
  - id: g02-shut
    on: r1
    run: show running-config
    expect: {section: {parent: '^interface GigabitEthernet0/2$', children: {line: shutdown}}}
  - id: ping
    on: r1
    run: ping 10.0.1.2
    expect: {ping: {min_success: 80}}
  - id: bad
    on: r1
    run: show ip bgp
    expect: {contains: BGP}
)");
    Evaluation e = grade(spec, one("r1", "cisco_ios", console.port()));
    EXPECT_EQ(e.score, 4) << dump(e);
    EXPECT_EQ(e.checks[3].status, CheckStatus::failed) << dump(e);
    // The refused command is flagged in the transcript with the platform's error marker.
    bool flagged = false;
    for (const auto& t : e.transcript)
        flagged = flagged || t.error.find("% Invalid input detected") != std::string::npos;
    EXPECT_TRUE(flagged) << dump(e);
    console.stop();
    auto cmds = console.commands();
    // RETURN to get started, `end` to leave the student's config mode, `enable`, then paging off.
    ASSERT_GE(cmds.size(), 4u);
    EXPECT_NE(std::find(cmds.begin(), cmds.end(), "end"), cmds.end());
    EXPECT_NE(std::find(cmds.begin(), cmds.end(), "enable"), cmds.end());
    EXPECT_EQ(std::count(cmds.begin(), cmds.end(), "show running-config"), 1);  // run once for two checks
    EXPECT_FALSE(console.left_in_config());
    EXPECT_EQ(console.connections(), 1);
}

TEST(ConsoleEmulators, JunosPagerOffAndPingSummary) {
    ConsoleScript s;
    s.prompt = "lab@vmx1>";
    s.config_prompt = "lab@vmx1#";
    s.pager_marker = "---(more)---";
    s.page_lines = 3;
    s.pager_off = "set cli screen-length 0";
    s.unknown = "                ^\nunknown command.\n";
    s.outputs["set cli screen-width 511"] = "Screen width set to 511\n";
    s.outputs["set cli complete-on-space off"] = "Disabling complete-on-space\n";
    s.outputs["show interfaces terse"] =
        "Interface               Admin Link Proto    Local                 Remote\nge-0/0/0                "
        "up    up\n"
        "ge-0/0/0.0              up    up   inet     10.1.1.1/24\nge-0/0/1                up    down\nlo0.0  "
        "                 up    up   inet     1.1.1.1/32\n";
    s.outputs["ping 10.1.1.2 count 5"] =
        "PING 10.1.1.2 (10.1.1.2): 56 data bytes\n64 bytes from 10.1.1.2: icmp_seq=0 ttl=64 time=1.1 ms\n\n"
        "--- 10.1.1.2 ping statistics ---\n5 packets transmitted, 5 packets received, 0% packet loss\n";
    ConsoleEmulator console(s);
    Spec spec = spec_of(R"(id: junos
devices: {vmx1: {platform: juniper_junos}}
checks:
  - {id: addr, on: vmx1, run: show interfaces terse, expect: {match: '^ge-0/0/0\.0\s+up\s+up\s+inet\s+10\.1\.1\.1/24'}}
  - {id: links-up, on: vmx1, run: show interfaces terse, expect: {count: {pattern: '^ge-\S+\s+up\s+up', min: 3}}, partial: false}
  - {id: ping, on: vmx1, run: ping 10.1.1.2 count 5, expect: {ping: {min_success: 100}}}
)");
    Evaluation e = grade(spec, one("vmx1", "juniper_junos", console.port()));
    auto cmds = (console.stop(), console.commands());
    EXPECT_EQ(e.checks[0].status, CheckStatus::passed) << dump(e);
    EXPECT_EQ(e.checks[1].status, CheckStatus::failed) << dump(e);  // two of the three ge- lines are up/up
    EXPECT_EQ(e.checks[2].status, CheckStatus::passed) << dump(e);
    EXPECT_EQ(e.score, 2);
    // Every command arrived intact (telnet negotiation replies are not mixed into the first line).
    auto first = std::find_if(cmds.begin(), cmds.end(), [](const std::string& c) { return !c.empty(); });
    ASSERT_NE(first, cmds.end());
    EXPECT_EQ(*first, "set cli screen-length 0");
}

TEST(ConsoleEmulators, AristaSlowOutputInPieces) {
    ConsoleScript s;
    s.user_prompt = "sw1>";
    s.prompt = "sw1#";
    s.config_prompt = "sw1(config)#";
    s.latency = std::chrono::milliseconds(40);
    s.chunks = 6;  // the reply trickles in: prompt detection must wait for the end
    s.outputs["terminal length 0"] = "Pagination disabled.\n";
    s.outputs["terminal width 32767"] = "Width set to 32767 columns.\n";
    s.outputs["show vlan"] =
        "VLAN  Name                             Status    Ports\n----- -------------------------------- "
        "--------- ----------\n"
        "1     default                          active    Et3\n10    users                            active "
        "   Et1\n"
        "20    servers                          active    Et2\n";
    ConsoleEmulator console(s);
    Spec spec = spec_of(R"(id: eos
devices: {sw1: {platform: arista_eos}}
checks:
  - id: vlans
    on: sw1
    run: show vlan
    expect: {at_least: {n: 2, of: [{match: '^10\s+users\s+active'}, {match: '^20\s+servers'}, {match: '^30\s'}]}}
  - id: all-vlans
    on: sw1
    run: show vlan
    partial: true
    points: 3
    expect: {all: [{match: '^10\s'}, {match: '^20\s'}, {match: '^30\s'}]}
)");
    Evaluation e = grade(spec, one("sw1", "arista_eos", console.port()));
    EXPECT_EQ(e.checks[0].status, CheckStatus::passed) << dump(e);
    EXPECT_EQ(e.checks[1].status, CheckStatus::failed) << dump(e);
    EXPECT_DOUBLE_EQ(e.checks[1].points, 2.0) << dump(e);
    EXPECT_DOUBLE_EQ(e.score, 3.0);
}

TEST(ConsoleEmulators, RouterOsAnsiColourPrompt) {
    ConsoleScript s;
    s.prompt = "\x1b[9999B[admin@MikroTik] > ";
    s.outputs["/ip address print"] =
        "Flags: X - disabled, I - invalid, D - dynamic \n \x1b[m\x1b[32m#\x1b[m   ADDRESS            NETWORK "
        "        "
        "INTERFACE\n 0   192.168.88.1/24    192.168.88.0    ether2\n";
    ConsoleEmulator console(s);
    Spec spec = spec_of(R"(id: ros
devices: {gw: {platform: mikrotik_routeros}}
checks:
  - {id: lan, on: gw, run: /ip address print, expect: {match: '^\s*0\s+192\.168\.88\.1/24\s+192\.168\.88\.0\s+ether2'}}
)");
    Evaluation e = grade(spec, one("gw", "mikrotik_routeros", console.port()));
    EXPECT_EQ(e.score, 1) << dump(e);
    EXPECT_EQ(e.transcript.at(0).output.find('\x1b'), std::string::npos) << dump(e);
}

TEST(ConsoleEmulators, ConsoleThatNeverAnswersIsAnErrorNotAHang) {
    ConsoleScript s;
    s.silent = true;
    ConsoleEmulator console(s);
    Spec spec = spec_of(R"(id: dead
devices: {r1: {platform: cisco_ios}}
checks:
  - {id: a, on: r1, run: show version, expect: {contains: IOS}, points: 2}
  - {id: b, on: r1, run: show ip int brief, expect: {contains: up}, requires: [a]}
)");
    auto began = std::chrono::steady_clock::now();
    Evaluation e = grade(spec, one("r1", "cisco_ios", console.port()), std::chrono::milliseconds(1500));
    auto took = std::chrono::steady_clock::now() - began;
    EXPECT_LT(took, std::chrono::seconds(5));
    EXPECT_EQ(e.checks[0].status, CheckStatus::error) << dump(e);
    EXPECT_EQ(e.checks[1].status, CheckStatus::skipped) << dump(e);
    EXPECT_NE(e.checks[0].feedback.find("no cisco_ios prompt before the deadline (the console sent nothing)"),
              std::string::npos)
        << dump(e);
    EXPECT_EQ(e.score, 0);
}

TEST(ConsoleEmulators, TimedOutSessionIsReopenedNotReused) {
    ConsoleScript s;
    s.prompt = "R1#";
    s.hang_on = "show tech-support";
    s.outputs["show version"] = "Cisco IOS Software, Version 15.9\n";
    ConsoleEmulator console(s);
    Spec spec = spec_of(R"(id: hang
devices: {r1: {platform: cisco_ios}}
checks:
  - {id: tech, on: r1, run: show tech-support, expect: {contains: x}, timeout: 1s}
  - {id: version, on: r1, run: show version, expect: {contains: 'Version 15'}}
)");
    Evaluation e = grade(spec, one("r1", "cisco_ios", console.port()));
    EXPECT_EQ(e.checks[0].status, CheckStatus::error) << dump(e);
    EXPECT_NE(e.checks[0].feedback.find("no prompt after 'show tech-support'"), std::string::npos) << dump(e);
    EXPECT_EQ(e.checks[1].status, CheckStatus::passed) << dump(e);
    console.stop();
    EXPECT_EQ(console.connections(), 2);  // a fresh session after the timeout
}

TEST(ConsoleEmulators, GlobalBoundLimitsConcurrentEvaluations) {
    ConsoleScript s;
    s.prompt = "R1#";
    s.latency = std::chrono::milliseconds(20);
    s.outputs["show version"] = "Cisco IOS Software, Version 15.9\n";
    ConsoleEmulator console(s);
    Spec spec = spec_of(R"(id: bound
devices: {r1: {platform: cisco_ios}}
checks:
  - {id: v, on: r1, run: show version, expect: {contains: 'Version 15'}}
)");
    auto targets = one("r1", "cisco_ios", console.port());
    // Counts sessions open at once on the grader's side (the console sees hang-ups late).
    struct CountingSession : Session {
        std::unique_ptr<Session> inner;
        int& open_now;
        int& max_open;
        CountingSession(std::unique_ptr<Session> s, int& o, int& m)
            : inner(std::move(s)), open_now(o), max_open(m) {}
        boost::asio::awaitable<void> open(Deadline d) override {
            max_open = std::max(max_open, ++open_now);
            co_await inner->open(d);
        }
        boost::asio::awaitable<std::string> run(const std::string& c, Deadline d) override {
            co_return co_await inner->run(c, d);
        }
        boost::asio::awaitable<void> close() override {
            --open_now;
            co_await inner->close();
        }
        bool broken() const override { return inner->broken(); }
    };
    for (std::size_t bound : {1u, 3u}) {
        boost::asio::io_context io;
        EngineOptions o;
        o.max_concurrent_evaluations = bound;
        Engine engine(PlatformRegistry::builtin(), o);
        int open_now = 0, max_open = 0;
        engine.set_session_factory(
            [&](boost::asio::any_io_executor ex, const DeviceTarget& t, const Platform& p) {
                return std::make_unique<CountingSession>(make_session(ex, t, p, nullptr), open_now, max_open);
            });
        double total = 0;
        for (int i = 0; i < 6; ++i)
            boost::asio::co_spawn(
                io,
                [&, i]() -> boost::asio::awaitable<void> {
                    Evaluation e = co_await engine.evaluate(spec, "s" + std::to_string(i), targets);
                    total += e.score;
                },
                boost::asio::detached);
        io.run();
        EXPECT_EQ(total, 6);
        // One device per lab: open consoles never exceed the number of evaluations allowed at once.
        EXPECT_EQ(max_open, static_cast<int>(bound)) << "bound " << bound;
        EXPECT_EQ(open_now, 0);
    }
}

TEST(Reports, StudentViewConcealsHiddenChecks) {
    Evaluation e;
    e.exercise = "x";
    e.student = "alice";
    e.score = 1;
    e.max_score = 3;
    CheckResult open_check{
        "visible", "Visible check", "r1", CheckStatus::passed, 1, 1, "ok", "line 1", false, 1, {}, {}, {}};
    CheckResult hidden{"secret",
                       "R1 runs OSPF in area 3",
                       "r1",
                       CheckStatus::failed,
                       0,
                       2,
                       "Use area 3",
                       "no line equals 'network 10.0.0.0/24 area 3'",
                       true,
                       1,
                       {},
                       {},
                       {}};
    hidden.commands = {"show running-config"};
    e.checks = {open_check, hidden};
    e.transcript.push_back({"r1", "show running-config", "router ospf", "", 0, 5});
    std::string teacher = report_json(e, false, true);
    EXPECT_NE(teacher.find("area 3"), std::string::npos);
    std::string student = report_json(e, true, true);
    EXPECT_EQ(student.find("area 3"), std::string::npos) << student;
    EXPECT_EQ(student.find("Use area 3"), std::string::npos) << student;
    EXPECT_EQ(student.find("show running-config"), std::string::npos) << student;
    EXPECT_EQ(student.find("secret"), std::string::npos) << student;
    EXPECT_NE(student.find("\"max_points\":2"), std::string::npos) << student;  // its points stay visible
    EXPECT_NE(student.find("Hidden check"), std::string::npos);
    std::string text = report_text(e, true);
    EXPECT_EQ(text.find("area 3"), std::string::npos) << text;
    EXPECT_NE(text.find("Score: 1 / 3"), std::string::npos) << text;
}

}  // namespace
}  // namespace np::eval
