// Assignments (an exercise version given to a student), their environments (the student's lab) and
// evaluations (graded attempts). Students reach only their own.
#include "api/handlers.hpp"
#include "app/jobs.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

http::Response no_content() {
    http::Response res;
    res.status = 204;
    res.content_type = {};
    return res;
}

}  // namespace

void add_assignment_routes(Router& r, ApiDeps& d) {
    r.add({http::Method::get,
           "/api/v1/assignments",
           Policy::student_own,
           "assignments",
           "List assignments (students: their own)",
           {},
           {{"exercise_id", "string", false, ""}, {"student_id", "string", false, "teachers only"}},
           200,
           [&d](Context& ctx) -> Aw {
               store::AssignmentFilter f{query_or(ctx, "exercise_id"), query_or(ctx, "student_id")};
               if (!ctx.is_teacher()) f.student_id = ctx.caller->user_id;
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_assignments(f, page); });
               co_return json_ok(page_json(res, assignment_json));
           },
           true});

    r.add({http::Method::post,
           "/api/v1/assignments",
           Policy::teacher,
           "assignments",
           "Assign a published exercise version to students; each gets an assignment and an environment "
           "(all or none: one transaction)",
           {{"exercise_id", "string", true, "id or slug"},
            {"version", "integer", false, "published version; default the latest published"},
            {"student_ids", "array", true, "user ids of students"},
            {"deadline", "string", false, "RFC 3339"},
            {"max_attempts", "integer", false, "0 = unlimited"},
            {"cooldown_seconds", "integer", false, ""},
            {"score_policy", "string", false, "last or best"}},
           {},
           201,
           [&d](Context& ctx) -> Aw {
               auto exercise_ref = body_string(ctx, "exercise_id");
               int version = static_cast<int>(body_int(ctx, "version", 0, 0, INT32_MAX));
               std::vector<std::string> students;
               for (const auto& s : ctx.body->at("student_ids").as_array())
                   students.emplace_back(s.as_string());
               if (students.empty())
                   throw core::invalid("no students", {{"student_ids", "must not be empty"}});
               if (students.size() > 2000)
                   throw core::invalid("too many students", {{"student_ids", "at most 2000 per request"}});
               std::int64_t deadline = 0;
               if (auto dl = body_string(ctx, "deadline"); !dl.empty() && !core::parse_rfc3339(dl, deadline))
                   throw core::invalid("bad deadline",
                                       {{"deadline", "must be RFC 3339, e.g. 2026-12-01T12:00:00Z"}});
               int max_attempts = static_cast<int>(body_int(ctx, "max_attempts", 0, 0, 1'000'000));
               int cooldown = static_cast<int>(body_int(ctx, "cooldown_seconds", 0, 0, 366 * 86400));
               auto policy = body_string(ctx, "score_policy", "last");
               if (max_attempts < 0 || cooldown < 0)
                   throw core::invalid("negative limits", {{"max_attempts", "must be >= 0"}});
               if (policy != "last" && policy != "best")
                   throw core::invalid("bad score policy", {{"score_policy", "must be last or best"}});
               auto provider = d.options.environment_provider;
               auto created = co_await d.pool.run([&] {
                   auto ex = d.store.get_exercise(exercise_ref);
                   if (!ex) throw core::not_found("no exercise '" + exercise_ref + "'");
                   int n = version ? version : ex->published_version;
                   auto v = n ? d.store.get_version(ex->id, n) : std::nullopt;
                   if (!v || v->state != "published")
                       throw core::conflict("exercise '" + ex->slug + "' has no published version" +
                                            (version ? " " + std::to_string(version) : std::string()) +
                                            ": publish one first");
                   std::vector<store::Assignment> out;
                   d.store.transaction([&] {
                       for (size_t i = 0; i < students.size(); ++i) {
                           auto u = d.store.get_user(students[i]);
                           if (!u || u->role != "student")
                               throw core::invalid("not a student",
                                                   {{"student_ids[" + std::to_string(i) + "]",
                                                     "no student with id '" + students[i] + "'"}});
                           store::Assignment a;
                           a.id = core::new_id();
                           a.exercise_id = ex->id;
                           a.exercise_version_id = v->id;
                           a.student_id = u->id;
                           a.created_by = ctx.caller->user_id;
                           a.deadline = deadline;
                           a.max_attempts = max_attempts;
                           a.cooldown_seconds = cooldown;
                           a.score_policy = policy;
                           a.created_at = core::unix_now();
                           d.store.create_assignment(a);
                           store::Environment e;
                           e.id = core::new_id();
                           e.assignment_id = a.id;
                           e.student_id = u->id;
                           e.provider = provider;
                           e.created_at = e.updated_at = a.created_at;
                           d.store.create_environment(e);
                           out.push_back(a);
                       }
                       audit(d.store, ctx, "assignment.create", "exercise", ex->id,
                             json::serialize(json::object{{"students", students.size()}}));
                   });
                   return out;
               });
               json::array items;
               for (const auto& a : created) items.push_back(assignment_json(a));
               co_return json_ok(json::object{{"items", std::move(items)}}, 201);
           }});

    r.add({http::Method::get,
           "/api/v1/assignments/{id}",
           Policy::student_own,
           "assignments",
           "One assignment, with its environment",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto [a, env] = co_await d.pool.run([&] {
                   auto as = d.store.get_assignment(id);
                   if (!as) throw core::not_found("no such object");
                   return std::make_pair(*as, d.store.environment_for_assignment(as->id));
               });
               ctx.require_owner(a.student_id);
               auto o = assignment_json(a);
               o["environment"] = env ? json::value(environment_json(*env)) : json::value(nullptr);
               co_return json_ok(o);
           }});

    r.add({http::Method::del,
           "/api/v1/assignments/{id}",
           Policy::teacher,
           "assignments",
           "Withdraw an assignment (its environment must be absent)",
           {},
           {},
           204,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               co_await d.pool.run([&] {
                   d.store.transaction([&] {
                       if (!d.store.get_assignment(id)) throw core::not_found("no assignment " + id);
                       if (auto env = d.store.environment_for_assignment(id)) {
                           if (env->observed_state != "absent")
                               throw core::conflict("the assignment's environment is " + env->observed_state +
                                                    ": destroy it first");
                           d.store.delete_environment(env->id);
                       }
                       d.store.delete_assignment(id);
                       audit(d.store, ctx, "assignment.delete", "assignment", id);
                   });
               });
               co_return no_content();
           }});

    r.add({http::Method::get,
           "/api/v1/environments",
           Policy::student_own,
           "environments",
           "List environments (the class board; students: their own)",
           {},
           {{"assignment_id", "string", false, ""},
            {"student_id", "string", false, "teachers only"},
            {"exercise_id", "string", false, ""},
            {"state", "string", false, "observed state"}},
           200,
           [&d](Context& ctx) -> Aw {
               store::EnvironmentFilter f{query_or(ctx, "assignment_id"), query_or(ctx, "student_id"),
                                          query_or(ctx, "state"), query_or(ctx, "exercise_id")};
               if (!ctx.is_teacher()) f.student_id = ctx.caller->user_id;
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_environments(f, page); });
               co_return json_ok(page_json(res, environment_json));
           },
           true});

    r.add({http::Method::get,
           "/api/v1/environments/{id}",
           Policy::student_own,
           "environments",
           "One environment",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto e = co_await d.pool.run([&] { return d.store.get_environment(id); });
               if (!e) throw core::not_found("no such object");
               ctx.require_owner(e->student_id);
               co_return json_ok(environment_json(*e));
           }});

    r.add(
        {http::Method::post,
         "/api/v1/environments/{id}/actions",
         Policy::student_own,
         "environments",
         "Change an environment's desired state (start, stop, reset, destroy); the reconciler does the work "
         "as a job",
         {{"action", "string", true, "start | stop | reset | destroy"}},
         {},
         202,
         [&d](Context& ctx) -> Aw {
             auto id = ctx.param("id");
             auto action = body_string(ctx, "action");
             std::string desired;
             if (action == "start" || action == "reset")
                 desired = "running";
             else if (action == "stop")
                 desired = "stopped";
             else if (action == "destroy")
                 desired = "absent";
             else
                 throw core::invalid("unknown action", {{"action", "must be start, stop, reset or destroy"}});
             if (action == "destroy" && !ctx.is_teacher())
                 throw core::forbidden("only a teacher can destroy an environment");
             auto env = co_await d.pool.run([&] {
                 auto e = d.store.get_environment(id);
                 if (!e) throw core::not_found("no such object");
                 ctx.require_owner(e->student_id);
                 e->desired_state = desired;
                 e->updated_at = core::unix_now();
                 d.store.transaction([&] {
                     d.store.update_environment(*e);
                     audit(d.store, ctx, "environment." + action, "environment", e->id);
                 });
                 return *e;
             });
             store::Job job;
             job.kind = "environment.reconcile";
             job.params = json::serialize(json::object{{"environment_id", env.id}, {"action", action}});
             job.owner_id = env.student_id;
             job.subject_type = "environment";
             job.subject_id = env.id;
             job = co_await d.jobs.submit(job);
             co_return json_ok(json::object{{"environment", environment_json(env)},
                                            {"job", job_json(job, ctx.is_teacher())}},
                               202);
         }});

    r.add({http::Method::get,
           "/api/v1/evaluations",
           Policy::student_own,
           "evaluations",
           "List evaluations (the gradebook; students: their own attempts)",
           {},
           {{"assignment_id", "string", false, ""},
            {"student_id", "string", false, "teachers only"},
            {"status", "string", false, "queued | running | done | error"}},
           200,
           [&d](Context& ctx) -> Aw {
               store::EvaluationFilter f{query_or(ctx, "assignment_id"), query_or(ctx, "student_id"),
                                         query_or(ctx, "status")};
               if (!ctx.is_teacher()) f.student_id = ctx.caller->user_id;
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_evaluations(f, page); });
               bool teacher = ctx.is_teacher();
               co_return json_ok(page_json(
                   res, [teacher](const store::Evaluation& e) { return evaluation_json(e, teacher); }));
           },
           true});

    r.add({http::Method::get,
           "/api/v1/evaluations/{id}",
           Policy::student_own,
           "evaluations",
           "One evaluation with per-check results (hidden checks redacted for students)",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto e = co_await d.pool.run([&] { return d.store.get_evaluation(id); });
               if (!e) throw core::not_found("no such object");
               ctx.require_owner(e->student_id);
               co_return json_ok(evaluation_json(*e, ctx.is_teacher()));
           }});

    r.add({http::Method::post,
           "/api/v1/assignments/{id}/evaluations",
           Policy::student_own,
           "evaluations",
           "Request grading of the assignment's lab now (attempts, cooldown and deadline apply to students)",
           {},
           {},
           202,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto now = core::unix_now();
               auto ev = co_await d.pool.run([&] {
                   store::Evaluation out;
                   d.store.transaction([&] {
                       auto a = d.store.get_assignment(id);
                       if (!a) throw core::not_found("no such object");
                       ctx.require_owner(a->student_id);
                       if (!ctx.is_teacher()) {
                           if (a->deadline && now > a->deadline)
                               throw core::conflict("the deadline (" + core::rfc3339(a->deadline) +
                                                    ") has passed");
                           int used = d.store.count_evaluations(a->id);
                           if (a->max_attempts && used >= a->max_attempts)
                               throw core::conflict("all " + std::to_string(a->max_attempts) +
                                                    " attempts are used");
                           if (auto last = d.store.last_evaluation(a->id);
                               last && a->cooldown_seconds && now < last->created_at + a->cooldown_seconds)
                               throw core::Error(
                                   core::Code::rate_limited,
                                   "wait " + std::to_string(last->created_at + a->cooldown_seconds - now) +
                                       " s before the next evaluation");
                       }
                       store::Evaluation e;
                       e.id = core::new_id();
                       e.assignment_id = a->id;
                       e.student_id = a->student_id;
                       e.job_id = core::new_id();
                       e.created_at = now;
                       out = d.store.create_evaluation(e);
                   });
                   return out;
               });
               store::Job job;
               job.id = ev.job_id;
               job.kind = "evaluation.run";
               job.params = json::serialize(json::object{{"evaluation_id", ev.id}, {"assignment_id", id}});
               job.owner_id = ev.student_id;
               job.subject_type = "evaluation";
               job.subject_id = ev.id;
               job = co_await d.jobs.submit(job);
               co_return json_ok(json::object{{"evaluation", evaluation_json(ev, ctx.is_teacher())},
                                              {"job", job_json(job, ctx.is_teacher())}},
                                 202);
           }});
}

}  // namespace np::api
