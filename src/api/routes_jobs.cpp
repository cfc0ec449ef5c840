// Jobs (long work and its progress) and the audit log.
#include "api/handlers.hpp"
#include "app/jobs.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

// The job, if the caller may see it (a student: only their own; others' are "not found", not confirmed).
boost::asio::awaitable<store::Job> visible_job(ApiDeps& d, const Context& ctx, const std::string& id) {
    auto j = co_await d.pool.run([&] { return d.store.get_job(id); });
    if (!j) throw core::not_found("no such object");
    ctx.require_owner(j->owner_id);
    co_return std::move(*j);
}

}  // namespace

namespace {

std::int64_t time_param(const Context& ctx, std::string_view name) {
    auto text = query_or(ctx, name);
    std::int64_t t = 0;
    if (!text.empty() && !core::parse_rfc3339(text, t))
        throw core::invalid("bad " + std::string(name),
                            {{std::string(name), "an RFC 3339 time such as 2026-11-30T08:00:00Z"}});
    return t;
}

// The audit page's filters from the query, each checked (a bad one is a 400 naming it).
store::AuditFilter audit_filter(const Context& ctx) {
    store::AuditFilter f;
    f.object_id = query_or(ctx, "object_id");
    f.actor = query_or(ctx, "actor");
    f.action = query_or(ctx, "action");
    f.object_type = query_or(ctx, "object_type");
    f.outcome = query_or(ctx, "outcome");
    for (auto [name, value] : {std::pair{"object_id", &f.object_id},
                               {"actor", &f.actor},
                               {"action", &f.action},
                               {"object_type", &f.object_type}})
        if (value->size() > 200) throw core::invalid("filter too long", {{name, "at most 200 characters"}});
    if (!f.outcome.empty() && f.outcome != "ok" && f.outcome != "denied" && f.outcome != "failed")
        throw core::invalid("bad outcome", {{"outcome", "ok, denied or failed"}});
    f.since = time_param(ctx, "since");
    f.until = time_param(ctx, "until");
    auto order = query_or(ctx, "order", "newest");
    if (order != "newest" && order != "oldest")
        throw core::invalid("bad order", {{"order", "newest or oldest"}});
    f.newest_first = order == "newest";
    return f;
}

}  // namespace

void add_job_routes(Router& r, ApiDeps& d) {
    r.add({http::Method::get,
           "/api/v1/jobs",
           Policy::student_own,
           "jobs",
           "List jobs (students: their own)",
           {},
           {{"state", "string", false, "queued | running | succeeded | failed | cancelled"},
            {"kind", "string", false, ""},
            {"subject_id", "string", false, "the object the job works on"}},
           200,
           [&d](Context& ctx) -> Aw {
               store::JobFilter f{query_or(ctx, "state"), query_or(ctx, "kind"), "",
                                  query_or(ctx, "subject_id")};
               if (!ctx.is_teacher()) f.owner_id = ctx.caller->user_id;
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_jobs(f, page); });
               co_return json_ok(
                   page_json(res, [&ctx](const store::Job& j) { return job_json(j, ctx.is_teacher()); }));
           },
           true});

    r.add({http::Method::get,
           "/api/v1/jobs/{id}",
           Policy::student_own,
           "jobs",
           "One job with its progress",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto j = co_await visible_job(d, ctx, ctx.param("id"));
               co_return json_ok(job_json(j, ctx.is_teacher()));
           }});

    r.add({http::Method::post,
           "/api/v1/jobs/{id}/cancel",
           Policy::student_own,
           "jobs",
           "Cancel a queued or running job",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto j = co_await visible_job(d, ctx, id);
               if (!co_await d.jobs.cancel(id))
                   throw core::conflict("job " + id + " has already finished (" + j.state + ")");
               auto after = co_await d.pool.run([&] { return d.store.get_job(id); });
               co_return json_ok(job_json(*after, ctx.is_teacher()));
           }});

    r.add({http::Method::get,
           "/api/v1/audit",
           Policy::teacher,
           "audit",
           "The audit log (who did what to which object, when, and the outcome: logins, exercises, "
           "assignments, labs, grading requests and finished gradings, users, courses, requests refused "
           "with 403), newest first; filters combine",
           {},
           {{"object_id", "string", false, ""},
            {"actor", "string", false, "a user id or username"},
            {"action", "string", false,
             "exact (exercise.version.publish) or a prefix ending in '.' (exercise.)"},
            {"object_type", "string", false,
             "user | exercise | assignment | environment | course | evaluation"},
            {"outcome", "string", false, "ok | denied | failed"},
            {"since", "string", false, "RFC 3339 time, inclusive"},
            {"until", "string", false, "RFC 3339 time, exclusive"},
            {"order", "string", false, "newest (default) or oldest first"}},
           200,
           [&d](Context& ctx) -> Aw {
               auto f = audit_filter(ctx);
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_audit(f, page); });
               co_return json_ok(page_json(res, audit_json));
           },
           true});
}

}  // namespace np::api
