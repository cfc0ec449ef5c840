// Settle rounds (spec `grading.settle`) on scripted devices and a virtual clock: a device's output is a
// function of the virtual time, and waiting advances that time without sleeping, so every timing here is
// exact and the tests take no real time.
#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/error.hpp"
#include "eval/engine.hpp"
#include "eval/lint.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Virtual time: starts at 0; wait() moves it forward at once. Every wait of an evaluation is made by one
// coroutine at a time in these tests (one device per check wave, no parallel retries), so advancing a shared
// clock is exact.
class VirtualClock final : public EngineClock {
 public:
    std::chrono::steady_clock::time_point now() const override {
        return std::chrono::steady_clock::time_point{} + t_;
    }
    boost::asio::awaitable<void> wait(milliseconds d) const override {
        t_ += d;
        co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
    }
    milliseconds elapsed() const { return t_; }
    void advance(milliseconds d) const { t_ += d; }

 private:
    mutable milliseconds t_{0};
};

// A device's answer to a command at a virtual time (ms since the start).
using Script = std::function<std::string(const std::string& device, const std::string& command, long at_ms)>;

class ScriptedSession final : public Session {
 public:
    ScriptedSession(std::string device, const Script& script, const VirtualClock& clock,
                    std::map<std::string, int>& runs, milliseconds cost)
        : device_(std::move(device)), script_(script), clock_(clock), runs_(runs), cost_(cost) {}
    boost::asio::awaitable<void> open(Deadline) override {
        if (device_ == "dead") throw core::unavailable("connection refused");
        co_return;
    }
    boost::asio::awaitable<std::string> run(const std::string& command, Deadline) override {
        ++runs_[device_ + ": " + command];
        clock_.advance(cost_);  // the command's own time
        co_return script_(device_, command, static_cast<long>(clock_.elapsed().count()));
    }
    boost::asio::awaitable<void> close() override { co_return; }
    bool broken() const override { return false; }

 private:
    std::string device_;
    const Script& script_;
    const VirtualClock& clock_;
    std::map<std::string, int>& runs_;
    milliseconds cost_;
};

std::string pings(bool ok) {
    return ok ? "3 packets transmitted, 3 received, 0% packet loss\n"
              : "3 packets transmitted, 0 received, 100% packet loss\n";
}

// R1 learns LAN B at `route_at`; H1's ping to H2 works from `ping_at` (the way back converges later).
Script converging(long route_at, long ping_at) {
    return [=](const std::string&, const std::string& cmd, long t) -> std::string {
        if (cmd == "show ip route")
            return t >= route_at ? "O>* 172.16.5.0/24 [110/20] via 10.255.12.2\n" : "C>* 10.0.0.0/24\n";
        if (cmd == "ping h2") return pings(t >= ping_at);
        if (cmd == "ip addr") return "inet 10.0.0.10/24\n";
        return "";
    };
}

constexpr const char* kLab = R"(id: settle
devices:
  r1: {platform: linux}
  h1: {platform: linux}
checks:
  - {id: address, on: h1, run: ip addr, expect: {contains: 10.0.0.10/24}, points: 1}
  - {id: route, on: r1, run: show ip route, expect: {match: 'O>\* 172\.16\.5\.0/24'}, points: 3}
  - {id: ping, on: h1, run: ping h2, expect: {ping: {min_success: 60}}, points: 3, requires: [route]}
)";

class Settle : public ::testing::Test {
 protected:
    Evaluation grade(const std::string& yaml, Script s, milliseconds cost = milliseconds(0)) {
        ParseResult p = parse_spec(yaml);
        EXPECT_TRUE(p.ok());
        for (const auto& d : p.diagnostics) ADD_FAILURE() << d.text();
        spec = std::move(p.spec);
        script = std::move(s);
        std::map<std::string, DeviceTarget> targets;
        for (const auto& d : spec.devices) {
            DeviceTarget& t = targets[d.name];
            t.name = d.name;
            t.platform = "linux";
            t.transport = "exec";
        }
        EngineOptions o;
        o.clock = &clock;
        return evaluate_blocking(
            PlatformRegistry::builtin(), o, spec, "alice", targets,
            [this, cost](boost::asio::any_io_executor, const DeviceTarget& t, const Platform&) {
                return std::make_unique<ScriptedSession>(t.name, script, clock, runs, cost);
            });
    }
    static std::string with(const std::string& yaml, const std::string& tail) { return yaml + tail; }

    VirtualClock clock;
    Script script;
    Spec spec;
    std::map<std::string, int> runs;  // "device: command" -> times run
};

TEST_F(Settle, ACorrectLabIsGradedAsSoonAsEverythingPasses) {
    Evaluation e = grade(kLab, converging(0, 0));
    EXPECT_EQ(e.score, 7);
    EXPECT_TRUE(e.settle.enabled);
    EXPECT_TRUE(e.settle.settled);
    EXPECT_EQ(e.settle.rounds, 1);
    EXPECT_EQ(clock.elapsed(), milliseconds(0));  // nothing waited for
    EXPECT_TRUE(e.settle.waited_for.empty());
    EXPECT_EQ(report_text(e).find("ettled"), std::string::npos) << report_text(e);
}

// The race of issue 17: the control plane has converged as far as R1 sees (its route is there), the way back
// has not; the ping fails once. The next round, 2 s later, grades the lab again and scores it full.
TEST_F(Settle, APingThatLagsTheRoutesIsGradedAgainWithTheRest) {
    Evaluation e = grade(kLab, converging(0, 1500));
    EXPECT_EQ(e.score, 7) << report_text(e);
    EXPECT_TRUE(e.settle.settled);
    EXPECT_EQ(e.settle.rounds, 2);
    EXPECT_EQ(e.settle.elapsed, seconds(2));
    EXPECT_EQ(e.settle.waited_for, std::vector<std::string>{"ping"});
    EXPECT_TRUE(e.settle.failing.empty());
    // Every check is graded again in the second round; each command ran once per round.
    EXPECT_EQ(runs["r1: show ip route"], 2);
    EXPECT_EQ(runs["h1: ip addr"], 2);
    EXPECT_EQ(runs["h1: ping h2"], 2);
    for (const auto& c : e.checks) EXPECT_EQ(c.attempts, 2) << c.id;
    int in_round_2 = 0;
    for (const auto& t : e.transcript) in_round_2 += t.round == 2;
    EXPECT_EQ(in_round_2, 3);
    EXPECT_NE(report_text(e).find("Settled after 2 s, 2 rounds; waited for: ping"), std::string::npos)
        << report_text(e);
    EXPECT_NE(report_json(e).find(R"("settle":{"enabled":true,"window_ms":30000,"rounds":2,"settled":true,)"
                                  R"("elapsed_ms":2000,"waited_for":["ping"],"failing":[]})"),
              std::string::npos)
        << report_json(e);
}

// A check skipped because its prerequisite had not converged runs in the round where the prerequisite passes.
TEST_F(Settle, ChecksWaitingForAPrerequisiteRunOnceItPasses) {
    Evaluation e = grade(kLab, converging(5000, 5000));
    EXPECT_EQ(e.score, 7) << report_text(e);
    EXPECT_EQ(e.settle.rounds, 4);  // at 0, 2, 4 s the route is missing; at 6 s everything passes
    EXPECT_EQ(e.settle.elapsed, seconds(6));
    EXPECT_EQ(e.settle.waited_for, std::vector<std::string>{"route"});
    EXPECT_EQ(runs["h1: ping h2"], 1);  // skipped (without touching H1) until the route was there
    EXPECT_EQ(e.checks[2].attempts, 1);
}

// A wrong lab: its grade comes when the window closes (no round starts after it), plus the last round's
// command time; the score is the last round's, counted once.
TEST_F(Settle, AWrongLabIsGradedWhenTheWindowCloses) {
    Evaluation e = grade(kLab, converging(1 << 30, 1 << 30), milliseconds(300));
    EXPECT_EQ(e.score, 1) << report_text(e);
    EXPECT_FALSE(e.settle.settled);
    EXPECT_EQ(e.settle.failing, std::vector<std::string>{"route"});
    EXPECT_EQ(e.settle.waited_for, std::vector<std::string>{"route"});
    // Rounds start every 2.6 s (0.6 s of commands, then 2 s of waiting) up to 30 s: 0, 2.6, ..., 28.6.
    EXPECT_EQ(e.settle.rounds, 12);
    EXPECT_EQ(clock.elapsed(), milliseconds(28600 + 600));
    EXPECT_LE(e.settle.elapsed, seconds(30) + milliseconds(600));
    EXPECT_EQ(e.checks[2].status, CheckStatus::skipped);
    EXPECT_NE(report_text(e).find("Not settled within 30 s (12 rounds); still failing: route"),
              std::string::npos)
        << report_text(e);
}

TEST_F(Settle, TheWindowAndIntervalAreTunable) {
    Evaluation e = grade(with(kLab, "grading: {settle: {for: 5s, every: 1s}}\n"), converging(1 << 30, 0));
    EXPECT_EQ(e.settle.rounds, 6);  // at 0, 1, ..., 5 s
    EXPECT_EQ(clock.elapsed(), seconds(5));
    EXPECT_EQ(e.settle.window, seconds(5));

    clock.advance(-clock.elapsed());
    runs.clear();
    e = grade(with(kLab, "grading: {settle: 3s}\n"), converging(1 << 30, 0));
    EXPECT_EQ(e.settle.rounds, 2);  // at 0 and 2 s; the next would start at 4 s
    EXPECT_EQ(clock.elapsed(), seconds(2));
}

// settle: off grades in one round: the lagging ping loses its points (what the linter warns about).
TEST_F(Settle, OffGradesInOneRound) {
    Evaluation e = grade(with(kLab, "grading: {settle: off}\n"), converging(0, 1500));
    EXPECT_EQ(e.score, 4);
    EXPECT_FALSE(e.settle.enabled);
    EXPECT_EQ(e.settle.rounds, 1);
    EXPECT_EQ(clock.elapsed(), milliseconds(0));
    EXPECT_EQ(e.settle.failing, std::vector<std::string>{"ping"});
    EXPECT_EQ(report_text(e).find("ettled"), std::string::npos) << report_text(e);
}

// A check that passed early on a converging network and fails once it converged gets no points: every round
// observes everything again. Partial points come from the last round only.
TEST_F(Settle, PointsComeFromTheLastRound) {
    const std::string yaml = R"(id: last
devices: {r1: {platform: linux}}
checks:
  - {id: route, on: r1, run: show ip route, expect: {match: 'O>\* 172'}, points: 3}
  - id: no-leak
    on: r1
    run: show ip ospf database
    expect: {not: {contains: 192.168.99.0}}
    points: 2
  - id: parts
    on: r1
    run: show interfaces
    expect: {all: [contains: eth1, contains: eth2, contains: eth3, contains: eth4]}
    partial: true
    points: 4
)";
    Evaluation e = grade(yaml, [](const std::string&, const std::string& cmd, long t) -> std::string {
        if (cmd == "show ip route") return t >= 3000 ? "O>* 172.16.5.0/24\n" : "";
        if (cmd == "show ip ospf database") return t >= 1000 ? "192.168.99.0 (leaked)\n" : "";  // wrong lab
        if (cmd == "show interfaces") return t >= 3000 ? "eth1 eth2 eth3\n" : "eth1\n";
        return "";
    });
    EXPECT_EQ(e.checks[1].status, CheckStatus::failed) << report_text(e);  // passed in round 1 only
    EXPECT_EQ(e.checks[1].points, 0);
    EXPECT_EQ(e.checks[2].points, 3);  // 3/4 of 4 in the last round, not added to round 1's 1/4
    EXPECT_EQ(e.score, 3 + 0 + 3);
    EXPECT_FALSE(e.settle.settled);
}

// `retry: off` keeps a check out of later rounds: its commands run once, its first result stands and does
// not hold the lab open.
TEST_F(Settle, RetryOffRunsOnce) {
    const std::string yaml = R"(id: once
devices: {r1: {platform: linux}}
checks:
  - {id: route, on: r1, run: show ip route, expect: {match: 'O>\* 172'}, points: 3}
  - {id: counters, on: r1, run: clear counters, expect: {contains: cleared}, points: 1, retry: off}
)";
    Evaluation e = grade(yaml, [](const std::string&, const std::string& cmd, long t) -> std::string {
        if (cmd == "show ip route") return t >= 3000 ? "O>* 172.16.5.0/24\n" : "";
        return "";  // `clear counters` fails: it says nothing
    });
    EXPECT_EQ(runs["r1: clear counters"], 1);
    EXPECT_EQ(e.checks[1].status, CheckStatus::failed);
    EXPECT_EQ(e.checks[0].status, CheckStatus::passed);
    EXPECT_TRUE(e.settle.settled);  // the failed once-only check is not waited for
    EXPECT_EQ(e.settle.rounds, 3);
    EXPECT_EQ(e.score, 3);
}

// An unreachable device is an error, not a failure: grading does not wait for it.
TEST_F(Settle, UnreachableDevicesAreNotWaitedFor) {
    const std::string yaml = R"(id: dead
devices: {r1: {platform: linux}, dead: {platform: linux}}
checks:
  - {id: route, on: r1, run: show ip route, expect: {match: 'O>\* 172'}, points: 3}
  - {id: other, on: dead, run: show ip route, expect: {match: 'O>\* 172'}, points: 3}
)";
    Evaluation e = grade(yaml, converging(0, 0));
    EXPECT_EQ(e.checks[1].status, CheckStatus::error);
    EXPECT_TRUE(e.settle.settled);
    EXPECT_EQ(e.settle.rounds, 1);
    EXPECT_EQ(clock.elapsed(), milliseconds(0));
}

// A check's own retry runs in the first round (its dependents wait for it); later rounds grade it once.
TEST_F(Settle, OwnRetryRunsInTheFirstRoundOnly) {
    const std::string yaml = R"(id: retry
devices: {r1: {platform: linux}, h1: {platform: linux}}
checks:
  - {id: route, on: r1, run: show ip route, expect: {match: 'O>\* 172'}, points: 3, retry: {for: 4s, every: 1s}}
  - {id: ping, on: h1, run: ping h2, expect: {ping: {min_success: 60}}, points: 3, requires: [route]}
)";
    Evaluation e = grade(yaml, converging(2500, 8000));
    EXPECT_EQ(e.score, 6) << report_text(e);
    // Round 1: the route at 0, 1, 2, 3 s (passes), ping fails at 3 s; rounds at 5 and 7 s fail the ping, 9 s
    // passes: the route's command ran 4 + 3 times.
    EXPECT_EQ(runs["r1: show ip route"], 7);
    EXPECT_EQ(e.settle.rounds, 4);
    EXPECT_EQ(e.checks[0].waited, seconds(3));  // its own retries only
    EXPECT_EQ(e.settle.elapsed, seconds(9));
}

// The student view names hidden checks the way the check list does.
TEST_F(Settle, StudentViewConcealsHiddenChecksInTheSummary) {
    std::string yaml = kLab;
    yaml.replace(yaml.find("points: 3}"), 10, "points: 3, hidden: true}");
    Evaluation e = grade(yaml, converging(3000, 0));
    ASSERT_EQ(e.settle.waited_for, std::vector<std::string>{"route"});
    EXPECT_NE(report_text(e, true).find("waited for: hidden-1"), std::string::npos) << report_text(e, true);
    EXPECT_EQ(report_json(e, true).find("\"route\""), std::string::npos) << report_json(e, true);
    EXPECT_NE(report_json(e, false).find("\"waited_for\":[\"route\"]"), std::string::npos);
}

// ---- spec keys and the linter

TEST(SettleSpec, ParsesSettleAndRetryOff) {
    auto parse = [](const std::string& grading) { return parse_spec(std::string(kLab) + grading); };
    ParseResult r = parse("");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.spec.grading.settle.enabled);  // by default
    EXPECT_EQ(r.spec.grading.settle.window, seconds(30));
    EXPECT_EQ(r.spec.grading.settle.every, seconds(2));
    EXPECT_FALSE(r.spec.checks[0].once);

    r = parse("grading: {settle: off}\n");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r.spec.grading.settle.enabled);
    r = parse("grading: {settle: 20s}\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.spec.grading.settle.window, seconds(20));
    r = parse("grading: {settle: {for: 45s, every: 500ms}}\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.spec.grading.settle.window, seconds(45));
    EXPECT_EQ(r.spec.grading.settle.every, milliseconds(500));

    for (const char* bad : {"grading: {settle: soon}\n", "grading: {settle: 0s}\n",
                            "grading: {settle: {for: 10s, every: 0s}}\n",
                            "grading: {settle: {for: 10s, each: 1s}}\n", "grading: {settle: [1]}\n"})
        EXPECT_FALSE(parse(bad).ok()) << bad;

    r = parse_spec(R"(id: x
devices: {h1: {platform: linux}}
checks:
  - {id: a, on: h1, run: x, expect: {contains: y}, retry: off}
  - {id: b, on: h1, run: x, expect: {contains: y}, retry: never}
)");
    EXPECT_TRUE(r.spec.checks[0].once);
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].path, "checks[1].retry");
}

bool warns(const LintReport& r, const std::string& path, const std::string& text) {
    for (const auto& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::warning && d.path == path &&
            d.message.find(text) != std::string::npos)
            return true;
    return false;
}

std::string dump(const LintReport& r) {
    std::string s;
    for (const auto& d : r.diagnostics) s += d.text() + "\n";
    return s;
}

TEST(SettleLint, WarnsAboutSpecsThatCanRace) {
    const std::string racy = R"(id: racy
devices: {r1: {platform: frr}, h1: {platform: linux}}
checks:
  - {id: neighbour, on: r1, run: show ip ospf neighbor, expect: {contains: Full}, retry: {for: 60s, every: 2s}}
  - {id: route, on: r1, run: show ip route, expect: {contains: "O>*"}, requires: neighbour}
  - {id: ping, on: h1, run: ping -c 3 10.0.0.1, expect: {ping: {min_success: 60}}, requires: route}
  - {id: ping2, on: h1, run: ping -c 3 10.0.0.2, expect: {ping: {min_success: 60}}, retry: {for: 20s, every: 2s}}
)";
    LintReport off = lint_spec(racy + "grading: {settle: off}\n", PlatformRegistry::builtin());
    EXPECT_TRUE(warns(off, "checks[2]", "pings once (settle: off)")) << dump(off);
    EXPECT_TRUE(warns(off, "checks[1].requires", "requires 'neighbour', which waits for convergence"))
        << dump(off);
    EXPECT_FALSE(warns(off, "checks[3]", "pings once")) << dump(off);  // it retries
    EXPECT_EQ(off.warnings(), 2u) << dump(off);

    LintReport on = lint_spec(racy, PlatformRegistry::builtin());  // settle on by default: no race
    EXPECT_EQ(on.warnings(), 0u) << dump(on);

    LintReport once = lint_spec(std::string(kLab).replace(std::string(kLab).find("requires: [route]}"), 18,
                                                          "requires: [route], retry: off}"),
                                PlatformRegistry::builtin());
    EXPECT_TRUE(warns(once, "checks[2].retry", "pings once (retry: off)")) << dump(once);
}

TEST(SettleLint, WarnsAboutCommandsThatChangeTheDeviceAndOddWindows) {
    const std::string yaml = R"(id: side
devices: {r1: {platform: frr}}
checks:
  - {id: a, on: r1, run: [clear ip ospf process, show ip ospf neighbor], expect: {contains: Full}}
  - {id: b, on: r1, run: [Configure terminal], expect: {contains: x}, retry: off}
)";
    LintReport r = lint_spec(yaml, PlatformRegistry::builtin());
    EXPECT_TRUE(warns(r, "checks[0].run", "'clear ip ospf process' looks like it changes the device"))
        << dump(r);
    EXPECT_FALSE(warns(r, "checks[1].run", "changes the device")) << dump(r);  // retry: off
    EXPECT_EQ(r.warnings(), 1u) << dump(r);

    r = lint_spec(std::string(kLab) + "grading: {settle: {for: 10m, every: 10m}}\n",
                  PlatformRegistry::builtin());
    EXPECT_TRUE(warns(r, "grading.settle", "more than 5 minutes")) << dump(r);
    EXPECT_TRUE(warns(r, "grading.settle.every", "one round")) << dump(r);
}

// The shipped exercises lint without warnings (and so without races).
TEST(SettleLint, ShippedExamplesAreClean) {
    for (const char* name : {"ospf-two-lans", "vpcs-addressing"}) {
        LintReport r = lint_exercise(std::string(NETPRAXIS_SOURCE_DIR) + "/examples/" + name,
                                     PlatformRegistry::builtin());
        EXPECT_EQ(r.diagnostics.size(), 0u) << name << "\n" << dump(r);
    }
}

}  // namespace
}  // namespace np::eval
