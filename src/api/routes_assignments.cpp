// Assignments (an exercise version given to a student), their environments (the student's lab) and
// evaluations (graded attempts). Students reach only their own.
#include <set>

#include "api/handlers.hpp"
#include "api/rules_body.hpp"
#include "app/courses.hpp"
#include "app/grading.hpp"
#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "app/provisioning.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

http::Response no_content() {
    http::Response res;
    res.status = 204;
    res.content_type = {};
    return res;
}

// What makes newly assigned environments' labs: on a provider on a shared cluster (proxmox) ONE job for the
// class (provisioning, or provisioning and start together); local labs only when started, one job each.
// The jobs go into `body` (`job`, `jobs`).
boost::asio::awaitable<void> submit_assigned(ApiDeps& d, const std::vector<store::Environment>& envs,
                                             bool start, const std::string& caller, json::object& body) {
    if (envs.empty()) co_return;
    if (app::provisions_in_batch(envs.front().provider)) {
        auto job = start ? app::start_job(envs, caller) : app::provision_job(envs, caller);
        body["job"] = job_json(co_await d.jobs.submit(job), true);
        co_return;
    }
    if (!start) co_return;
    json::array jobs;
    for (const auto& e : envs) {
        auto job = app::job::make_job(app::job::ReconcileEnvironment{e.id, "start"});
        job.owner_id = e.student_id;
        job.subject_type = "environment";
        job.subject_id = e.id;
        jobs.push_back(job_json(co_await d.jobs.submit(job), true));
    }
    body["jobs"] = std::move(jobs);
}

json::object student_view_json(const app::StudentView& v) {
    json::array devices;
    for (const auto& dev : v.devices)
        devices.push_back(json::object{{"name", dev.name}, {"platform", dev.platform}});
    const auto& a = v.assignment;
    json::object final_score{{"graded", v.final.graded},
                             {"score", v.final.score},
                             {"max_score", v.final.max_score},
                             {"late", v.final.late},
                             {"evaluations_counted", v.final.counted}};
    return {
        {"assignment_id", a.id},
        {"title", v.title},
        {"version", v.version},
        {"instructions", v.instructions},
        {"devices", std::move(devices)},
        {"environment", v.environment ? json::value(environment_json(*v.environment)) : json::value(nullptr)},
        {"deadline", a.deadline ? json::value(core::rfc3339(a.deadline)) : json::value(nullptr)},
        {"deadline_passed", v.deadline_passed},
        {"late", a.late_policy},
        {"late_penalty", a.late_penalty},
        {"max_attempts", a.max_attempts},
        {"attempts_used", v.attempts_used},
        {"attempts_left", v.attempts_left < 0 ? json::value(nullptr) : json::value(v.attempts_left)},
        {"cooldown_seconds", a.cooldown_seconds},
        {"cooldown_left", v.cooldown_left},
        {"can_evaluate", v.can_evaluate},
        {"score_policy", a.score_policy},
        {"checks", json::object{{"visible", v.visible_checks}, {"hidden", v.hidden_checks}}},
        {"final", std::move(final_score)}};
}

}  // namespace

std::vector<Field> rule_fields() {
    return {
        {"deadline", "string", false, "RFC 3339; default the spec's grading.deadline"},
        {"max_attempts", "integer", false,
         "0 = unlimited, at most 1000; default the spec's grading.attempts"},
        {"cooldown_seconds", "integer", false,
         "at most 604800 (a week); default the spec's grading.cooldown"},
        {"score_policy", "string", false, "last | best | average; default the spec's grading.score"},
        {"late", "string", false, "refuse (default) | accept: evaluations after the deadline"},
        {"late_penalty", "integer", false,
         "percent off a late evaluation's score (0-100; with late: accept)"},
        {"keep_hidden", "boolean", false, "hidden checks stay hidden after the deadline (default false)"}};
}

app::RuleOverrides rule_overrides(const Context& ctx) {
    app::RuleOverrides r;
    if (body_has(ctx, "deadline")) {
        std::int64_t t = 0;
        if (!core::parse_rfc3339(body_string(ctx, "deadline"), t))
            throw core::invalid("bad deadline",
                                {{"deadline", "must be RFC 3339, e.g. 2026-12-01T12:00:00Z"}});
        r.deadline = t;
    }
    // Out-of-range values are refused by app::apply_rules, naming the field; here only what fits 64 bits.
    if (body_has(ctx, "max_attempts"))
        r.max_attempts = body_int(ctx, "max_attempts", 0, INT64_MIN, INT64_MAX);
    if (body_has(ctx, "cooldown_seconds"))
        r.cooldown_seconds = body_int(ctx, "cooldown_seconds", 0, INT64_MIN, INT64_MAX);
    if (body_has(ctx, "late_penalty"))
        r.late_penalty = body_int(ctx, "late_penalty", 0, INT64_MIN, INT64_MAX);
    if (body_has(ctx, "score_policy")) r.score = body_string(ctx, "score_policy");
    if (body_has(ctx, "late")) r.late = body_string(ctx, "late");
    if (body_has(ctx, "keep_hidden")) r.keep_hidden = ctx.body->at("keep_hidden").as_bool();
    return r;
}

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

    std::vector<Field> assign_fields{
        {"exercise_id", "string", true, "id or slug"},
        {"version", "integer", false, "published version; default the latest published"},
        {"student_ids", "array", true, "user ids of students"},
        {"start", "boolean", false,
         "start the labs too (default false). Proxmox: one job creates and starts them, each VM started as "
         "soon as its clone is done"}};
    for (auto& f : rule_fields()) assign_fields.push_back(std::move(f));
    r.add({http::Method::post,
           "/api/v1/assignments",
           Policy::teacher,
           "assignments",
           "Assign a published exercise version to students; each gets an assignment and an environment "
           "(all or none: one transaction). Rules not given come from the spec's grading: section. On a "
           "Proxmox server the environments' VMs are then created as one batch job (`job`); with `start`, "
           "that job starts them too (local labs: one start job each, `jobs`).",
           std::move(assign_fields),
           {},
           201,
           [&d](Context& ctx) -> Aw {
               app::AssignRequest req;
               req.exercise_ref = body_string(ctx, "exercise_id");
               req.version = static_cast<int>(body_int(ctx, "version", 0, 0, INT32_MAX));
               for (const auto& s : ctx.body->at("student_ids").as_array())
                   req.student_ids.emplace_back(s.as_string());
               req.rules = rule_overrides(ctx);
               req.created_by = ctx.caller->user_id;
               req.provider = d.options.environment_provider;
               const bool start = body_has(ctx, "start") && ctx.body->at("start").as_bool();
               std::vector<store::Environment> envs;
               auto created = co_await d.pool.run([&] {
                   std::vector<store::Assignment> out;
                   d.store.transaction([&] {
                       out = app::assign_students(d.store, req);
                       audit(d.store, ctx, "assignment.create", "exercise", out.front().exercise_id,
                             json::serialize(json::object{{"students", out.size()}, {"start", start}}));
                       for (const auto& a : out) {
                           auto e = d.store.environment_for_assignment(a.id);
                           if (!e) continue;
                           if (start) {
                               e->desired_state = store::str(store::DesiredState::running);
                               d.store.update_environment(*e);
                           }
                           envs.push_back(std::move(*e));
                       }
                   });
                   return out;
               });
               json::array items;
               for (const auto& a : created) items.push_back(assignment_json(a));
               json::object body{{"items", std::move(items)}};
               co_await submit_assigned(d, envs, start, ctx.caller->user_id, body);
               co_return json_ok(body, 201);
           }});

    r.add({http::Method::patch,
           "/api/v1/assignments/{id}",
           Policy::teacher,
           "assignments",
           "Change an assignment's grading rules (only those given); the final score follows the new policy",
           rule_fields(),
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto rules = rule_overrides(ctx);
               auto a = co_await d.pool.run([&] {
                   store::Assignment out;
                   d.store.transaction([&] {
                       auto got = d.store.get_assignment(id);
                       if (!got) throw core::not_found("no assignment " + id);
                       out = *got;
                       app::apply_overrides(out, rules);
                       d.store.update_assignment_rules(out);
                       audit(d.store, ctx, "assignment.update", "assignment", id);
                   });
                   return out;
               });
               co_return json_ok(assignment_json(a));
           }});

    r.add({http::Method::get,
           "/api/v1/assignments/{id}/view",
           Policy::student_own,
           "assignments",
           "The student's view of an assignment: title, instructions rendered with their own variables, "
           "devices, deadline, attempts and cooldown left, final score (no spec internals, no hidden check)",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto caller = ctx.caller->user_id;
               bool teacher = ctx.is_teacher();
               auto v = co_await d.pool.run(
                   [&] { return app::student_view(d.store, id, caller, teacher, core::unix_now()); });
               co_return json_ok(student_view_json(v));
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
                           if (!store::is(env->observed_state, store::ObservedState::absent))
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
             store::DesiredState desired;
             if (action == "start" || action == "reset")
                 desired = store::DesiredState::running;
             else if (action == "stop")
                 desired = store::DesiredState::stopped;
             else if (action == "destroy")
                 desired = store::DesiredState::absent;
             else
                 throw core::invalid("unknown action", {{"action", "must be start, stop, reset or destroy"}});
             if (action == "destroy" && !ctx.is_teacher())
                 throw core::forbidden("only a teacher can destroy an environment");
             auto env = co_await d.pool.run([&] {
                 auto e = d.store.get_environment(id);
                 if (!e) throw core::not_found("no such object");
                 ctx.require_owner(e->student_id);
                 e->desired_state = store::str(desired);
                 e->updated_at = core::unix_now();
                 d.store.transaction([&] {
                     d.store.update_environment(*e);
                     audit(d.store, ctx, "environment." + action, "environment", e->id);
                 });
                 return *e;
             });
             auto job = app::job::make_job(app::job::ReconcileEnvironment{env.id, action});
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
               bool teacher = ctx.is_teacher();
               auto now = core::unix_now();
               // Which assignments' hidden checks the student may read (after their deadline).
               auto loaded = co_await d.pool.run([&] {
                   auto page_res = d.store.list_evaluations(f, page);
                   std::set<std::string> open;
                   if (!teacher) {
                       std::set<std::string> ids;
                       for (const auto& e : page_res.items) ids.insert(e.assignment_id);
                       for (const auto& aid : ids)
                           if (auto a = d.store.get_assignment(aid); a && app::hidden_revealed(*a, now))
                               open.insert(aid);
                   }
                   return std::make_pair(page_res, open);
               });
               const auto& revealed = loaded.second;
               co_return json_ok(page_json(loaded.first, [teacher, &revealed](const store::Evaluation& e) {
                   return evaluation_json(e, teacher, revealed.contains(e.assignment_id));
               }));
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
               auto [e, revealed] = co_await d.pool.run([&] {
                   auto ev = d.store.get_evaluation(id);
                   auto a = ev ? d.store.get_assignment(ev->assignment_id) : std::nullopt;
                   return std::make_pair(ev, a && app::hidden_revealed(*a, core::unix_now()));
               });
               if (!e) throw core::not_found("no such object");
               ctx.require_owner(e->student_id);
               co_return json_ok(evaluation_json(*e, ctx.is_teacher(), revealed));
           }});

    r.add({http::Method::post,
           "/api/v1/assignments/{id}/evaluations",
           Policy::student_own,
           "evaluations",
           "Request grading of the assignment's lab now (attempts, cooldown and deadline apply to students; "
           "after the deadline refused, or accepted and marked late when the assignment accepts late "
           "submissions)",
           {},
           {},
           202,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto now = core::unix_now();
               auto caller = ctx.caller->user_id;
               bool teacher = ctx.is_teacher();
               auto ev = co_await d.pool.run([&] {
                   try {
                       auto made = app::request_evaluation(d.store, id, caller, teacher, now);
                       audit(d.store, ctx, "evaluation.request", "assignment", id,
                             json::serialize(
                                 json::object{{"evaluation_id", made.id}, {"attempt", made.attempt}}));
                       return made;
                   } catch (const core::Error& e) {
                       // Refused (attempts used up, cooldown, deadline...): recorded with the reason.
                       if (e.code() != core::Code::not_found)
                           audit(d.store, ctx, "evaluation.request", "assignment", id,
                                 json::serialize(json::object{{"reason", e.what()}}), "denied");
                       throw;
                   }
               });
               auto job = app::job::make_job(app::job::RunEvaluation{ev.id, id});
               job.id = ev.job_id;
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
