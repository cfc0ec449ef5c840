#include "app/provisioning.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "app/events.hpp"
#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "app/workflows.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "lab/batch.hpp"
#include "lab/registry.hpp"
#include "store/states.hpp"
#include "store/store.hpp"

namespace np::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct Deps {
    Workflows& workflows;
    store::Store& store;
    core::WorkerPool& pool;
    EventBus& bus;
};

// One environment of a batch job: its record and what its provider builds.
struct Item {
    store::Environment env;
    lab::LabRequest request;
    lab::BatchItem outcome;
};

// Environments of `ids` that still exist, with their lab requests; `keep` picks the ones the job acts on.
template <class Keep>
asio::awaitable<std::vector<Item>> load(Deps& d, const std::vector<std::string>& ids, Keep keep) {
    co_return co_await d.pool.run([&] {
        std::vector<Item> out;
        for (const auto& id : ids) {
            auto e = d.store.get_environment(id);
            if (!e || !keep(*e)) continue;  // withdrawn or already done (a resumed job converges)
            auto a = d.store.get_assignment(e->assignment_id);
            auto v = a ? d.store.get_version_by_id(a->exercise_version_id) : std::nullopt;
            if (!v) continue;
            out.push_back({*e, d.workflows.lab_request(*e, *v), {}});
        }
        // An uploaded project's bytes, read once per project and carried by the first request that names it:
        // a batch builds each template from the first of its requests (labpve/batch.cpp).
        std::set<std::string> read;
        for (auto& it : out) {
            const auto& sha = it.request.gns3_project_sha256;
            if (!sha.empty() && read.insert(sha).second)
                it.request.gns3_project_bytes = d.store.attachment_bytes(sha).value_or("");
        }
        return out;
    });
}

// Per-VM progress on the event stream: the student sees their own VM, teachers the whole class.
lab::BatchProgress event_progress(Deps& d, std::vector<Item>& items, const std::string& type) {
    auto by_name = std::make_shared<std::map<std::string, const store::Environment*>>();
    for (const auto& it : items) (*by_name)[it.request.env] = &it.env;
    return [&d, by_name, type](const std::string& env, const std::string& what, std::size_t done,
                               std::size_t total) {
        auto found = by_name->find(env);
        if (found == by_name->end()) return;
        Event e;
        e.type = type;
        e.environment_id = found->second->id;
        e.owner_id = found->second->student_id;
        e.data = json::serialize(json::object{
            {"id", found->second->id}, {"vm", env}, {"what", what}, {"done", done}, {"total", total}});
        d.bus.publish(std::move(e));
    };
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Runs fn(item) for every item, at most `width` at once.
template <class Fn>
asio::awaitable<void> for_each(std::vector<Item*> todo, int width, Fn fn) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    std::size_t next = 0;
    int live = std::min<int>(width, static_cast<int>(todo.size()));
    if (live == 0) co_return;
    auto worker = [&]() -> asio::awaitable<void> {
        while (next < todo.size()) co_await fn(*todo[next++]);
    };
    for (int i = 0, n = live; i < n; ++i)
        asio::co_spawn(ex, worker(), [&](const std::exception_ptr&) {
            if (--live == 0) all_done.cancel();
        });
    co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Runs `batch` (a BatchProvider call, given the group's lab requests) or, for a provider that is none, `one`
// per item in turn; fills each item's outcome.
template <class Batch, class One>
asio::awaitable<void> run_by_provider(Deps& d, std::vector<Item>& items, Batch batch, One one) {
    std::map<std::string, std::vector<Item*>> by_provider;
    for (auto& it : items) by_provider[it.env.provider].push_back(&it);
    for (auto& [name, group] : by_provider) {
        auto& prov = d.workflows.providers().get(name);
        if (auto* bp = dynamic_cast<lab::BatchProvider*>(&prov)) {
            std::vector<lab::LabRequest> requests;
            for (const auto* it : group) requests.push_back(it->request);
            auto outcomes = co_await batch(*bp, requests);
            for (std::size_t i = 0; i < group.size() && i < outcomes.size(); ++i)
                group[i]->outcome = outcomes[i];
            continue;
        }
        for (auto* it : group) {
            it->outcome.env = it->request.env;
            try {
                co_await one(prov, *it);
                it->outcome.ok = true;
            } catch (const core::Error& e) {
                it->outcome.error = core::public_message(e);
            }
        }
    }
}

// The job's result, or core::upstream naming every environment that failed (their records say why too).
std::string summary(const std::vector<Item>& items, const char* done_word) {
    std::size_t ok = 0;
    std::string failed;
    int listed = 0;
    for (const auto& it : items) {
        if (it.outcome.ok) {
            ++ok;
        } else if (++listed <= 10) {
            failed += (failed.empty() ? "" : "; ") + it.env.id + ": " + it.outcome.error;
        }
    }
    if (ok < items.size())
        throw core::upstream(std::to_string(items.size() - ok) + " of " + std::to_string(items.size()) +
                             " environments failed: " + failed + (listed > 10 ? "; ..." : ""));
    return json::serialize(json::object{{done_word, ok}, {"failed", 0}});
}

// The stored desired state, which a student's "start" may have changed since this job loaded the row (each
// write here is of the whole row: without this, a class's provisioning turned a start pressed meanwhile back
// into "stopped", and the student's lab ended stopped).
asio::awaitable<void> refresh_desired(Deps& d, store::Environment& env) {
    auto fresh = co_await d.pool.run([&] { return d.store.get_environment(env.id); });
    if (fresh) env.desired_state = fresh->desired_state;
}

asio::awaitable<std::string> provision(Deps& d, JobContext& ctx, job::ProvisionEnvironments p) {
    using OS = store::ObservedState;
    auto items = co_await load(d, p.environment_ids, [](const store::Environment& e) {
        return store::is(e.observed_state, OS::absent) || store::is(e.observed_state, OS::creating) ||
               store::is(e.observed_state, OS::error);
    });
    co_await ctx.progress(0, static_cast<std::int64_t>(items.size()), "creating the environments' VMs");
    for (auto& it : items) {
        co_await refresh_desired(d, it.env);
        if (!store::is(it.env.desired_state,
                       store::DesiredState::running))  // a start pressed meanwhile stays
            it.env.desired_state = store::str(store::DesiredState::stopped);  // made, not started
        co_await d.workflows.record_state(it.env, store::str(OS::creating), "");
    }
    auto progress = event_progress(d, items, "environment.provision");
    co_await run_by_provider(
        d, items,
        [&](lab::BatchProvider& bp,
            const std::vector<lab::LabRequest>& requests) -> asio::awaitable<std::vector<lab::BatchItem>> {
            co_return co_await bp.create_batch(requests, progress);
        },
        [](lab::Provider& prov, Item& it) -> asio::awaitable<void> {
            prov.check_request(it.request);
            co_await prov.ensure_template(it.request);
            co_await prov.create(it.request);
        });
    for (auto& it : items) {
        co_await refresh_desired(d, it.env);
        if (it.outcome.ok) {
            it.env.provider_ids = json::serialize(json::object{{"lab", it.request.env}});
            if (store::is(it.env.desired_state, store::DesiredState::running))
                co_await d.workflows.observe_and_record(it.env);  // started meanwhile by its reconcile job
            else
                co_await d.workflows.record_state(it.env, store::str(OS::stopped), "");
        } else {
            co_await d.workflows.record_state(it.env, store::str(OS::error), it.outcome.error);
        }
    }
    auto n = static_cast<std::int64_t>(items.size());
    co_await ctx.progress(n, n, "environments created");
    co_return summary(items, "provisioned");
}

asio::awaitable<std::string> start(Deps& d, JobContext& ctx, job::StartEnvironments p) {
    auto items = co_await load(d, p.environment_ids, [](const store::Environment& e) {
        return store::is(e.desired_state, store::DesiredState::running);
    });
    co_await ctx.progress(0, static_cast<std::int64_t>(items.size()), "starting the environments in waves");
    for (auto& it : items)  // made by this job (never provisioned, or failed to be): shown as being created
        if (store::is(it.env.observed_state, store::ObservedState::absent) ||
            store::is(it.env.observed_state, store::ObservedState::error))
            co_await d.workflows.record_state(it.env, store::str(store::ObservedState::creating), "");
    auto progress = event_progress(d, items, "environment.start");
    co_await run_by_provider(
        d, items,
        [&](lab::BatchProvider& bp,
            const std::vector<lab::LabRequest>& requests) -> asio::awaitable<std::vector<lab::BatchItem>> {
            co_return co_await bp.start_batch(requests, progress);
        },
        [](lab::Provider& prov, Item& it) -> asio::awaitable<void> {
            prov.check_request(it.request);
            if ((co_await prov.observe(it.request.env)).state == lab::EnvState::absent) {
                co_await prov.ensure_template(it.request);
                co_await prov.create(it.request);
            }
            co_await prov.start(it.request.env);
        });
    std::vector<Item*> all;
    for (auto& it : items) all.push_back(&it);
    co_await for_each(all, 16, [&](Item& it) -> asio::awaitable<void> {
        try {
            // A lab that just started may look degraded for one read (a lost reply): look again, bounded.
            for (int look = 0; it.outcome.ok && look < 5; ++look) {
                if (look > 0) co_await pause(std::chrono::milliseconds(200 * look));
                co_await d.workflows.observe_and_record(it.env);
                if (!store::is(it.env.observed_state, store::ObservedState::degraded)) break;
            }
        } catch (const core::Error& e) {
            it.outcome.ok = false;
            it.outcome.error = core::public_message(e);
        }
        if (!it.outcome.ok)
            co_await d.workflows.record_state(it.env, store::str(store::ObservedState::error),
                                              it.outcome.error);
    });
    auto n = static_cast<std::int64_t>(items.size());
    co_await ctx.progress(n, n, "environments started");
    co_return summary(items, "started");
}

template <class P>
store::Job batch_job(const std::vector<store::Environment>& envs, const std::string& owner) {
    P params;
    for (const auto& e : envs) params.environment_ids.push_back(e.id);
    auto job = job::make_job(params);
    job.owner_id = owner;
    job.subject_type = "environments";
    job.subject_id = envs.empty() ? std::string() : envs.front().assignment_id;
    return job;
}

}  // namespace

bool provisions_in_batch(const std::string& provider) {
    return !store::lives_on_one_host(provider);
}

store::Job provision_job(const std::vector<store::Environment>& envs, const std::string& owner) {
    return batch_job<job::ProvisionEnvironments>(envs, owner);
}

store::Job start_job(const std::vector<store::Environment>& envs, const std::string& owner) {
    return batch_job<job::StartEnvironments>(envs, owner);
}

void register_provisioning(JobRunner& jobs, Workflows& workflows, store::Store& store, core::WorkerPool& pool,
                           EventBus& bus) {
    auto d = std::make_shared<Deps>(Deps{workflows, store, pool, bus});
    job::register_job<job::ProvisionEnvironments>(jobs, [d](JobContext& ctx, job::ProvisionEnvironments p) {
        return provision(*d, ctx, std::move(p));
    });
    job::register_job<job::StartEnvironments>(
        jobs, [d](JobContext& ctx, job::StartEnvironments p) { return start(*d, ctx, std::move(p)); });
}

}  // namespace np::app
