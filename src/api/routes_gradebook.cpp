// Gradebooks and class grading (issue 12, parts 5 and 6): a course's final scores (JSON, or CSV for
// Moodle's gradebook import), grading every student of an exercise as one job, and that run's report.
// Teachers only: a student reads their own final score in GET /assignments/{id}/view.
#include <cstdio>

#include "api/handlers.hpp"
#include "app/gradebook.hpp"
#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

// One CSV field (RFC 4180). A text starting with = + - @ is prefixed with ' so that a spreadsheet opening
// the file does not run it as a formula (CSV injection through a display name).
std::string csv_field(std::string_view text) {
    std::string t(text);
    if (!t.empty() && (t[0] == '=' || t[0] == '+' || t[0] == '-' || t[0] == '@')) t.insert(0, "'");
    if (t.find_first_of(",\"\r\n") == std::string::npos) return t;
    std::string out = "\"";
    for (char c : t) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    std::string s = buf;
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s;
}

json::array checks_json(const std::vector<app::CheckStats>& checks) {
    json::array out;
    for (const auto& c : checks) {
        json::array samples;
        for (const auto& s : c.samples)
            samples.push_back(
                json::object{{"student", s.student}, {"status", s.status}, {"evidence", s.evidence}});
        out.push_back(json::object{{"id", c.id},
                                   {"title", c.title},
                                   {"hidden", c.hidden},
                                   {"passed", c.passed},
                                   {"failed", c.failed},
                                   {"pass_rate", c.pass_rate()},
                                   {"failing_samples", std::move(samples)}});
    }
    return out;
}

std::string want_format(const Context& ctx) {
    auto f = query_or(ctx, "format", "json");
    if (f != "json" && f != "csv") throw core::invalid("bad format", {{"format", "must be json or csv"}});
    return f;
}

http::Response csv_response(std::string body, const std::string& filename) {
    auto res = http::text_response(200, std::move(body), "text/csv; charset=utf-8");
    res.header("Content-Disposition", "attachment; filename=\"" + filename + "\"");
    return res;
}

// Moodle's gradebook import (Grades > Import > CSV file): map "username" to the user field username and
// each exercise column to its grade item; an empty cell is no grade (ignored by the import).
std::string gradebook_csv(const app::Gradebook& g) {
    std::string out = "username,email,display_name,group";
    for (const auto& c : g.columns) out += "," + csv_field(c.exercise.slug);
    out += "\r\n";
    for (const auto& row : g.rows) {
        const auto& m = row.member;
        out += csv_field(m.user.username) + "," + csv_field(m.email) + "," + csv_field(m.user.display_name) +
               "," + csv_field(m.group);
        for (const auto& cell : row.cells)
            out += "," + (cell && cell->graded ? number(cell->score) : std::string());
        out += "\r\n";
    }
    return out;
}

json::object gradebook_json(const app::Gradebook& g) {
    json::array columns;
    for (const auto& c : g.columns)
        columns.push_back(json::object{{"exercise_id", c.exercise.id},
                                       {"slug", c.exercise.slug},
                                       {"title", c.exercise.title},
                                       {"max_score", c.max_score},
                                       {"checks", checks_json(c.checks)}});
    json::array rows;
    for (const auto& row : g.rows) {
        json::array cells;
        for (std::size_t i = 0; i < row.cells.size(); ++i) {
            const auto& cell = row.cells[i];
            if (!cell) {
                cells.push_back(nullptr);
                continue;
            }
            cells.push_back(
                json::object{{"assignment_id", row.assignment_ids[i]},
                             {"graded", cell->graded},
                             {"score", cell->graded ? json::value(cell->score) : json::value(nullptr)},
                             {"max_score", cell->max_score},
                             {"late", cell->late},
                             {"evaluations_counted", cell->counted},
                             {"attempts_used", cell->attempts_used}});
        }
        const auto& m = row.member;
        rows.push_back(json::object{{"student_id", m.user_id},
                                    {"username", m.user.username},
                                    {"display_name", m.user.display_name},
                                    {"group", m.group},
                                    {"email", m.email},
                                    {"cells", std::move(cells)}});
    }
    return {{"course_id", g.course.id},
            {"slug", g.course.slug},
            {"columns", std::move(columns)},
            {"rows", std::move(rows)}};
}

std::string report_csv(const app::ClassReport& r) {
    std::string out = "username,display_name,status,score,max_score,percent,error\r\n";
    for (const auto& s : r.students) {
        bool done = store::is(s.status, store::EvaluationStatus::done);
        out += csv_field(s.student.username) + "," + csv_field(s.student.display_name) + "," + s.status +
               "," + (done ? number(s.score) : "") + "," + (done ? number(s.max_score) : "") + "," +
               (done && s.max_score > 0 ? number(100 * s.score / s.max_score) : "") + "," +
               csv_field(s.error) + "\r\n";
    }
    return out;
}

json::object report_json(const app::ClassReport& r) {
    json::array students, histogram, failing;
    for (const auto& s : r.students)
        students.push_back(json::object{{"student_id", s.student.id},
                                        {"username", s.student.username},
                                        {"display_name", s.student.display_name},
                                        {"assignment_id", s.assignment_id},
                                        {"evaluation_id", s.evaluation_id},
                                        {"status", s.status},
                                        {"score", s.score},
                                        {"max_score", s.max_score},
                                        {"error", s.error}});
    for (std::size_t i = 0; i < r.histogram.size(); ++i)
        histogram.push_back(json::object{{"from_percent", i * 10},
                                         {"to_percent", i == 9 ? 100 : (i + 1) * 10},
                                         {"students", r.histogram[i]}});
    for (const auto& id : r.failing) failing.push_back(json::string(id));
    return {{"run_id", r.job.id},
            {"state", r.job.state},
            {"progress", json::object{{"done", r.job.progress_done}, {"total", r.job.progress_total}}},
            {"exercise_id", r.exercise_id},
            {"exercise_version_id", r.exercise_version_id},
            {"version", r.version},
            {"graded", r.graded},
            {"errors", r.errors},
            {"pending", r.pending},
            {"mean_percent", r.mean_percent},
            {"histogram", std::move(histogram)},
            {"checks", checks_json(r.checks)},
            {"most_failed", std::move(failing)},
            {"students", std::move(students)}};
}

}  // namespace

void add_gradebook_routes(Router& r, ApiDeps& d) {
    r.add(
        {http::Method::get,
         "/api/v1/courses/{id}/gradebook",
         Policy::teacher,
         "gradebook",
         "The course's gradebook: each student's final score per exercise by the assignment's policy, and "
         "per-check pass rates. format=csv: Moodle's gradebook import (username, email, display_name, group, "
         "one column per exercise slug)",
         {},
         {{"format", "string", false, "json (default) or csv"}},
         200,
         [&d](Context& ctx) -> Aw {
             auto id = ctx.param("id");
             auto format = want_format(ctx);
             auto g = co_await d.pool.run([&] { return app::course_gradebook(d.store, id); });
             if (format == "csv") co_return csv_response(gradebook_csv(g), g.course.slug + "-gradebook.csv");
             co_return json_ok(gradebook_json(g));
         }});

    r.add({http::Method::post,
           "/api/v1/exercises/{id}/class-grading",
           Policy::teacher,
           "gradebook",
           "Grade every student of the exercise now (or of one course) as one job (class.grade), at most "
           "`concurrency` labs at once, progress per student. With `version`, the assignments move to that "
           "published version first (a spec fix); earlier runs keep their results. These gradings use no "
           "student attempt.",
           {{"course_id", "string", false, "only the assignments given in this course"},
            {"version", "integer", false, "re-grade with this published version"},
            {"concurrency", "integer", false, "labs graded at once, 1-64 (default 8)"}},
           {},
           202,
           [&d](Context& ctx) -> Aw {
               auto ref = ctx.param("id");
               int version = static_cast<int>(body_int(ctx, "version", 0, 1, INT32_MAX));
               auto concurrency = body_int(ctx, "concurrency", 8, 1, 64);
               auto course_ref = body_string(ctx, "course_id");
               auto [ex_id, course_id] = co_await d.pool.run([&] {
                   auto ex = d.store.get_exercise(ref);
                   if (!ex) throw core::not_found("no exercise '" + ref + "'");
                   if (version) {
                       auto v = d.store.get_version(ex->id, version);
                       if (!v || !store::is(v->state, store::VersionState::published))
                           throw core::conflict("version " + std::to_string(version) + " of '" + ex->slug +
                                                "' is not published");
                   }
                   std::string cid;
                   if (!course_ref.empty()) {
                       auto c = d.store.get_course(course_ref);
                       if (!c) throw core::not_found("no course '" + course_ref + "'");
                       cid = c->id;
                   }
                   audit(d.store, ctx, "exercise.class_grading", "exercise", ex->id);
                   return std::make_pair(ex->id, cid);
               });
               auto job = app::job::make_job(
                   app::job::GradeClass{ex_id, course_id, static_cast<int>(concurrency), version});
               job.owner_id = ctx.caller->user_id;
               job.subject_type = "exercise";
               job.subject_id = ex_id;
               job = co_await d.jobs.submit(job);
               co_return json_ok(json::object{{"job", job_json(job, true)},
                                              {"report", "/api/v1/class-gradings/" + job.id + "/report"}},
                                 202);
           }});

    r.add(
        {http::Method::get,
         "/api/v1/class-gradings/{id}/report",
         Policy::teacher,
         "gradebook",
         "A class grading's report (also while it runs): score histogram, pass rate of each check, the most "
         "failed checks with sample evidence, one line per student. format=csv: one line per student",
         {},
         {{"format", "string", false, "json (default) or csv"}},
         200,
         [&d](Context& ctx) -> Aw {
             auto id = ctx.param("id");
             auto format = want_format(ctx);
             auto rep = co_await d.pool.run([&] { return app::class_report(d.store, id); });
             if (format == "csv") co_return csv_response(report_csv(rep), "class-grading-" + id + ".csv");
             co_return json_ok(report_json(rep));
         }});
}

}  // namespace np::api
