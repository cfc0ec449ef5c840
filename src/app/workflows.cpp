#include "app/workflows.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <memory>
#include <mutex>
#include <tuple>

#include "app/consoles.hpp"
#include "app/device_targets.hpp"
#include "app/events.hpp"
#include "app/exercise_files.hpp"
#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "app/provisioning.hpp"
#include "auth/proxmox_realm.hpp"
#include "core/config.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "eval/engine.hpp"
#include "eval/lint.hpp"
#include "eval/platform.hpp"
#include "eval/report_object.hpp"
#include "eval/spec.hpp"
#include "lab/registry.hpp"
#include "store/states.hpp"
#include "store/store.hpp"

namespace np::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// "device pc1 unreachable: telnet 127.0.0.1:5000: Connection refused; device r1 unreachable: ...": the
// engine's reasons without its own prefixes (which repeat the device).
std::string unreachable_reason(const eval::Evaluation& result) {
    std::string out;
    for (const auto& [device, why] : result.device_errors) {
        std::string_view reason = why;
        for (const std::string& prefix : {std::string("device unreachable: "), device + ": "})
            if (reason.starts_with(prefix)) reason.remove_prefix(prefix.size());
        out += (out.empty() ? "" : "; ") + ("device " + device + " unreachable: ") + std::string(reason);
    }
    return out;
}

// A lab that lives on another instance is never touched here (its jobs are pinned to its instance; this
// is the last guard, before anything is built twice).
void require_owner(const store::Environment& env, const std::string& instance_id) {
    if (!env.instance_id.empty() && env.instance_id != instance_id)
        throw core::conflict("the lab of environment " + env.id + " lives on instance '" + env.instance_id +
                             "', not on this one ('" + instance_id + "')");
}

// The instance a job about environment `env_id` runs on (JobRunner pin). A local environment not yet
// placed (made before migration 0005) is placed now, when instances are registered.
std::string pin_environment(store::Store& store, const std::string& env_id) {
    auto e = store.get_environment(env_id);
    if (!e) return "";  // the job itself fails, naming what is missing
    if (!e->instance_id.empty() || !store::lives_on_one_host(e->provider)) return e->instance_id;
    auto placed = store.place_environment(e->provider, core::unix_now());
    return placed.empty() ? "" : store.adopt_environment(e->id, placed);
}

// The grading spec's devices (name -> platform) a provider matches its nodes against; none when the spec
// does not parse (publishing refused it already).
std::map<std::string, std::string> spec_devices(const std::string& spec_yaml) {
    std::map<std::string, std::string> out;
    if (spec_yaml.empty()) return out;
    try {
        for (const auto& d : eval::parse_spec(spec_yaml).spec.devices) out[d.name] = d.platform;
    } catch (const core::Error&) {
    }
    return out;
}

// A provider's steps on the job (progress and the event stream), its facts kept for the environment record.
class JobProgress final : public lab::ProgressSink {
 public:
    explicit JobProgress(JobContext& ctx) : ctx_(ctx) {}
    asio::awaitable<void> step(std::string text) override {
        co_await ctx_.progress(1, 3, "driving the lab: " + text);
    }
    void fact(std::string key, std::int64_t value) override { facts[std::move(key)] = value; }
    std::map<std::string, std::int64_t> facts;

 private:
    JobContext& ctx_;
};

}  // namespace

struct Workflows::Impl {
    Impl(asio::any_io_executor ex, const core::Config& config, store::Store& s, core::WorkerPool& p,
         EventBus& b, lab::ProviderRegistry& r)
        : executor(ex),
          store(s),
          pool(p),
          bus(b),
          platforms(config.has("eval.platforms_dir")
                        ? eval::PlatformRegistry::with_overrides(config.get_string("eval.platforms_dir"))
                        : eval::PlatformRegistry::builtin()),
          providers(r),
          engine(platforms, engine_options(config, p)),
          realms(config.node("auth.realms")) {}

    static eval::EngineOptions engine_options(const core::Config& config, core::WorkerPool& pool) {
        eval::EngineOptions o;
        o.max_concurrent_evaluations = static_cast<std::size_t>(config.get_int("eval.concurrency", 160));
        o.open_timeout = config.get_duration("eval.open_timeout", std::chrono::seconds(20));
        o.command_timeout = config.get_duration("eval.command_timeout", std::chrono::seconds(30));
        o.pool = &pool;
        return o;
    }

    asio::any_io_executor executor;
    std::string
        instance_id;  // the instance whose jobs these are (register_with): local labs are graded on it
    store::Store& store;
    core::WorkerPool& pool;
    EventBus& bus;
    eval::PlatformRegistry platforms;
    lab::ProviderRegistry& providers;
    eval::Engine engine;
    Consoles* consoles = nullptr;  // pause_consoles_with
    YAML::Node realms;             // auth.realms: how a student is known to their realm (lab::LabOwner)

    lab::Provider& provider(const std::string& name) { return providers.get(name); }

    // The parsed spec of a version's text, parsed once for all the evaluations that grade with it (issue 14:
    // a class graded at once parsed the same YAML and compiled the same regexes 150 times). Keyed by the text
    // itself, so an edited spec is parsed afresh; a few recent texts are kept.
    std::shared_ptr<const eval::ParseResult> parsed_spec(const std::string& yaml) {
        {
            std::lock_guard lock(specs_mutex);
            for (const auto& [text, parsed] : specs)
                if (text == yaml) return parsed;
        }
        auto parsed = std::make_shared<const eval::ParseResult>(eval::parse_spec(yaml));
        std::lock_guard lock(specs_mutex);
        if (specs.size() >= 8) specs.erase(specs.begin());
        specs.emplace_back(yaml, parsed);
        return parsed;
    }
    std::mutex specs_mutex;
    std::vector<std::pair<std::string, std::shared_ptr<const eval::ParseResult>>> specs;  // oldest first

    void publish(std::string type, const store::Environment* env, const std::string& owner,
                 json::object data) {
        Event e;
        e.type = std::move(type);
        if (env) e.environment_id = env->id;
        e.owner_id = owner;
        e.data = json::serialize(data);
        bus.publish(std::move(e));
    }

    // Drives the lab of `env` towards its desired state (reconcile's middle).
    template <class Record>
    asio::awaitable<void> drive(JobContext& ctx, lab::Provider& prov, lab::LabRequest& request,
                                const store::Environment& env, const std::string& action, Record& record) {
        const auto& name = request.env;
        co_await ctx.progress(0, 3, "observing the lab");
        auto seen = co_await prov.observe(name);
        co_await ctx.progress(1, 3, "driving the lab to " + env.desired_state);
        // (An unknown desired state, which the store's CHECK refuses, is driven to absent as before.)
        auto desired =
            store::parse<store::DesiredState>(env.desired_state).value_or(store::DesiredState::absent);
        if (desired == store::DesiredState::running) {
            if (seen.state == lab::EnvState::absent && !request.gns3_project_sha256.empty())
                request.gns3_project_bytes = co_await pool.run(
                    [&] { return store.attachment_bytes(request.gns3_project_sha256).value_or(""); });
            prov.check_request(request);
            if (seen.state == lab::EnvState::absent) {
                co_await record(store::str(store::ObservedState::creating), "");
                co_await prov.ensure_template(request);
                co_await prov.create(request);
                co_await prov.start(name);
            } else if (action == "reset") {
                co_await prov.reset(name);
            } else if (seen.state != lab::EnvState::running) {
                co_await prov.start(name);
            }
        } else if (desired == store::DesiredState::stopped) {
            if (seen.state != lab::EnvState::absent && seen.state != lab::EnvState::stopped)
                co_await prov.stop(name);
        } else {
            co_await record(store::str(store::ObservedState::deleting), "");
            co_await prov.destroy(name);
        }
    }

    // Records an environment's observed state and error, and publishes it.
    asio::awaitable<void> record_state(store::Environment& env, const std::string& observed,
                                       const std::string& error) {
        env.observed_state = observed;
        env.last_error = error;
        env.updated_at = core::unix_now();
        co_await pool.run([&] { store.update_environment(env); });
        publish("environment.state", &env, env.student_id,
                {{"id", env.id}, {"desired", env.desired_state}, {"observed", observed}, {"error", error}});
    }

    // Looks at what exists (observe, and the inventory of a lab that runs) and records it; `ids` (what the
    // provider reported: orphans cleaned...) go to provider_ids beside the lab's name.
    asio::awaitable<void> observe_and_record(store::Environment& env, json::object ids) {
        auto& prov = provider(env.provider);
        auto name = lab_name(env.id);
        auto seen = co_await prov.observe(name);
        json::array devices;
        if (seen.state == lab::EnvState::running || seen.state == lab::EnvState::degraded) {
            for (const auto& d : co_await prov.inventory(name))
                devices.push_back(json::object{{"node", d.node},
                                               {"kind", d.kind},
                                               {"platform", d.platform},
                                               {"transport", d.transport},
                                               {"host", d.host},
                                               {"port", d.port}});
        }
        env.addresses = json::serialize(json::object{{"devices", devices}});
        ids["lab"] = name;
        env.provider_ids = json::serialize(ids);
        std::string problems;
        for (const auto& p : seen.problems) problems += (problems.empty() ? "" : "; ") + p;
        co_await record_state(env, std::string(lab::env_state_name(seen.state)), problems);
    }

    // What a provider builds for `env` of `version` (blocking: reads the student and the uploaded project's
    // digest; the project's bytes are read only when a lab is built).
    lab::LabRequest lab_request(const store::Environment& env, const store::ExerciseVersion& version) {
        lab::LabRequest request;
        request.env = lab_name(env.id);
        request.topology = version.topology;
        request.gns3_project = version.gns3_project;
        request.devices = spec_devices(version.spec);
        if (auto student = store.get_user(env.student_id)) {
            auto who = auth::realm_user(realms, student->realm, student->username);
            request.owner = lab::LabOwner{who.kind, who.id};
        }
        request.gns3_project_sha256 = project_attachment(store, version).sha256;
        return request;
    }

    asio::awaitable<std::string> reconcile(JobContext& ctx, job::ReconcileEnvironment params) {
        const auto& env_id = params.environment_id;
        const auto& action = params.action;
        auto [env, request] = co_await pool.run([&] {
            auto e = store.get_environment(env_id);
            if (!e) throw core::not_found("environment " + env_id + " no longer exists");
            auto a = store.get_assignment(e->assignment_id);
            if (!a) throw core::not_found("assignment " + e->assignment_id + " no longer exists");
            auto v = store.get_version_by_id(a->exercise_version_id);
            if (!v) throw core::not_found("exercise version " + a->exercise_version_id + " no longer exists");
            return std::make_pair(*e, lab_request(*e, *v));  // what to build; the provider takes what it uses
        });
        require_owner(env, ctx.instance_id());
        const auto& name = request.env;
        auto record = [&](const std::string& observed, const std::string& error) -> asio::awaitable<void> {
            co_await record_state(env, observed, error);
        };

        std::exception_ptr failure;
        std::string failure_text;
        try {
            auto& prov = provider(env.provider);
            JobProgress sink(ctx);
            auto attached = prov.attach_progress(name, sink);
            co_await drive(ctx, prov, request, env, action, record);
            co_await ctx.progress(2, 3, "checking the outcome");
            json::object ids, result;
            for (const auto& [key, value] : sink.facts) ids[key] = result[key] = value;
            co_await observe_and_record(env, ids);  // trust what exists, not what the calls answered
            co_await ctx.progress(3, 3, "lab is " + env.observed_state);
            result["observed"] = env.observed_state;
            co_return json::serialize(result);
        } catch (const core::Error& e) {
            failure = std::current_exception();
            failure_text = core::public_message(e);  // the student reads it; the job keeps the detail
        }
        // (co_await is not allowed inside a handler: record the failure here, then rethrow.)
        co_await record(store::str(store::ObservedState::error), failure_text);
        std::rethrow_exception(failure);
    }

    // A finished grading in the audit log (blocking: on the pool): whose (the student, by id and name), the
    // score, the environment graded; outcome ok with a score, failed when the grading ended in error.
    void audit_finished(const store::Evaluation& ev, const std::string& environment_id) {
        store::AuditEntry a;
        a.at = ev.finished_at;
        a.actor_id = ev.student_id;
        if (auto u = store.get_user(ev.student_id)) a.actor_name = u->username;
        a.action = "evaluation.finish";
        a.object_type = "evaluation";
        a.object_id = ev.id;
        bool done = store::is(ev.status, store::EvaluationStatus::done);
        json::object detail{{"assignment_id", ev.assignment_id},
                            {"environment_id", environment_id},
                            {"attempt", ev.attempt},
                            {"status", ev.status}};
        if (done) {
            detail["score"] = ev.score;
            detail["max_score"] = ev.max_score;
        } else {
            detail["error"] = ev.error;
        }
        if (!ev.run_id.empty()) detail["run_id"] = ev.run_id;  // a class grading's
        if (ev.late) detail["late"] = true;
        a.detail = json::serialize(detail);
        a.outcome = done ? "ok" : "failed";
        try {
            store.append_audit(a);
        } catch (const std::exception& e) {  // the grade is stored: a lost log line does not undo it
            log::error("audit.failed", {{"evaluation", ev.id}, {"error", e.what()}});
        }
    }

    // Grades one evaluation and stores its outcome (done with a score, or error with the public reason);
    // `failure` gets the code and detail of an error for the job. `progress` may be null (class grading
    // reports per student instead).
    struct Failure {
        core::Code code = core::Code::conflict;
        std::string detail;
    };
    asio::awaitable<store::Evaluation> grade(const std::string& eval_id, JobContext* ctx, Failure& failure) {
        struct Loaded {
            store::Evaluation ev;
            store::ExerciseVersion version;
            std::optional<store::Environment> env;
        };
        auto l = co_await pool.run([&] {
            auto ev = store.get_evaluation(eval_id);
            if (!ev) throw core::not_found("evaluation " + eval_id + " no longer exists");
            auto a = store.get_assignment(ev->assignment_id);
            if (!a) throw core::not_found("assignment " + ev->assignment_id + " no longer exists");
            // Graded with the version it was asked for (a class re-graded after a spec fix), else the
            // assignment's.
            auto v = store.get_version_by_id(ev->exercise_version_id.empty() ? a->exercise_version_id
                                                                             : ev->exercise_version_id);
            if (!v) throw core::not_found("exercise version no longer exists");
            ev->status = store::str(store::EvaluationStatus::running);
            store.update_evaluation(*ev);
            return Loaded{*ev, *v, store.environment_for_assignment(a->id)};
        });
        auto& ev = l.ev;
        publish("evaluation.state", nullptr, ev.student_id, {{"id", ev.id}, {"status", ev.status}});
        try {
            if (!l.env || !store::is(l.env->observed_state, store::ObservedState::running))
                throw core::conflict("the lab of this assignment is not running: start it, then evaluate");
            require_owner(*l.env, instance_id);  // the inventory is this host's
            auto parsed_ptr = parsed_spec(l.version.spec);
            const auto& parsed = *parsed_ptr;
            if (!parsed.ok())
                throw core::invalid("the exercise's grading spec has errors: run `netpraxis exercise lint`");
            if (ctx) co_await ctx->progress(0, 2, "reaching the devices");
            auto inventory = co_await provider(l.env->provider).inventory(lab_name(l.env->id));
            auto targets = device_targets(parsed.spec, inventory);
            // Open consoles of telnet devices let go of them while the grader works (one client each), on
            // any provider: a local VPCS, a GNS3 node's console in a Proxmox lab (e2e_api_proxmox_tests).
            std::vector<std::string> telnet_nodes;
            for (const auto& [name, t] : targets)
                if (t.transport == "telnet") telnet_nodes.push_back(name);
            auto consoles_paused =
                consoles ? consoles->pause_for_grading(l.env->id, telnet_nodes) : std::shared_ptr<void>();
            if (ctx) co_await ctx->progress(1, 2, "grading");
            auto result = co_await engine.evaluate(parsed.spec, ev.student_id, targets);
            consoles_paused.reset();
            auto report = eval::report_object(result, false, true);
            ev.results = json::serialize(report["checks"]);
            ev.transcript = json::serialize(report["transcript"]);  // kept for teachers, also on error
            // A grade needs the whole lab: when any device could not be reached (or has no inventory entry
            // or platform), its checks would score 0 for a fault that is not the student's. The evaluation
            // is then an infrastructure error naming the devices and why, never a score, and it does not
            // count as an attempt (Store::count_evaluations counts only evaluations not in error).
            if (!result.device_errors.empty()) throw core::unavailable(unreachable_reason(result));
            ev.score = result.score;
            ev.max_score = result.max_score;
            ev.status = store::str(store::EvaluationStatus::done);
        } catch (const core::Error& e) {
            ev.status = store::str(store::EvaluationStatus::error);
            ev.error = core::public_message(e);  // the student reads it; the job keeps the detail
            failure.code = e.code() == core::Code::internal ? core::Code::internal : core::Code::conflict;
            failure.detail = e.what();
        }
        ev.finished_at = core::unix_now();
        auto env_id = l.env ? l.env->id : std::string();
        co_await pool.run([&] {
            store.update_evaluation(ev);
            audit_finished(ev, env_id);
        });
        publish("evaluation.state", nullptr, ev.student_id,
                {{"id", ev.id}, {"status", ev.status}, {"score", ev.score}, {"max_score", ev.max_score}});
        co_return ev;
    }

    asio::awaitable<std::string> evaluate(JobContext& ctx, job::RunEvaluation params) {
        Failure failure;
        auto ev = co_await grade(params.evaluation_id, &ctx, failure);
        // A named local, not a conditional expression inside co_await: GCC 12 destroys such temporaries
        // twice.
        std::string outcome =
            store::is(ev.status, store::EvaluationStatus::done) ? std::string("graded") : ev.error;
        co_await ctx.progress(2, 2, std::move(outcome));
        if (store::is(ev.status, store::EvaluationStatus::error))
            throw core::Error(failure.code, failure.detail);
        co_return json::serialize(json::object{{"score", ev.score}, {"max_score", ev.max_score}});
    }
};

Workflows::Workflows(asio::any_io_executor executor, const core::Config& config, store::Store& store,
                     core::WorkerPool& pool, EventBus& bus, lab::ProviderRegistry& providers)
    : impl_(std::make_unique<Impl>(executor, config, store, pool, bus, providers)) {}

Workflows::~Workflows() = default;

asio::awaitable<store::Evaluation> Workflows::grade(std::string evaluation_id) {
    Impl::Failure failure;
    co_return co_await impl_->grade(evaluation_id, nullptr, failure);
}

asio::awaitable<void> Workflows::record_state(store::Environment& env, std::string observed,
                                              std::string error) {
    co_await impl_->record_state(env, observed, error);
}

asio::awaitable<void> Workflows::observe_and_record(store::Environment& env) {
    json::object no_ids;  // (a named local: GCC 12 mishandles temporaries in co_await arguments)
    co_await impl_->observe_and_record(env, no_ids);
}

lab::ProviderRegistry& Workflows::providers() {
    return impl_->providers;
}

lab::LabRequest Workflows::lab_request(const store::Environment& env, const store::ExerciseVersion& version) {
    return impl_->lab_request(env, version);
}

void Workflows::pause_consoles_with(Consoles& consoles) {
    impl_->consoles = &consoles;
}

void Workflows::register_with(JobRunner& jobs) {
    auto* impl = impl_.get();
    impl->instance_id = jobs.instance_id();
    // Both kinds run on the instance the lab lives on (a local lab's host; any instance for the others).
    job::register_job<job::ReconcileEnvironment>(
        jobs,
        [impl](JobContext& ctx, job::ReconcileEnvironment p) { return impl->reconcile(ctx, std::move(p)); },
        [impl](const job::ReconcileEnvironment& p) {
            return pin_environment(impl->store, p.environment_id);
        });
    job::register_job<job::RunEvaluation>(
        jobs, [impl](JobContext& ctx, job::RunEvaluation p) { return impl->evaluate(ctx, std::move(p)); },
        [impl](const job::RunEvaluation& p) {
            auto ev = impl->store.get_evaluation(p.evaluation_id);
            auto env = ev ? impl->store.environment_for_assignment(ev->assignment_id) : std::nullopt;
            return env ? pin_environment(impl->store, env->id) : std::string();
        });
    register_provisioning(jobs, *this, impl->store, impl->pool, impl->bus);  // provisioning.cpp
}

asio::awaitable<void> Workflows::reconcile_at_start() {
    for (const auto& name : impl_->providers.names()) {
        try {
            auto cleaned = co_await impl_->providers.get(name).recover();
            for (const auto& env : cleaned) log::info("lab.reconciled", {{"lab", env}, {"provider", name}});
        } catch (const std::exception& e) {
            log::warn("lab.reconcile_failed", {{"error", e.what()}, {"provider", name}});
        }
    }
}

asio::awaitable<int> Workflows::reconcile_owned(const std::string& instance_id) {
    auto& d = *impl_;
    auto [mine, unplaced] = co_await d.pool.run([&] {
        return std::make_pair(d.store.environments_of_instance(instance_id),
                              d.store.environments_of_instance(""));
    });
    int changed = 0;
    for (auto& env : mine) {
        if (!store::is(env.observed_state, store::ObservedState::unavailable) ||
            !d.providers.contains(env.provider))
            continue;
        std::string state = store::str(store::ObservedState::error), problems;
        try {
            auto seen = co_await d.provider(env.provider).observe(lab_name(env.id));
            state = std::string(lab::env_state_name(seen.state));
            for (const auto& p : seen.problems) problems += (problems.empty() ? "" : "; ") + p;
        } catch (const core::Error& e) {
            problems = core::public_message(e);
        }
        bool set = co_await d.pool.run([&] {
            return d.store.set_observed_state(env.id, store::str(store::ObservedState::unavailable), state,
                                              problems, core::unix_now());
        });
        if (!set) continue;
        ++changed;
        log::info("lab.back", {{"environment", env.id}, {"observed", state}, {"instance", instance_id}});
        d.publish("environment.state", &env, env.student_id,
                  {{"id", env.id}, {"desired", env.desired_state}, {"observed", state}, {"error", problems}});
    }
    for (auto& env : unplaced) {
        if (!store::lives_on_one_host(env.provider) || !d.providers.contains(env.provider)) continue;
        lab::Observed seen;
        try {
            seen = co_await d.provider(env.provider).observe(lab_name(env.id));
        } catch (const std::exception& e) {
            log::warn("lab.adopt_failed", {{"environment", env.id}, {"error", e.what()}});
            continue;
        }
        if (seen.state == lab::EnvState::absent) continue;  // not here: placed when next used
        auto owner = co_await d.pool.run([&] { return d.store.adopt_environment(env.id, instance_id); });
        if (owner == instance_id) ++changed;
        log::info("lab.adopted", {{"environment", env.id}, {"instance", owner}});
    }
    co_return changed;
}

asio::awaitable<void> Workflows::job_abandoned(const store::Job& job, const std::string& reason) {
    if (job.kind != job::RunEvaluation::kind) co_return;  // an environment's jobs: the environment shows why
    auto& d = *impl_;
    auto params = job::params_of<job::RunEvaluation>(job);
    auto ev = co_await d.pool.run([&]() -> std::optional<store::Evaluation> {
        auto e = d.store.get_evaluation(params.evaluation_id);
        if (!e || (!store::is(e->status, store::EvaluationStatus::queued) &&
                   !store::is(e->status, store::EvaluationStatus::running)))
            return std::nullopt;
        e->status = store::str(store::EvaluationStatus::error);
        e->error = reason;
        e->finished_at = core::unix_now();
        d.store.update_evaluation(*e);
        auto env = d.store.environment_for_assignment(e->assignment_id);
        d.audit_finished(*e, env ? env->id : std::string());
        return e;
    });
    if (ev)
        d.publish("evaluation.state", nullptr, ev->student_id,
                  {{"id", ev->id}, {"status", ev->status}, {"score", 0}, {"max_score", 0}});
}

std::vector<core::FieldError> Workflows::lint(const std::string& spec,
                                              const std::string& instructions) const {
    auto report =
        eval::lint_spec(spec, impl_->platforms,
                        instructions.empty() ? std::nullopt : std::optional<std::string>(instructions));
    std::vector<core::FieldError> out;
    for (const auto& d : report.diagnostics)
        if (d.severity == eval::Diagnostic::Severity::error)
            out.push_back({d.path.empty() ? std::string("spec") : "spec." + d.path,
                           (d.line ? "line " + std::to_string(d.line) + ": " : "") + d.message});
    return out;
}

void Workflows::check_lab(const store::ExerciseVersion& version) const {
    if (version.gns3_project.empty() || !impl_->providers.contains("proxmox")) return;
    lab::LabRequest request;
    request.env = "publish-check";
    request.topology = version.topology;
    request.gns3_project = version.gns3_project;
    request.devices = spec_devices(version.spec);
    // An uploaded project is checked from the store (blocking: check_lab runs on the worker pool).
    if (auto uploaded = project_attachment(impl_->store, version); !uploaded.sha256.empty()) {
        request.gns3_project_sha256 = uploaded.sha256;
        request.gns3_project_bytes = impl_->store.attachment_bytes(uploaded.sha256).value_or("");
    }
    impl_->providers.get("proxmox").check_request(request);
}

}  // namespace np::app
