#include "app/jobs.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <vector>

#include "app/events.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::app {
namespace asio = boost::asio;
namespace json = boost::json;

struct JobRunner::Impl {
    explicit Impl(asio::any_io_executor ex) : wake(ex), drained(ex) {}
    asio::steady_timer wake;
    asio::steady_timer drained;
};

JobRunner::JobRunner(asio::any_io_executor executor, store::Store& store, core::WorkerPool& pool,
                     EventBus& bus, JobRunnerOptions options)
    : impl_(std::make_unique<Impl>(executor)),
      executor_(executor),
      store_(store),
      pool_(pool),
      bus_(bus),
      options_(std::move(options)) {
    if (options_.instance_id.empty()) options_.instance_id = "np-" + core::random_hex(4);
}

JobRunner::~JobRunner() = default;

void JobRunner::register_kind(std::string kind, JobFn fn, PinFn pin) {
    if (pin) pins_[kind] = std::move(pin);
    kinds_[std::move(kind)] = std::move(fn);
}

void JobRunner::publish_state(const store::Job& job) {
    json::object data{{"id", job.id},
                      {"kind", job.kind},
                      {"state", job.state},
                      {"done", job.progress_done},
                      {"total", job.progress_total},
                      {"message", job.message}};
    if (!job.error.empty()) data["error"] = job.error;
    Event e;
    e.type = "job.state";
    e.job_id = job.id;
    if (job.subject_type == "environment") e.environment_id = job.subject_id;
    e.owner_id = job.owner_id;
    e.data = json::serialize(data);
    bus_.publish(std::move(e));
}

asio::awaitable<store::Job> JobRunner::submit(store::Job job) {
    if (job.id.empty()) job.id = core::new_id();
    job.state = store::str(store::JobState::queued);
    job.created_at = core::unix_now();
    co_await pool_.run([&] {
        if (auto pin = pins_.find(job.kind); pin != pins_.end() && job.instance_id.empty())
            job.instance_id = pin->second(job);
        store_.create_job(job);
    });
    publish_state(job);
    ++kind_changes_[job.kind];
    idle_kinds_.erase(job.kind);
    impl_->wake.cancel();
    co_return job;
}

asio::awaitable<bool> JobRunner::cancel(const std::string& job_id) {
    bool ok = co_await pool_.run([&] { return store_.cancel_job(job_id, core::unix_now()); });
    if (ok) {
        cancelled_.insert(job_id);
        auto job = co_await pool_.run([&] { return store_.get_job(job_id); });
        if (job) publish_state(*job);
    }
    co_return ok;
}

asio::awaitable<bool> JobRunner::fail_abandoned(const std::string& job_id, const std::string& reason) {
    auto job = co_await pool_.run([&]() -> std::optional<store::Job> {
        try {
            store_.finish_job(job_id, store::str(store::JobState::failed), "{}", reason, core::unix_now());
        } catch (const core::Error& e) {
            if (e.code() == core::Code::conflict) return std::nullopt;  // it finished meanwhile
            throw;
        }
        return store_.get_job(job_id);
    });
    if (!job) co_return false;
    log::warn("jobs.abandoned", {{"job", job_id}, {"kind", job->kind}, {"error", reason}});
    publish_state(*job);
    co_return true;
}

void JobRunner::start() {
    asio::co_spawn(executor_, loop(), asio::detached);
}

JobKindOptions JobRunner::kind_options(const std::string& kind) const {
    auto it = options_.kinds.find(kind);
    return it == options_.kinds.end() ? JobKindOptions{} : it->second;
}

asio::awaitable<void> JobRunner::loop() {
    while (!stopping_) {
        // Kinds found idle are asked again once a poll interval has passed since they all were (by real time:
        // jobs of other instances and expired leases must not wait on this instance's own submissions).
        if (auto now = std::chrono::steady_clock::now(); now - last_full_round_ >= options_.poll_interval) {
            idle_kinds_.clear();
            last_full_round_ = now;
        }
        // Each registered kind claims into its own free slots, in its order (student-facing kinds first);
        // kinds this instance cannot run are left to instances that can.
        std::vector<std::pair<int, std::string>> order;
        if (options_.max_concurrency > 0)
            for (const auto& [kind, fn] : kinds_) order.emplace_back(kind_options(kind).order, kind);
        std::sort(order.begin(), order.end());
        for (bool claimed = true; claimed && !stopping_;) {
            claimed = false;
            for (const auto& [rank, kind] : order) {
                auto opts = kind_options(kind);
                int limit = opts.concurrency < 0 ? options_.max_concurrency : opts.concurrency;
                if (stopping_ || running_by_kind_[kind] >= limit || idle_kinds_.contains(kind)) continue;
                std::uint64_t changes = kind_changes_[kind];
                std::optional<store::Job> job;
                store::ClaimFilter filter{kind, opts.one_per_owner, options_.instance_id};
                try {
                    job = co_await pool_.run([&] {
                        return store_.claim_job(options_.instance_id, options_.clock->unix_now(),
                                                options_.lease_seconds, filter);
                    });
                } catch (const std::exception& e) {
                    log::error("jobs.claim_failed", {{"kind", kind}, {"error", e.what()}});
                    continue;
                }
                if (!job) {
                    if (kind_changes_[kind] == changes) idle_kinds_.insert(kind);  // none submitted meanwhile
                    continue;
                }
                claimed = true;
                running_.insert(job->id);
                ++running_by_kind_[kind];
                asio::co_spawn(executor_, run(std::move(*job)), asio::detached);
            }
        }
        co_await heartbeat();
        impl_->wake.expires_after(options_.poll_interval);
        co_await impl_->wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<void> JobRunner::heartbeat() {
    auto due = options_.clock->now() - std::chrono::seconds(options_.lease_seconds) / 3;
    std::vector<std::string> stale;
    for (const auto& [id, ctx] : contexts_)
        if (ctx->last_persist_ <= due) stale.push_back(id);
    for (const auto& id : stale) {
        auto it = contexts_.find(id);  // the job may have ended while an earlier renewal was awaited
        if (it == contexts_.end()) continue;
        try {
            co_await it->second->persist();
        } catch (const std::exception& e) {
            log::warn("jobs.lease_renewal_failed", {{"job", id}, {"error", e.what()}});
        }
    }
}

asio::awaitable<void> JobRunner::run(store::Job job) {
    log::info("jobs.start", {{"job", job.id}, {"kind", job.kind}, {"attempt", job.attempt}});
    publish_state(job);
    JobContext ctx(*this, job);
    ctx.last_persist_ = options_.clock->now();  // claiming set the lease
    contexts_[job.id] = &ctx;
    using store::JobState;
    JobState state = JobState::succeeded;
    std::string result = "{}", error, detail;
    auto it = kinds_.find(job.kind);
    if (it == kinds_.end()) {
        state = JobState::failed;
        error = "this netpraxis instance cannot run jobs of kind '" + job.kind + "'";
    } else {
        try {
            result = co_await it->second(ctx);
            if (ctx.cancelled() && cancelled_.contains(job.id)) state = JobState::cancelled;
        } catch (const core::Error& e) {
            state = ctx.cancelled() ? JobState::cancelled : JobState::failed;
            error = core::public_message(e);
            detail = core::redact(e.what());
        } catch (const std::exception& e) {
            state = JobState::failed;
            error = core::public_message(e);
            detail = core::redact(std::string("internal error: ") + e.what());
        }
    }
    // A job's owner (often a student) reads `error`: a short reason. The full text (command lines, device
    // output), redacted, is kept in the result for teachers (api::job_json hides it from others) and logged.
    if (!detail.empty() && detail != error) result = json::serialize(json::object{{"error_detail", detail}});
    // Cancelled through the API: cancel_job already wrote the final state. Stopped by this instance's
    // shutdown before it could finish: the row stays running under its lease, and the job is taken over
    // (re-run; steps are idempotent) once that expires. Anything else, including a job that finished
    // within the shutdown grace, is recorded as it ended.
    bool api_cancelled = cancelled_.contains(job.id);
    bool interrupted = !api_cancelled && stopping_ && state == JobState::cancelled;
    auto now = core::unix_now();
    try {
        if (!api_cancelled && !interrupted)
            co_await pool_.run([&] { store_.finish_job(job.id, store::str(state), result, error, now); });
    } catch (const std::exception& e) {
        log::error("jobs.finish_failed", {{"job", job.id}, {"error", e.what()}});
    }
    job = ctx.job_;
    if (interrupted) {
        log::info("jobs.interrupted",
                  {{"job", job.id}, {"kind", job.kind}, {"lease_expires_in_s", options_.lease_seconds}});
    } else {
        job.state = store::str(api_cancelled ? JobState::cancelled : state);
        job.error = error;
        job.result = result;
        job.finished_at = now;
        log::info("jobs.end", {{"job", job.id},
                               {"kind", job.kind},
                               {"state", job.state},
                               {"error", detail.empty() ? error : detail}});
        publish_state(job);
    }
    contexts_.erase(job.id);
    running_.erase(job.id);
    if (auto slot = running_by_kind_.find(job.kind); slot != running_by_kind_.end() && slot->second > 0)
        --slot->second;
    cancelled_.erase(job.id);
    ++kind_changes_[job.kind];
    idle_kinds_.erase(job.kind);  // a slot freed: a job held back (one per owner) may be claimable now
    impl_->drained.cancel();
    impl_->wake.cancel();
}

asio::awaitable<void> JobRunner::stop(std::chrono::milliseconds grace) {
    stopping_ = true;
    impl_->wake.cancel();
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (!running_.empty() && std::chrono::steady_clock::now() < deadline) {
        impl_->drained.expires_after(std::chrono::milliseconds(50));
        co_await impl_->drained.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<void> JobContext::persist() {
    // The heartbeat may call this while the job itself runs on: copy what the worker thread writes, and
    // touch nothing of `this` after the await (the job may have ended and its context be gone by then).
    last_persist_ = runner_.options_.clock->now();
    JobRunner& runner = runner_;
    std::string id = job_.id, message = job_.message;
    std::int64_t done = job_.progress_done, total = job_.progress_total;
    std::int64_t lease = runner.options_.clock->unix_now() + runner.options_.lease_seconds;
    bool still_ours = co_await runner.pool_.run([&] {
        return runner.store_.update_job_progress(id, runner.options_.instance_id, done, total, message,
                                                 lease);
    });
    if (!still_ours && runner.contexts_.contains(id)) runner.cancelled_.insert(id);
}

const std::string& JobContext::instance_id() const {
    return runner_.options_.instance_id;
}

bool JobContext::cancelled() const {
    return runner_.cancelled_.contains(job_.id) || runner_.stopping_;
}

asio::awaitable<void> JobContext::progress(std::int64_t done, std::int64_t total, std::string message) {
    // Each progress step is a checkpoint: a job cancelled through the API (or whose lease another instance
    // took) stops here. A shutdown does not stop it here: it may finish within the grace.
    if (runner_.cancelled_.contains(job_.id))
        throw core::conflict("job " + job_.id + " was cancelled (or taken over by another instance)");
    job_.progress_done = done;
    job_.progress_total = total;
    job_.message = std::move(message);
    bool final_step = total > 0 && done >= total;
    if (final_step || runner_.options_.clock->now() - last_persist_ >= std::chrono::milliseconds(250))
        co_await persist();
    json::object data{{"id", job_.id}, {"done", done}, {"total", total}, {"message", job_.message}};
    Event e;
    e.type = "job.progress";
    e.job_id = job_.id;
    if (job_.subject_type == "environment") e.environment_id = job_.subject_id;
    e.owner_id = job_.owner_id;
    e.data = json::serialize(data);
    runner_.bus_.publish(std::move(e));
}

}  // namespace np::app
