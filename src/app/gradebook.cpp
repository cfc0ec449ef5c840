#include "app/gradebook.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "app/workflows.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Adds one evaluation's per-check results to `checks` (found by id, appended in the order first seen).
void tally(std::vector<CheckStats>& checks, const store::Evaluation& e, const std::string& student) {
    boost::system::error_code ec;
    auto results = json::parse(e.results, ec);
    if (ec || !results.is_array()) return;
    for (const auto& r : results.as_array()) {
        if (!r.is_object()) continue;
        const auto& o = r.as_object();
        auto text = [&](const char* k) {
            auto* v = o.if_contains(k);
            return v && v->is_string() ? std::string(v->as_string()) : std::string();
        };
        auto id = text("id");
        auto it = std::find_if(checks.begin(), checks.end(), [&](const CheckStats& c) { return c.id == id; });
        if (it == checks.end()) {
            checks.push_back({id, text("title"), false, 0, 0, {}});
            it = std::prev(checks.end());
        }
        if (auto* h = o.if_contains("hidden"); h && h->is_bool()) it->hidden = h->as_bool();
        auto status = text("status");
        if (status == "passed") {
            ++it->passed;
            continue;
        }
        ++it->failed;
        if (it->samples.size() < 3) it->samples.push_back({student, status, text("evidence").substr(0, 500)});
    }
}

}  // namespace

Gradebook course_gradebook(store::Store& store, const std::string& course_ref) {
    Gradebook g;
    auto course = store.get_course(course_ref);
    if (!course) throw core::not_found("no course '" + course_ref + "'");
    g.course = *course;
    auto members = store.list_course_members(course->id, "");
    auto assignments = store.assignments_in({"", "", course->id});
    auto evaluations = store.evaluations_in({course->id, "", ""});
    std::map<std::string, std::vector<store::Evaluation>> by_assignment;
    for (auto& e : evaluations) by_assignment[e.assignment_id].push_back(std::move(e));
    std::map<std::string, std::size_t> column_of;  // exercise id -> column
    for (const auto& a : assignments) {
        if (column_of.contains(a.exercise_id)) continue;
        auto ex = store.get_exercise(a.exercise_id);
        if (!ex) continue;
        column_of[a.exercise_id] = 0;
        g.columns.push_back({*ex, 0, {}});
    }
    std::sort(g.columns.begin(), g.columns.end(),
              [](const auto& x, const auto& y) { return x.exercise.slug < y.exercise.slug; });
    for (std::size_t i = 0; i < g.columns.size(); ++i) column_of[g.columns[i].exercise.id] = i;
    std::map<std::string, std::size_t> row_of;
    for (const auto& m : members) {
        row_of[m.user_id] = g.rows.size();
        g.rows.push_back({m, std::vector<std::optional<FinalScore>>(g.columns.size()),
                          std::vector<std::string>(g.columns.size())});
    }
    for (const auto& a : assignments) {
        auto r = row_of.find(a.student_id);
        if (r == row_of.end()) continue;  // assigned in the course, since removed from its roster
        auto col = column_of.at(a.exercise_id);
        auto& row = g.rows[r->second];
        const auto& evs = by_assignment[a.id];
        auto f = final_score(a, evs);
        row.cells[col] = f;
        row.assignment_ids[col] = a.id;
        if (!f.graded) continue;
        auto& column = g.columns[col];
        column.max_score = f.max_score;
        // Pass rates over the evaluation that gave the score (average: the last one counted).
        const store::Evaluation* chosen = nullptr;
        for (const auto& e : evs)
            if (e.id == f.evaluation_id ||
                (f.evaluation_id.empty() && store::is(e.status, store::EvaluationStatus::done) &&
                 (!chosen || e.created_at >= chosen->created_at)))
                chosen = &e;
        if (chosen) tally(column.checks, *chosen, row.member.user.username);
    }
    return g;
}

ClassReport class_report(store::Store& store, const std::string& run_id) {
    ClassReport rep;
    auto job = store.get_job(run_id);
    if (!job || job->kind != job::GradeClass::kind)
        throw core::not_found("no class grading run '" + run_id + "'");
    rep.job = *job;
    rep.exercise_id = job::params_of<job::GradeClass>(*job).exercise_id;
    auto evaluations = store.evaluations_in({"", "", run_id});
    rep.histogram.assign(10, 0);
    double sum = 0;
    std::map<std::string, store::User> users;
    for (const auto& e : evaluations) {
        if (!users.contains(e.student_id)) {
            auto u = store.get_user(e.student_id);
            users[e.student_id] = u ? *u : store::User{e.student_id};
        }
        const auto& u = users[e.student_id];
        if (rep.exercise_version_id.empty()) rep.exercise_version_id = e.exercise_version_id;
        rep.students.push_back({u, e.assignment_id, e.id, e.status, e.score, e.max_score, e.error});
        if (store::is(e.status, store::EvaluationStatus::error)) {
            ++rep.errors;
            continue;
        }
        if (!store::is(e.status, store::EvaluationStatus::done)) {
            ++rep.pending;
            continue;
        }
        ++rep.graded;
        double pct = e.max_score > 0 ? 100.0 * e.score / e.max_score : 0;
        sum += pct;
        ++rep.histogram[std::clamp(static_cast<int>(pct / 10), 0, 9)];
        tally(rep.checks, e, u.username);
    }
    if (auto v = store.get_version_by_id(rep.exercise_version_id)) rep.version = v->version;
    rep.mean_percent = rep.graded ? sum / rep.graded : 0;
    std::sort(rep.students.begin(), rep.students.end(),
              [](const auto& x, const auto& y) { return x.student.username < y.student.username; });
    std::vector<const CheckStats*> by_failures;
    for (const auto& c : rep.checks)
        if (c.failed) by_failures.push_back(&c);
    std::stable_sort(by_failures.begin(), by_failures.end(),
                     [](const auto* x, const auto* y) { return x->failed > y->failed; });
    for (std::size_t i = 0; i < by_failures.size() && i < 5; ++i) rep.failing.push_back(by_failures[i]->id);
    return rep;
}

namespace {

struct Target {
    store::Assignment assignment;
    store::User student;
    std::string evaluation_id;
    bool finished = false;  // graded by an earlier run of this job (taken over after a crash)
};

// The evaluations of this run, one per assignment: made once (a job taken over after a crash finds them
// and grades only those not finished).
std::vector<Target> prepare_run(store::Store& store, const std::string& run_id, const job::GradeClass& p) {
    auto ex = store.get_exercise(p.exercise_id);
    if (!ex) throw core::not_found("no exercise '" + p.exercise_id + "'");
    int version = p.version;
    std::optional<store::ExerciseVersion> v;
    if (version) {
        v = store.get_version(ex->id, version);
        if (!v || !store::is(v->state, store::VersionState::published))
            throw core::conflict("version " + std::to_string(version) + " of '" + ex->slug +
                                 "' is not published");
    }
    std::map<std::string, store::Evaluation> existing;
    for (auto& e : store.evaluations_in({"", "", run_id})) existing[e.assignment_id] = e;
    std::vector<Target> out;
    store.transaction([&] {
        for (auto a : store.assignments_in({ex->id, "", p.course_id})) {
            if (v && a.exercise_version_id != v->id) {
                store.set_assignment_version(a.id, v->id);
                a.exercise_version_id = v->id;
            }
            auto u = store.get_user(a.student_id);
            Target t{a, u ? *u : store::User{a.student_id}, "", false};
            if (auto it = existing.find(a.id); it != existing.end()) {
                t.evaluation_id = it->second.id;
                t.finished = store::is(it->second.status, store::EvaluationStatus::done) ||
                             store::is(it->second.status, store::EvaluationStatus::error);
            } else {
                store::Evaluation e;
                e.assignment_id = a.id;
                e.student_id = a.student_id;
                e.job_id = run_id;
                e.run_id = run_id;
                e.exercise_version_id = a.exercise_version_id;
                t.evaluation_id = store.create_evaluation(e).id;
            }
            out.push_back(std::move(t));
        }
    });
    return out;
}

asio::awaitable<std::string> run_class_grade(JobContext& ctx, job::GradeClass params, store::Store& store,
                                             core::WorkerPool& pool, Workflows& workflows) {
    auto run_id = ctx.job().id;
    auto targets = co_await pool.run([&] { return prepare_run(store, run_id, params); });
    int concurrency = params.concurrency;
    const auto total = static_cast<std::int64_t>(targets.size());
    std::int64_t done = 0;
    int graded = 0, errors = 0;
    for (const auto& t : targets) done += t.finished ? 1 : 0;
    std::size_t next = 0;
    bool reporting = false;  // one progress write at a time; the last figure is written at the end
    auto worker = [&]() -> asio::awaitable<void> {
        while (next < targets.size() && !ctx.cancelled()) {
            auto& t = targets[next++];
            if (t.finished) continue;
            std::string outcome;
            try {
                auto ev = co_await workflows.grade(t.evaluation_id);
                if (store::is(ev.status, store::EvaluationStatus::done)) {
                    ++graded;
                    outcome = std::to_string(ev.score) + "/" + std::to_string(ev.max_score);
                } else {
                    ++errors;
                    outcome = "error: " + ev.error;
                }
            } catch (const std::exception& e) {
                ++errors;
                outcome = std::string("error: ") + e.what();
            }
            ++done;
            if (!reporting) {
                reporting = true;
                try {
                    co_await ctx.progress(done, total, t.student.username + ": " + outcome);
                } catch (const std::exception&) {  // cancelled: the loop condition stops every worker
                }
                reporting = false;
            }
        }
    };
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    int live = concurrency;
    for (int i = 0; i < concurrency; ++i)
        asio::co_spawn(ex, worker(), [&](std::exception_ptr) {
            if (--live == 0) all_done.cancel();
        });
    if (live > 0) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
    co_await ctx.progress(total, total,
                          "graded " + std::to_string(graded) + ", errors " + std::to_string(errors));
    co_return json::serialize(json::object{{"students", total}, {"graded", graded}, {"errors", errors}});
}

}  // namespace

void register_class_grading(JobRunner& jobs, store::Store& store, core::WorkerPool& pool,
                            Workflows& workflows) {
    job::register_job<job::GradeClass>(jobs, [&store, &pool, &workflows](JobContext& ctx, job::GradeClass p) {
        return run_class_grade(ctx, std::move(p), store, pool, workflows);
    });
}

}  // namespace np::app
