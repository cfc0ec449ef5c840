// Every eval parser of untrusted YAML (spec, inventory, platforms) refuses an alias bomb while parsing, in
// little memory; the spec parser also bounds checks, matchers and matcher nesting.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "bounded.hpp"
#include "core/error.hpp"
#include "eval/inventory.hpp"
#include "eval/lint.hpp"
#include "eval/platform.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

using testkit::run_bounded;
using testkit::spec_bomb;
using testkit::yaml_bomb;

std::string errors_text(const ParseResult& r) {
    std::string out;
    for (const auto& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::error) out += d.text() + "\n";
    return out;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A spec with `checks` checks of one matcher each.
std::string spec_with_checks(int checks, const std::string& expect = "{contains: x}") {
    std::string y = "id: many\ndevices:\n  pc1: {platform: vpcs}\nchecks:\n";
    for (int i = 0; i < checks; ++i)
        y += "  - {id: c" + std::to_string(i) + ", on: pc1, run: show ip, expect: " + expect + "}\n";
    return y;
}

// `depth` matchers nested in one another: all: [all: [ ... contains ... ]].
std::string nested(int depth) {
    std::string m = "{contains: x}";
    for (int i = 1; i < depth; ++i) m = "{all: [" + m + "]}";
    return m;
}

}  // namespace

TEST(SpecLimits, TheIssueBombIsRefusedWhileParsing) {
    const std::string bomb = spec_bomb(9, 10);  // 10^9 matchers once expanded
    ASSERT_LT(bomb.size(), 1600u);
    auto r = run_bounded(
        [&] {
            ParseResult p = parse_spec(bomb);
            return errors_text(p) + "checks parsed: " + std::to_string(p.spec.checks.size());
        },
        256);
    ASSERT_TRUE(r.finished) << "killed by its memory or CPU limit";
    EXPECT_FALSE(r.threw) << r.text;
    EXPECT_EQ(r.text, "line 16: YAML expands to more than 100000 nodes (aliases included)\nchecks parsed: 0");
    EXPECT_LT(r.rss_growth_kb, 32 * 1024);
}

TEST(SpecLimits, LintReportsTheLimitToo) {
    // What publish runs: the linter's first error names the limit and its line.
    LintReport report = lint_spec(spec_bomb(9, 10), PlatformRegistry::builtin(), std::nullopt);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.diagnostics.front().text(),
              "line 16: YAML expands to more than 100000 nodes (aliases included)");
}

TEST(SpecLimits, ASmallAliasedSpecStillParses) {
    // A few anchors, as a teacher might use to repeat a matcher: fine.
    ParseResult p = parse_spec(spec_bomb(2, 3));
    EXPECT_TRUE(p.ok()) << errors_text(p);
    ASSERT_EQ(p.spec.checks.size(), 1u);
    EXPECT_EQ(p.spec.checks[0].expect.children.size(), 3u);                          // m0, m1, m2
    EXPECT_EQ(p.spec.checks[0].expect.children[2].children.size(), 3u);              // m2 = all of 3 x m1
    EXPECT_EQ(p.spec.checks[0].expect.children[2].children[0].children.size(), 3u);  // m1 = all of 3 x m0
    // The examples are unaffected.
    for (const char* ex : {"ospf-two-lans", "vpcs-addressing"}) {
        ParseResult e =
            parse_spec(read(std::string(NETPRAXIS_SOURCE_DIR) + "/examples/" + ex + "/exercise.yaml"));
        EXPECT_TRUE(e.ok()) << ex << ": " << errors_text(e);
    }
}

TEST(SpecLimits, ChecksPerSpec) {
    EXPECT_TRUE(parse_spec(spec_with_checks(200)).ok());
    ParseResult p = parse_spec(spec_with_checks(201));
    EXPECT_EQ(errors_text(p), "line 5: checks: the spec has more than 200 checks\n");
    EXPECT_TRUE(p.spec.checks.empty());  // refused before any check was parsed
}

TEST(SpecLimits, MatchersPerCheckAndInTotal) {
    SpecLimits limits;
    limits.max_matchers_per_check = 5;
    // all of 4 = 5 matchers: fits; all of 5 = 6: one too many, named at the sixth.
    EXPECT_TRUE(
        parse_spec(spec_with_checks(1, "{all: [{contains: a}, {contains: b}, {contains: c}, {contains: d}]}"),
                   limits)
            .ok());
    ParseResult p = parse_spec(
        spec_with_checks(
            2, "{all: [{contains: a}, {contains: b}, {contains: c}, {contains: d}, {contains: e}]}"),
        limits);
    EXPECT_EQ(errors_text(p), "line 5: checks[0].expect.all[4]: the check has more than 5 matchers\n");

    SpecLimits total;
    total.max_matchers = 10;
    EXPECT_TRUE(parse_spec(spec_with_checks(10), total).ok());
    p = parse_spec(spec_with_checks(11), total);
    EXPECT_EQ(errors_text(p), "line 15: checks[10].expect: the spec has more than 10 matchers\n");
    EXPECT_EQ(p.spec.checks.size(), 10u);  // stopped at the eleventh
}

TEST(SpecLimits, MatcherNesting) {
    EXPECT_TRUE(parse_spec(spec_with_checks(1, nested(16))).ok())
        << errors_text(parse_spec(spec_with_checks(1, nested(16))));
    ParseResult p = parse_spec(spec_with_checks(1, nested(17)));
    std::string err = errors_text(p);
    EXPECT_NE(err.find("matchers nest deeper than 16 levels"), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;  // one error, parsing stopped
    // `not` and `section` nest too.
    std::string m = "{contains: x}";
    for (int i = 0; i < 16; ++i)
        m = (i % 2 ? "{not: " : "{section: {parent: p, children: ") + m + (i % 2 ? "}" : "}}");
    EXPECT_NE(errors_text(parse_spec(spec_with_checks(1, m))).find("matchers nest deeper than 16 levels"),
              std::string::npos);
}

TEST(InventoryLimits, BombIsRefusedWhileParsing) {
    auto r = run_bounded(
        [] {
            parse_inventory("devices:\n  r1: {platform: frr, transport: exec}\n" + yaml_bomb(9, 10));
            return std::string("accepted");
        },
        256);
    ASSERT_TRUE(r.finished) << "killed by its memory or CPU limit";
    EXPECT_TRUE(r.threw);
    EXPECT_EQ(r.text, "inventory: line 8: YAML expands to more than 100000 nodes (aliases included)");
    EXPECT_LT(r.rss_growth_kb, 32 * 1024);
    // And the examples still load.
    for (const char* ex : {"ospf-two-lans", "vpcs-addressing"})
        EXPECT_NO_THROW(
            parse_inventory(read(std::string(NETPRAXIS_SOURCE_DIR) + "/examples/" + ex + "/inventory.yaml")))
            << ex;
}

TEST(PlatformLimits, BombIsRefusedWhileParsing) {
    // Platform fields are walked in full (errors, pager_off, dialogs): a bomb under one would be expanded.
    std::string y = "mine:\n  prompt: '> $'\n  errors: *l9\n";
    auto r = run_bounded(
        [&] {
            PlatformRegistry reg;
            reg.load_yaml(yaml_bomb(9, 10) + y, "platforms/mine.yaml");
            return std::string("accepted");
        },
        256);
    ASSERT_TRUE(r.finished) << "killed by its memory or CPU limit";
    EXPECT_TRUE(r.threw);
    EXPECT_EQ(r.text,
              "platforms/mine.yaml: line 6: YAML expands to more than 100000 nodes (aliases included)");
    EXPECT_LT(r.rss_growth_kb, 32 * 1024);
    // The built-in table is far below every limit.
    PlatformRegistry reg;
    EXPECT_NO_THROW(reg.load_yaml(builtin_platforms_yaml(), "builtin"));
}

}  // namespace np::eval
