#include "eval/spec.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "eval/lint.hpp"

namespace np::eval {
namespace {

// The example of FORMATS.md, verbatim: the contract with teachers.
constexpr const char* kFormatsExample = R"(id: ospf-two-lans                 # slug, unique per course
title: Two LANs joined by OSPF
version: 1                        # a published version is immutable
instructions: instructions.md     # Markdown, templated with the variables below
lab:
  local: topology.yaml            # local provider (namespaces)
  gns3: topology.gns3project      # proxmox provider (GNS3 portable project); either or both

variables:                        # deterministic per (exercise, student)
  lan_a:  {subnet: {within: 10.0.0.0/8, prefix: 24}}
  lan_b:  {subnet: {within: 172.16.0.0/12, prefix: 24}}
  area:   {choice: [1, 2, 3]}
  r1_id:  {int: {min: 1, max: 250}}

devices:
  r1:  {platform: frr}
  r2:  {platform: frr}
  pc1: {platform: vpcs}
  h2:  {platform: linux}

checks:
  - id: pc1-address
    title: PC1 has the first host address of LAN A
    on: pc1
    run: show ip
    expect: {contains: "{{ lan_a.host(10) }}/{{ lan_a.prefix }}"}
    points: 1

  - id: end-to-end
    title: PC1 reaches H2
    on: pc1
    run: ping {{ lan_b.host(10) }}
    expect: {ping: {min_success: 60}}          # percent of replies
    points: 4
    requires: [pc1-address]                    # skipped, with the reason, if pc1-address did not pass
    feedback:
      fail: Check PC1's gateway and whether R1 learned LAN B.

  - id: r1-learns-lan-b
    title: R1 learns LAN B through OSPF, not a static route
    on: r1
    run: show ip route
    expect:
      all:
        - match: 'O>\* {{ lan_b.network }}/{{ lan_b.prefix }}'
        - not: {match: 'S>\* {{ lan_b.network }}'}
    points: 3
    retry: {for: 60s, every: 5s}               # OSPF needs time to converge: re-run until pass or deadline

  - id: r1-ospf-config
    title: R1 runs OSPF in area {{ area }} on its LAN interface
    on: r1
    run: show running-config
    expect:
      section:
        parent: '^router ospf'
        children:
          any:
            - line: 'network {{ lan_a.network }}/{{ lan_a.prefix }} area {{ area }}'
            - line: 'network {{ lan_a.network }}/{{ lan_a.prefix }} area 0.0.0.{{ area }}'
    points: 2
    partial: false
    hidden: true                                # students see only that it exists and its points

grading:
  attempts: 0            # 0 = unlimited
  cooldown: 30s          # between a student's evaluations
  deadline: null         # ISO 8601, or null
  score: last            # last | best
)";

bool has(const std::vector<Diagnostic>& ds, const std::string& path, const std::string& text, int line = -1,
         Diagnostic::Severity sev = Diagnostic::Severity::error) {
    return std::any_of(ds.begin(), ds.end(), [&](const Diagnostic& d) {
        return d.severity == sev && d.path == path && d.message.find(text) != std::string::npos &&
               (line < 0 || d.line == line);
    });
}

std::string dump(const std::vector<Diagnostic>& ds) {
    std::string s;
    for (const auto& d : ds) s += d.text() + "\n";
    return s;
}

TEST(Spec, ParsesTheFormatsExample) {
    ParseResult r = parse_spec(kFormatsExample);
    ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
    const Spec& s = r.spec;
    EXPECT_EQ(s.id, "ospf-two-lans");
    EXPECT_EQ(s.lab_local, "topology.yaml");
    ASSERT_EQ(s.variables.size(), 4u);
    EXPECT_EQ(s.variables[0].kind, VariableDef::Kind::subnet);
    EXPECT_EQ(s.variables[2].choices.size(), 3u);
    ASSERT_EQ(s.devices.size(), 4u);
    EXPECT_EQ(s.device("pc1")->platform, "vpcs");
    ASSERT_EQ(s.checks.size(), 4u);
    EXPECT_EQ(s.checks[1].requires_ids, std::vector<std::string>{"pc1-address"});
    EXPECT_EQ(s.checks[1].feedback_fail, "Check PC1's gateway and whether R1 learned LAN B.");
    EXPECT_EQ(s.checks[1].expect.kind, Matcher::Kind::ping);
    EXPECT_DOUBLE_EQ(s.checks[1].expect.min_success, 60);
    ASSERT_TRUE(s.checks[2].retry.has_value());
    EXPECT_EQ(s.checks[2].retry->total, std::chrono::seconds(60));
    EXPECT_EQ(s.checks[2].retry->every, std::chrono::seconds(5));
    EXPECT_EQ(s.checks[2].expect.children[1].kind, Matcher::Kind::negate);
    EXPECT_TRUE(s.checks[3].hidden);
    EXPECT_EQ(s.checks[3].expect.kind, Matcher::Kind::section);
    EXPECT_EQ(s.checks[3].expect.children[0].children.size(), 2u);
    EXPECT_EQ(s.checks[3].expect.children[0].children[1].path,
              "checks[3].expect.section.children.any[1].line");
    EXPECT_DOUBLE_EQ(s.max_score(), 10);
    EXPECT_EQ(s.grading.cooldown, std::chrono::seconds(30));
    EXPECT_EQ(s.grading.score, "last");
}

TEST(Spec, LintsTheFormatsExampleCleanly) {
    LintReport r =
        lint_spec(kFormatsExample, PlatformRegistry::builtin(), std::string("Use {{ lan_a.gateway }}."));
    EXPECT_EQ(r.errors(), 0u) << dump(r.diagnostics);
    // r1_id is declared but used nowhere: a warning.
    EXPECT_TRUE(has(r.diagnostics, "variables.r1_id", "never used", 13, Diagnostic::Severity::warning))
        << dump(r.diagnostics);
    EXPECT_EQ(r.warnings(), 1u) << dump(r.diagnostics);
}

TEST(Spec, ReportsEveryErrorWithPathAndLine) {
    const char* yaml = R"(id: broken
variables:
  lan: {subnet: {within: 10.0.0.1/16, prefix: 24}}
  x: {int: {min: 5, max: 1}}
  y: {colour: red}
devices:
  r1: {platform: frr}
  sw: {platform: nokia}
checks:
  - id: a
    on: r1
    run: show ip route
    expect:
      all:
        - match: 'ok'
        - match: '(unclosed'
    points: 2
  - id: b
    on: r9
    run: show version
    expect: {frobnicate: 1}
    retry: {for: soon}
  - id: a
    on: r1
    run: "x {{ nope }}"
    expect: {number: {pattern: 'no group', op: '~', value: 3}}
    requires: [missing]
)";
    LintReport r = lint_spec(yaml, PlatformRegistry::builtin());
    const auto& d = r.diagnostics;
    EXPECT_TRUE(has(d, "variables.lan.subnet.within", "host bits", 3)) << dump(d);
    EXPECT_TRUE(has(d, "variables.x.int", "min is greater than max", 4)) << dump(d);
    EXPECT_TRUE(has(d, "variables.y", "unknown variable kind 'colour'", 5)) << dump(d);
    EXPECT_TRUE(has(d, "checks[0].expect.all[1].match", "bad regex", 16)) << dump(d);
    EXPECT_TRUE(has(d, "checks[1].expect", "unknown matcher 'frobnicate'", 21)) << dump(d);
    EXPECT_TRUE(has(d, "checks[1].retry.for", "", 22)) << dump(d);
    EXPECT_TRUE(has(d, "checks[2].expect.number.op", "unknown comparison '~'", 26)) << dump(d);
    EXPECT_FALSE(r.ok());
}

TEST(Spec, LintFindsCrossReferenceProblems) {
    const char* yaml = R"(id: refs
variables:
  lan: {subnet: {within: 10.0.0.0/16, prefix: 24}}
devices:
  r1: {platform: frr}
  sw: {platform: nokia}
checks:
  - id: a
    on: r1
    run: show ip route
    expect: {match: 'ok'}
    points: 0
  - id: b
    on: r9
    run: "x {{ nope }}"
    expect: {number: {pattern: 'no group', op: '>', value: 3}}
    requires: [missing]
    points: 0
  - id: a
    on: r1
    run: show
    expect: {contains: x}
    points: 0
)";
    LintReport r = lint_spec(yaml, PlatformRegistry::builtin());
    const auto& d = r.diagnostics;
    EXPECT_TRUE(has(d, "devices.sw.platform", "unknown platform 'nokia'", 6)) << dump(d);
    EXPECT_TRUE(has(d, "checks[1].on", "no device named 'r9'", 13)) << dump(d);
    EXPECT_TRUE(has(d, "checks[1].run", "unknown variable 'nope'")) << dump(d);
    EXPECT_TRUE(has(d, "checks[1].expect.number", "capture group", 16)) << dump(d);
    EXPECT_TRUE(has(d, "checks[1].requires", "'missing'", 13, Diagnostic::Severity::warning)) << dump(d);
    EXPECT_TRUE(has(d, "checks[2].id", "duplicate check id 'a'", 19)) << dump(d);
    EXPECT_TRUE(has(d, "variables.lan", "never used", 3, Diagnostic::Severity::warning)) << dump(d);
    EXPECT_TRUE(has(d, "checks", "zero points", -1, Diagnostic::Severity::warning)) << dump(d);
}

TEST(Spec, ZeroPointsIsAWarning) {
    const char* yaml = R"(id: z
devices: {h1: {platform: linux}}
checks:
  - {id: a, on: h1, run: "ip addr", expect: {contains: "inet"}, points: 0}
)";
    LintReport r = lint_spec(yaml, PlatformRegistry::builtin());
    EXPECT_EQ(r.errors(), 0u) << dump(r.diagnostics);
    EXPECT_TRUE(has(r.diagnostics, "checks", "zero points", -1, Diagnostic::Severity::warning))
        << dump(r.diagnostics);
}

TEST(Spec, BadYamlGivesALine) {
    ParseResult r = parse_spec("id: x\nchecks: [\n  - a\n");
    ASSERT_FALSE(r.ok());
    EXPECT_GT(r.diagnostics[0].line, 0);
    EXPECT_NE(r.diagnostics[0].message.find("bad YAML"), std::string::npos);
}

TEST(Spec, RequiresCycleIsAnError) {
    const char* yaml = R"(id: c
devices: {h1: {platform: linux}}
checks:
  - {id: a, on: h1, run: x, expect: {contains: y}, requires: [b]}
  - {id: b, on: h1, run: x, expect: {contains: y}, requires: [a]}
)";
    LintReport r = lint_spec(yaml, PlatformRegistry::builtin());
    EXPECT_TRUE(has(r.diagnostics, "checks[0].requires", "cycle")) << dump(r.diagnostics);
}

}  // namespace
}  // namespace np::eval
