#include "eval/matcher.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace np::eval {
namespace {

std::string data(const std::string& name) {
    std::ifstream in(std::string(NETPRAXIS_SOURCE_DIR) + "/tests/unit/eval/data/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Matcher parse_matcher(const std::string& yaml) {
    std::string doc =
        "id: t\ndevices: {r1: {platform: frr}}\nchecks:\n  - id: c\n    on: r1\n    run: x\n    expect: " +
        yaml + "\n";
    ParseResult r = parse_spec(doc);
    EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].text());
    return r.ok() ? r.spec.checks.at(0).expect : Matcher{};
}

class MatcherTest : public ::testing::Test {
 protected:
    Values values;
    const Platform& frr = *PlatformRegistry::builtin().find("frr");
    void SetUp() override {
        values["lan_b"] = Value{Value::Kind::subnet, "", 0, Subnet::parse("192.168.2.0/24")};
        values["lan_a"] = Value{Value::Kind::subnet, "", 0, Subnet::parse("192.168.1.0/24")};
        values["area"] = Value{Value::Kind::integer, "", 0, {}};
    }
    MatchOutcome eval(const std::string& yaml, const std::string& output, const Platform* p = nullptr) {
        return evaluate_matcher(parse_matcher(yaml), output, values, p ? *p : frr);
    }
};

TEST_F(MatcherTest, RegexAgainstRealRouteTable) {
    std::string routes = data("frr_r1_show_ip_route.txt");
    auto o = eval(
        R"({all: [{match: 'O>\* {{ lan_b.network }}/{{ lan_b.prefix }}'}, {not: {match: 'S>\* {{ lan_b.network }}'}}]})",
        routes);
    EXPECT_TRUE(o.passed) << o.evidence;
    auto missing = eval(R"({match: 'O>\* 10\.99\.0\.0/24'})", routes);
    EXPECT_FALSE(missing.passed);
    EXPECT_NE(missing.evidence.find("no line matches"), std::string::npos);
    // Evidence is the whole matching line.
    auto one = eval(R"({match: 'O>\* {{ lan_b.network }}'})", routes);
    EXPECT_EQ(one.evidence, "O>* 192.168.2.0/24 [110/20] via 10.12.0.2, veth-r1, weight 1, 00:00:11");
}

TEST_F(MatcherTest, ContainsAndLine) {
    std::string cfg = data("frr_r1_show_running_config.txt");
    EXPECT_TRUE(eval(R"({contains: "router-id 1.1.1.1"})", cfg).passed);
    EXPECT_FALSE(eval(R"({contains: "router-id 9.9.9.9"})", cfg).passed);
    EXPECT_TRUE(eval(R"({line: "network {{ lan_a.network }}/24 area {{ area }}"})", cfg).passed);
    EXPECT_FALSE(eval(R"({line: "network 192.168.1.0/2"})", cfg).passed);  // whole line, not a prefix
}

TEST_F(MatcherTest, SectionLooksOnlyInsideTheBlock) {
    std::string cfg = data("frr_r1_show_running_config.txt");
    auto o = eval(
        R"({section: {parent: '^router ospf', children: {all: [{line: 'ospf router-id 1.1.1.1'}, {line: 'network 10.12.0.0/30 area 0'}]}}})",
        cfg);
    EXPECT_TRUE(o.passed) << o.evidence;
    // 'service integrated-vtysh-config' is in the file but not under router ospf.
    EXPECT_FALSE(
        eval(R"({section: {parent: '^router ospf', children: {contains: 'integrated-vtysh'}}})", cfg).passed);
    EXPECT_FALSE(eval(R"({section: {parent: '^router bgp'}})", cfg).passed);
    EXPECT_TRUE(eval(R"({section: {parent: '^router ospf'}})", cfg).passed);
}

TEST_F(MatcherTest, CountAndNumber) {
    std::string routes = data("frr_r1_show_ip_route.txt");
    EXPECT_TRUE(eval(R"({count: {pattern: '^O>\*', min: 2, max: 2}})", routes).passed);
    EXPECT_FALSE(eval(R"({count: {pattern: '^O>\*', min: 3}})", routes).passed);
    EXPECT_FALSE(eval(R"({count: {pattern: '^C>\*', max: 2}})", routes).passed);
    std::string neigh = data("frr_r1_show_ip_ospf_neighbor.txt");
    EXPECT_TRUE(eval(R"({number: {pattern: '2\.2\.2\.2\s+(\d+)', op: '==', value: 1}})", neigh).passed);
    EXPECT_FALSE(eval(R"({number: {pattern: '2\.2\.2\.2\s+(\d+)', op: '>', value: 1}})", neigh).passed);
    EXPECT_TRUE(
        eval(R"({number: {pattern: '\[110/(\d+)\] via 10\.12\.0\.2', op: '<=', value: 10}})", routes).passed);
}

TEST_F(MatcherTest, CombinatorsAndFractions) {
    std::string text = "alpha\nbeta\ngamma\n";
    auto all =
        eval(R"({all: [{contains: alpha}, {contains: beta}, {contains: delta}, {contains: omega}]})", text);
    EXPECT_FALSE(all.passed);
    EXPECT_DOUBLE_EQ(all.fraction, 0.5);
    EXPECT_TRUE(eval(R"({any: [{contains: delta}, {contains: gamma}]})", text).passed);
    EXPECT_FALSE(eval(R"({any: [{contains: delta}, {contains: omega}]})", text).passed);
    EXPECT_TRUE(
        eval(R"({at_least: {n: 2, of: [{contains: alpha}, {contains: delta}, {contains: beta}]}})", text)
            .passed);
    EXPECT_FALSE(
        eval(R"({at_least: {n: 3, of: [{contains: alpha}, {contains: delta}, {contains: beta}]}})", text)
            .passed);
    EXPECT_TRUE(eval(R"({not: {contains: delta}})", text).passed);
    EXPECT_FALSE(eval(R"({not: {contains: beta}})", text).passed);
}

TEST_F(MatcherTest, PingPerPlatform) {
    const auto& reg = PlatformRegistry::builtin();
    const Platform& linux_p = *reg.find("linux");
    const Platform& vpcs = *reg.find("vpcs");
    const Platform& ios = *reg.find("cisco_ios");
    std::string linux_out = data("linux_host_ns.txt");
    auto ok_part = linux_out.substr(0, linux_out.find("[exit status 0]", linux_out.find("ping -c 3 192")));
    ok_part = ok_part.substr(ok_part.find("$ ip netns exec h1 ping -c 3 192"));
    EXPECT_TRUE(eval("{ping: {min_success: 100}}", ok_part, &linux_p).passed);
    auto loss = linux_out.substr(linux_out.find("ping -c 3 -W 1 192.168.1.99"));
    loss = loss.substr(0, loss.find("[exit status 1]"));
    auto lo = eval("{ping: {min_success: 1}}", loss, &linux_p);
    EXPECT_FALSE(lo.passed);
    EXPECT_NE(lo.evidence.find("0/3"), std::string::npos) << lo.evidence;

    // VPCS 0.5b2 and 0.8.3 reply formats, timeouts and "not reachable".
    EXPECT_TRUE(eval("{ping: {min_success: 100}}",
                     "10.0.0.2 icmp_seq=1 ttl=64 time=0.071 ms\n10.0.0.2 icmp_seq=2 ttl=64 time=0.234 ms\n",
                     &vpcs)
                    .passed);
    EXPECT_TRUE(eval("{ping: {min_success: 60}}",
                     "84 bytes from 10.0.0.2 icmp_seq=1 ttl=64 time=0.360 ms\n10.0.0.2 icmp_seq=2 timeout\n"
                     "84 bytes from 10.0.0.2 icmp_seq=3 ttl=64 time=0.360 ms\n84 bytes from 10.0.0.2 "
                     "icmp_seq=4 ttl=64 "
                     "time=0.360 ms\n84 bytes from 10.0.0.2 icmp_seq=5 ttl=64 time=0.360 ms\n",
                     &vpcs)
                    .passed);
    EXPECT_FALSE(eval("{ping: {min_success: 1}}", "host (10.0.0.99) not reachable\n", &vpcs).passed);
    auto failures = data("vpcs_pc1_failures.txt");
    auto timeouts = failures.substr(0, failures.find("PC1> ip"));
    auto t = eval("{ping: {min_success: 1}}", timeouts, &vpcs);
    EXPECT_FALSE(t.passed);
    EXPECT_NE(t.evidence.find("0/5"), std::string::npos) << t.evidence;
    // Cisco: "Success rate is 80 percent (4/5)".
    auto c = eval("{ping: {min_success: 80}}",
                  "!!!.!\nSuccess rate is 80 percent (4/5), round-trip min/avg/max = 1/2/4 ms\n", &ios);
    EXPECT_TRUE(c.passed) << c.evidence;
    EXPECT_FALSE(eval("{ping: {min_success: 81}}", "Success rate is 80 percent (4/5)\n", &ios).passed);
    EXPECT_FALSE(eval("{ping: {min_success: 0}}", "no ping here\n", &ios).passed);
}

TEST_F(MatcherTest, BadTemplateAtEvaluationNamesThePath) {
    Matcher m = parse_matcher(R"({all: [{match: '{{ nope }}'}]})");
    try {
        evaluate_matcher(m, "x", values, frr);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("checks[0].expect.all[0].match"), std::string::npos) << e.what();
    }
}

// The dialect teachers write (ECMAScript) keeps its meaning under Boost.Regex: `.` stops at a newline, `^`
// and
// `$` match at every line of an output, \d \s \b and groups work, and a pattern without a template is
// compiled once when the spec is parsed.
TEST_F(MatcherTest, RegexDialectIsEcmaScriptLike) {
    EXPECT_FALSE(parse_matcher("{match: 'Gi0/0 .* down'}").compiled.empty());
    EXPECT_TRUE(parse_matcher("{match: '{{ lan_a.network }}'}").compiled.empty());  // per student
    const std::string out = "Gi0/0 is up\nline protocol is down\nGi0/1 is up, line protocol is up\n";
    EXPECT_FALSE(eval("{match: 'Gi0/0 .* down'}", out).passed);  // would need `.` to cross a line
    EXPECT_TRUE(eval("{match: '^line protocol is down$'}", out).passed);
    EXPECT_TRUE(eval("{match: '^Gi0/1\\b.*\\bup$'}", out).passed);
    auto n = eval("{number: {pattern: 'Gi0/(\\d+) is up,', op: '==', value: '1'}}", out);
    EXPECT_TRUE(n.passed) << n.evidence;
    auto c = eval("{count: {pattern: '\\sis\\s+up', min: 2, max: 2}}", out);
    EXPECT_TRUE(c.passed) << c.evidence;
}

TEST_F(MatcherTest, BadRegexAndRunawayMatchingNameThePath) {
    std::vector<Diagnostic> d;
    compile_matcher(parse_matcher("{match: 'up ( down'}"), values, d);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].path, "checks[0].expect.match");
    EXPECT_NE(d[0].message.find("bad regex 'up ( down': "), std::string::npos) << d[0].message;
    EXPECT_NE(d[0].message.find("(at offset"), std::string::npos) << d[0].message;
    try {
        evaluate_matcher(parse_matcher("{match: 'up ( down'}"), "up", values, frr);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("checks[0].expect.match: bad regex"), std::string::npos)
            << e.what();
    }
    // Catastrophic backtracking gives up with an error naming the matcher instead of hanging or crashing.
    try {
        evaluate_matcher(parse_matcher("{match: '^(a|aa)+$'}"), std::string(1000, 'a') + "b", values, frr);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("checks[0].expect.match: regex"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace np::eval
