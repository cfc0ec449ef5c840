// The grading spec of an exercise (`exercise.yaml`, FORMATS.md): devices, variables, checks with matcher
// trees, and the attempt policy. Parsing collects every problem with its path and line instead of stopping at
// the first, so `netpraxis exercise lint` can report them all.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "eval/intent.hpp"
#include "eval/regex.hpp"
#include "eval/variables.hpp"

namespace np::eval {

// One problem found in a spec. `path` is like `checks[3].expect.all[1].match`; `line` is 1-based (0:
// unknown).
struct Diagnostic {
    enum class Severity { error, warning } severity = Severity::error;
    std::string path;
    int line = 0;
    std::string message;

    std::string text() const;  // "line 12: checks[3].expect.all[1].match: bad regex ..."
};

// A node of an `expect:` tree. Text fields are templates, rendered per student before use.
struct Matcher {
    enum class Kind { match, contains, line, ping, section, count, number, all, any, negate, at_least };
    Kind kind = Kind::match;
    std::string pattern;                   // match, contains, line; section parent; count and number pattern
    std::string op = ">=";                 // number: < <= == != >= >
    std::string value;                     // number: the right-hand side (template)
    double min_success = 100;              // ping: percent of replies needed
    std::optional<std::int64_t> min, max;  // count
    std::int64_t n = 1;                    // at_least
    std::vector<Matcher> children;         // all/any/at_least: the list; not: one; section: zero or one
    Regex compiled;                        // `pattern` compiled at parse time when it is not a template
    std::string path;
    int line = 0;
};

std::string_view kind_name(Matcher::Kind kind);

// A check's own `retry: {for, every}`: in the first round it re-runs its commands until it passes or `for`
// has passed, before the checks that require it run.
struct RetryPolicy {
    std::chrono::milliseconds total{0};  // `for`
    std::chrono::milliseconds every{std::chrono::seconds(5)};
};

struct Check {
    std::string id, title, on;
    std::vector<std::string> run;  // commands (templates), run in order; their outputs are joined
    Matcher expect;
    // An intent check (`ospf_neighbor: {...}` instead of run/expect): its commands come from the device's
    // platform (intents.yaml) when it is graded.
    std::optional<Intent> intent;
    std::vector<std::string> after_ids;  // run after these (ordering only): reachability after control plane
    double points = 1;
    bool partial = false;
    bool hidden = false;
    std::vector<std::string> requires_ids;
    std::optional<RetryPolicy> retry;
    bool once = false;  // `retry: off`: graded in the first round only (commands with side effects)
    std::optional<std::chrono::milliseconds> timeout;  // per command
    std::string feedback_pass, feedback_fail;
    std::string path;
    int line = 0;
};

struct DeviceSpec {
    std::string name, platform;
    int line = 0;
};

// `grading.settle`: how grading waits for a converging network. When a round of checks leaves a check
// failed, every check (but `retry: off` ones) is graded again, all together, `every` after the round
// ended, until a round has no failed check or `window` has passed since grading began; the last round's
// results are the grade. `settle: off` grades in one round.
struct SettlePolicy {
    bool enabled = true;
    std::chrono::milliseconds window{std::chrono::seconds(30)};  // `for`
    std::chrono::milliseconds every{std::chrono::seconds(2)};
};

struct GradingPolicy {
    std::int64_t attempts = 0;  // 0 = unlimited
    std::chrono::milliseconds cooldown{0};
    std::string deadline;        // ISO 8601 or empty
    std::string score = "last";  // last | best | average
    SettlePolicy settle;
};

struct Spec {
    std::string id, title;
    std::int64_t version = 1;
    std::string instructions;  // file name, relative to the exercise folder
    std::string lab_local, lab_gns3;
    std::vector<VariableDef> variables;
    std::vector<DeviceSpec> devices;
    std::vector<Check> checks;
    GradingPolicy grading;

    const DeviceSpec* device(std::string_view name) const;
    const Check* check(std::string_view id) const;
    double max_score() const;
};

struct ParseResult {
    Spec spec;
    std::vector<Diagnostic> diagnostics;
    bool ok() const;  // no error-severity diagnostics
};

// Bounds on what one spec may hold, on top of the YAML limits of core/yaml.hpp (document size, depth,
// nodes with aliases expanded). Real specs have a few dozen checks of a few matchers each. Parsing stops
// at the first limit crossed, with one error naming it.
struct SpecLimits {
    std::size_t max_checks = 200;               // checks in the spec
    std::size_t max_matchers_per_check = 1000;  // matchers in one check's expect tree, nested ones included
    std::size_t max_matchers = 10000;           // matchers in the whole spec
    int max_matcher_depth = 16;                 // matchers nested in all/any/not/at_least/section
};

// Parses exercise YAML. Never throws on bad input: every problem becomes a Diagnostic.
ParseResult parse_spec(std::string_view yaml, const SpecLimits& limits = {});

// Reads `<dir>/exercise.yaml`; throws core::Error(invalid) with one FieldError per problem when it has
// errors.
Spec load_spec(const std::string& dir);

}  // namespace np::eval
