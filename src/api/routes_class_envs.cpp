// A class's environments at once (issue 10 part 4): one action on many environments. Environments of a
// provider that provisions in batch (proxmox) are started by ONE environments.start job, in waves bounded by
// the cluster's capacity; every other action, and every local environment, gets its own
// environment.reconcile job as one environment's action does.
#include "api/handlers.hpp"
#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "app/provisioning.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

constexpr std::size_t kMaxEnvironments = 2000;

// The environments named by the body: environment_ids, or every environment of exercise_id.
std::vector<store::Environment> chosen(ApiDeps& d, const std::vector<std::string>& ids,
                                       const std::string& exercise_id) {
    std::vector<store::Environment> out;
    if (!ids.empty()) {
        for (const auto& id : ids) {
            auto e = d.store.get_environment(id);
            if (!e) throw core::not_found("no environment " + id);
            out.push_back(std::move(*e));
        }
        return out;
    }
    store::EnvironmentFilter f;
    f.exercise_id = exercise_id;
    store::Page page;
    page.limit = 500;
    while (true) {
        auto res = d.store.list_environments(f, page);
        for (auto& e : res.items) out.push_back(std::move(e));
        if (res.next.empty() || out.size() > kMaxEnvironments) break;
        page.after = res.next;
    }
    return out;
}

std::vector<std::string> id_list(const Context& ctx) {
    std::vector<std::string> ids;
    if (!body_has(ctx, "environment_ids")) return ids;
    const auto& v = ctx.body->at("environment_ids");
    if (!v.is_array())
        throw core::invalid("bad environment_ids", {{"environment_ids", "must be an array of ids"}});
    for (const auto& e : v.as_array()) {
        if (!e.is_string())
            throw core::invalid("bad environment_ids", {{"environment_ids", "must be an array of ids"}});
        ids.emplace_back(e.as_string());
    }
    return ids;
}

}  // namespace

void add_class_environment_routes(Router& r, ApiDeps& d) {
    r.add({http::Method::post,
           "/api/v1/environments/actions",
           Policy::teacher,
           "environments",
           "Change many environments' desired state at once (a class): start, stop or destroy. Proxmox "
           "environments start as one job, in waves bounded by the cluster's free memory and vCPUs and by "
           "pve.start_wave; the others get one job each",
           {{"action", "string", true, "start | stop | destroy"},
            {"environment_ids", "array", false, "ids (at most 2000); or"},
            {"exercise_id", "string", false, "every environment of this exercise"}},
           {},
           202,
           [&d](Context& ctx) -> Aw {
               auto action = body_string(ctx, "action");
               store::DesiredState desired;
               if (action == "start")
                   desired = store::DesiredState::running;
               else if (action == "stop")
                   desired = store::DesiredState::stopped;
               else if (action == "destroy")
                   desired = store::DesiredState::absent;
               else
                   throw core::invalid("unknown action", {{"action", "must be start, stop or destroy"}});
               auto ids = id_list(ctx);
               auto exercise = body_string(ctx, "exercise_id");
               if (ids.empty() == exercise.empty())
                   throw core::invalid(
                       "which environments?",
                       {{"environment_ids", "give environment_ids or exercise_id (one of them)"}});
               if (ids.size() > kMaxEnvironments)
                   throw core::invalid("too many environments", {{"environment_ids", "at most 2000"}});
               auto envs = co_await d.pool.run([&] {
                   std::vector<store::Environment> out;
                   d.store.transaction([&] {
                       out = chosen(d, ids, exercise);
                       if (out.size() > kMaxEnvironments)
                           throw core::invalid("too many environments", {{"exercise_id", "more than 2000"}});
                       for (auto& e : out) {
                           e.desired_state = store::str(desired);
                           e.updated_at = core::unix_now();
                           d.store.update_environment(e);
                       }
                       audit(d.store, ctx, "environments." + action, "exercise", exercise,
                             json::serialize(json::object{{"environments", out.size()}}));
                   });
                   return out;
               });
               std::vector<store::Environment> batch;
               json::array jobs;
               for (const auto& e : envs) {
                   if (action == "start" && app::provisions_in_batch(e.provider)) {
                       batch.push_back(e);
                       continue;
                   }
                   auto job = app::job::make_job(app::job::ReconcileEnvironment{e.id, action});
                   job.owner_id = e.student_id;
                   job.subject_type = "environment";
                   job.subject_id = e.id;
                   jobs.push_back(job_json(co_await d.jobs.submit(job), true));
               }
               if (!batch.empty())
                   jobs.push_back(
                       job_json(co_await d.jobs.submit(app::start_job(batch, ctx.caller->user_id)), true));
               co_return json_ok(json::object{{"environments", envs.size()}, {"jobs", std::move(jobs)}}, 202);
           }});
}

}  // namespace np::api
