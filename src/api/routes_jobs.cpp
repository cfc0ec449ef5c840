// Jobs (long work and its progress) and the audit log.
#include "api/handlers.hpp"
#include "app/jobs.hpp"
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
           "The audit log (who did what, when)",
           {},
           {{"object_id", "string", false, ""}},
           200,
           [&d](Context& ctx) -> Aw {
               auto obj = query_or(ctx, "object_id");
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_audit(obj, page); });
               co_return json_ok(page_json(res, audit_json));
           },
           true});
}

}  // namespace np::api
