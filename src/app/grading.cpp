#include "app/grading.hpp"

#include <algorithm>
#include <chrono>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "eval/spec.hpp"
#include "eval/variables.hpp"
#include "store/states.hpp"

namespace np::app {
namespace {

std::int64_t bounded(std::int64_t v, std::int64_t max, const std::string& field) {
    if (v < 0 || v > max)
        throw core::invalid(field + " is out of range", {{field, "must be from 0 to " + std::to_string(max) +
                                                                     ", got " + std::to_string(v)}});
    return v;
}

// A deadline more than ten years away (or before 2000) is a typo, not a course.
std::int64_t checked_deadline(std::int64_t t, const std::string& field) {
    constexpr std::int64_t kYear2000 = 946684800;
    if (t != 0 && (t < kYear2000 || t > core::unix_now() + 10LL * 366 * 86400))
        throw core::invalid(
            field + " is out of range",
            {{field, "must be between 2000 and ten years from now, got " + core::rfc3339(t)}});
    return t;
}

void check_choice(const std::string& v, std::initializer_list<const char*> allowed,
                  const std::string& field) {
    std::string list;
    for (const char* a : allowed) {
        if (v == a) return;
        list += (list.empty() ? "" : ", ") + std::string(a);
    }
    throw core::invalid("bad " + field, {{field, "must be one of " + list + ", got '" + v + "'"}});
}

}  // namespace

void apply_rules(store::Assignment& a, const std::string& spec_yaml, const RuleOverrides& o) {
    // The spec's section first (it was linted when published; its values are bounded all the same).
    auto parsed = eval::parse_spec(spec_yaml);
    const auto& g = parsed.spec.grading;
    a.max_attempts = static_cast<int>(bounded(g.attempts, kMaxAttempts, "spec grading.attempts"));
    a.cooldown_seconds =
        static_cast<int>(bounded(std::chrono::duration_cast<std::chrono::seconds>(g.cooldown).count(),
                                 kMaxCooldownSeconds, "spec grading.cooldown"));
    a.deadline = 0;
    if (!g.deadline.empty()) {
        if (!core::parse_rfc3339(g.deadline, a.deadline))
            throw core::invalid("bad spec deadline",
                                {{"spec grading.deadline", "must be RFC 3339, got '" + g.deadline + "'"}});
        checked_deadline(a.deadline, "spec grading.deadline");
    }
    a.score_policy = g.score;
    check_choice(a.score_policy, {"last", "best", "average"}, "spec grading.score");
    apply_overrides(a, o);
}

void apply_overrides(store::Assignment& a, const RuleOverrides& o) {
    if (o.deadline) a.deadline = checked_deadline(*o.deadline, "deadline");
    if (o.max_attempts)
        a.max_attempts = static_cast<int>(bounded(*o.max_attempts, kMaxAttempts, "max_attempts"));
    if (o.cooldown_seconds)
        a.cooldown_seconds =
            static_cast<int>(bounded(*o.cooldown_seconds, kMaxCooldownSeconds, "cooldown_seconds"));
    if (o.score) {
        check_choice(*o.score, {"last", "best", "average"}, "score_policy");
        a.score_policy = *o.score;
    }
    if (o.late) {
        check_choice(*o.late, {"refuse", "accept"}, "late");
        a.late_policy = *o.late;
    }
    if (o.late_penalty) a.late_penalty = static_cast<int>(bounded(*o.late_penalty, 100, "late_penalty"));
    if (a.late_penalty != 0 && a.late_policy != "accept")
        throw core::invalid("a late penalty needs late submissions accepted",
                            {{"late_penalty", "applies only with late: accept"}});
    if (o.keep_hidden) a.keep_hidden = *o.keep_hidden;
}

store::Evaluation request_evaluation(store::Store& store, const std::string& assignment_id,
                                     const std::string& caller_id, bool teacher, std::int64_t now) {
    store::Evaluation out;
    store.transaction([&] {
        auto a = store.get_assignment(assignment_id);
        // Same answer as a missing object: a student must not learn which ids exist.
        if (!a || (!teacher && a->student_id != caller_id)) throw core::not_found("no such object");
        bool late = a->deadline && now > a->deadline;
        if (!teacher) {
            if (late && a->late_policy != "accept")
                throw core::conflict("the deadline (" + core::rfc3339(a->deadline) + ") has passed");
            int used = store.count_evaluations(a->id);
            if (a->max_attempts && used >= a->max_attempts)
                throw core::conflict("all " + std::to_string(a->max_attempts) + " attempts are used");
            if (auto last = store.last_evaluation(a->id);
                last && a->cooldown_seconds && now < last->created_at + a->cooldown_seconds)
                throw core::Error(core::Code::rate_limited,
                                  "wait " + std::to_string(last->created_at + a->cooldown_seconds - now) +
                                      " s before the next evaluation");
        }
        store::Evaluation e;
        e.id = core::new_id();
        e.assignment_id = a->id;
        e.student_id = a->student_id;
        e.job_id = core::new_id();
        e.created_at = now;
        e.exercise_version_id = a->exercise_version_id;
        e.late = late;
        out = store.create_evaluation(e);
    });
    return out;
}

bool hidden_revealed(const store::Assignment& a, std::int64_t now) {
    return a.deadline != 0 && now > a.deadline && !a.keep_hidden;
}

double counted_score(const store::Assignment& a, const store::Evaluation& e) {
    return e.late ? e.score * (100 - a.late_penalty) / 100.0 : e.score;
}

FinalScore final_score(const store::Assignment& a, const std::vector<store::Evaluation>& evaluations) {
    FinalScore f;
    std::vector<const store::Evaluation*> counted;
    for (const auto& e : evaluations) {
        if (e.assignment_id != a.id) continue;
        if (e.run_id.empty() && !store::is(e.status, store::EvaluationStatus::error)) ++f.attempts_used;
        if (!store::is(e.status, store::EvaluationStatus::done)) continue;
        if (!e.exercise_version_id.empty() && e.exercise_version_id != a.exercise_version_id) continue;
        counted.push_back(&e);
    }
    if (counted.empty()) return f;
    // Graded order: by creation, then attempt (a class grading's evaluations interleave with the student's).
    std::sort(counted.begin(), counted.end(), [](const auto* x, const auto* y) {
        return std::tie(x->created_at, x->attempt) < std::tie(y->created_at, y->attempt);
    });
    f.graded = true;
    f.counted = static_cast<int>(counted.size());
    const store::Evaluation* chosen = counted.back();
    if (a.score_policy == "best") {
        for (const auto* e : counted)
            if (counted_score(a, *e) >= counted_score(a, *chosen)) chosen = e;
    }
    if (a.score_policy == "average") {
        double sum = 0;
        for (const auto* e : counted) {
            sum += counted_score(a, *e);
            f.late = f.late || e->late;
        }
        f.score = sum / static_cast<double>(counted.size());
        f.max_score = counted.back()->max_score;
        return f;
    }
    f.score = counted_score(a, *chosen);
    f.max_score = chosen->max_score;
    f.late = chosen->late;
    f.evaluation_id = chosen->id;
    return f;
}

StudentView student_view(store::Store& store, const std::string& assignment_id, const std::string& caller_id,
                         bool teacher, std::int64_t now) {
    StudentView v;
    auto a = store.get_assignment(assignment_id);
    if (!a || (!teacher && a->student_id != caller_id)) throw core::not_found("no such object");
    v.assignment = *a;
    auto ex = store.get_exercise(a->exercise_id);
    auto ver = store.get_version_by_id(a->exercise_version_id);
    if (!ex || !ver) throw core::not_found("the exercise of this assignment no longer exists");
    v.title = ex->title;
    v.version = ver->version;
    auto parsed = eval::parse_spec(ver->spec);
    v.instructions = ver->instructions;
    try {
        auto values = eval::derive_values(parsed.spec.variables, parsed.spec.id, a->student_id);
        v.instructions = eval::render(ver->instructions, values);
    } catch (const core::Error&) {
        // Published instructions were linted; a template that no longer renders is shown as written.
    }
    for (const auto& d : parsed.spec.devices) v.devices.push_back({d.name, d.platform});
    for (const auto& c : parsed.spec.checks) ++(c.hidden ? v.hidden_checks : v.visible_checks);
    v.environment = store.environment_for_assignment(a->id);
    std::vector<store::Evaluation> evs;
    store::Page page{500, ""};
    for (;;) {
        auto res = store.list_evaluations({a->id, "", ""}, page);
        evs.insert(evs.end(), res.items.begin(), res.items.end());
        if (res.next.empty()) break;
        page.after = res.next;
    }
    v.final = final_score(*a, evs);
    v.attempts_used = v.final.attempts_used;
    if (a->max_attempts) v.attempts_left = std::max(0, a->max_attempts - v.attempts_used);
    if (auto last = store.last_evaluation(a->id); last && a->cooldown_seconds)
        v.cooldown_left = std::max<std::int64_t>(0, last->created_at + a->cooldown_seconds - now);
    v.deadline_passed = a->deadline && now > a->deadline;
    v.can_evaluate =
        (!v.deadline_passed || a->late_policy == "accept") && v.attempts_left != 0 && v.cooldown_left == 0;
    return v;
}

}  // namespace np::app
