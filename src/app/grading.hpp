// app grading rules (issue 12, part 4): the policy of an assignment and what follows from it.
//  - The spec's `grading:` section (attempts, cooldown, deadline, score) is the default of every
//    assignment of that version; the assignment may override each rule, and adds its own: late
//    submissions refused or accepted with a penalty, hidden checks kept hidden after the deadline.
//  - Admission of an evaluation: deadline (refused, or accepted and marked late), attempts (evaluations
//    that ended in an infrastructure error never count), cooldown. Teachers are not limited.
//  - The final score of an assignment by its policy (last | best | average), late evaluations scaled by
//    (100 - penalty) %.
// Blocking functions over the Store: call them on the worker pool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace np::app {

// What a teacher sets on an assignment; an unset rule comes from the spec's `grading:` section.
struct RuleOverrides {
    std::optional<std::int64_t> deadline;  // unix seconds; 0: none
    std::optional<std::int64_t> max_attempts;
    std::optional<std::int64_t> cooldown_seconds;
    std::optional<std::string> score;          // last | best | average
    std::optional<std::string> late;           // refuse | accept
    std::optional<std::int64_t> late_penalty;  // percent off a late evaluation's score
    std::optional<bool> keep_hidden;           // hidden checks stay hidden after the deadline
};

// Bounds of the rules: beyond them a value is a mistake, refused with the field named.
inline constexpr std::int64_t kMaxAttempts = 1000;
inline constexpr std::int64_t kMaxCooldownSeconds = 7 * 86400;

// Fills `a`'s rules from the spec's `grading:` section, then from `o`. Throws core::Error(invalid) naming
// the field ("max_attempts", or "spec grading.attempts" for the spec's own value) when a rule is absurd
// (negative, too many attempts, a cooldown over a week, a penalty outside 0-100, an unknown score rule,
// a deadline that does not parse).
void apply_rules(store::Assignment& a, const std::string& spec_yaml, const RuleOverrides& o);
// Only the rules `o` sets, on an existing assignment (PATCH), with the same checks.
void apply_overrides(store::Assignment& a, const RuleOverrides& o);

// Creates the evaluation a caller asks for on an assignment, if its rules allow: one transaction.
// Students only on their own assignment (not_found otherwise); they are refused after the deadline
// (conflict) unless late submissions are accepted (the evaluation is then marked late), when every attempt
// is used (conflict) and during the cooldown (rate_limited, with the wait). Teachers are not limited.
store::Evaluation request_evaluation(store::Store& store, const std::string& assignment_id,
                                     const std::string& caller_id, bool teacher, std::int64_t now);

// Whether a student reads the hidden checks of this assignment's evaluations: after the deadline, unless
// the teacher keeps them hidden.
bool hidden_revealed(const store::Assignment& a, std::int64_t now);

struct FinalScore {
    bool graded = false;  // at least one evaluation counted
    double score = 0;
    double max_score = 0;
    int counted = 0;            // evaluations the policy looked at
    int attempts_used = 0;      // the student's own, errors excluded
    bool late = false;          // the chosen (or any averaged) evaluation was late
    std::string evaluation_id;  // last/best: the evaluation that gave the score
};

// The assignment's final score by its policy, over `evaluations` (any order, any assignment: only this
// one's are read). Counted: evaluations done (not queued, running or in error) graded with the
// assignment's current version; a late one's score is scaled by (100 - late_penalty) %.
FinalScore final_score(const store::Assignment& a, const std::vector<store::Evaluation>& evaluations);

// What a student reads of an assignment (part 7): no spec internals, no hidden check.
struct StudentView {
    store::Assignment assignment;
    std::string title;
    int version = 0;
    std::string instructions;  // Markdown, rendered with the student's own variable values
    struct Device {
        std::string name, platform;
    };
    std::vector<Device> devices;
    std::optional<store::Environment> environment;
    int attempts_used = 0;
    int attempts_left = -1;          // -1: unlimited
    std::int64_t cooldown_left = 0;  // seconds until the next evaluation may be asked
    bool deadline_passed = false;
    bool can_evaluate = true;  // deadline (unless late accepted), attempts, cooldown
    int visible_checks = 0, hidden_checks = 0;
    FinalScore final;
};

// Students only their own (not_found otherwise).
StudentView student_view(store::Store& store, const std::string& assignment_id, const std::string& caller_id,
                         bool teacher, std::int64_t now);

// The score an evaluation counts for under `a`'s rules (its own, less the late penalty).
double counted_score(const store::Assignment& a, const store::Evaluation& e);

}  // namespace np::app
