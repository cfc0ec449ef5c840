// app::JobRunner: runs long work as persisted jobs (DESIGN.md "Jobs"). Job rows are claimed from the store
// with a lease (a crashed instance's job is taken over when its lease expires), progress is persisted and
// published on the EventBus, and each kind is a registered coroutine whose steps are idempotent.
// Runs on the event loop; store calls go through the worker pool.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/ids.hpp"
#include "store/store.hpp"

namespace np::core {
class WorkerPool;
}

namespace np::app {

class EventBus;
class JobRunner;

class JobContext {
 public:
    JobContext(JobRunner& runner, store::Job job) : runner_(runner), job_(std::move(job)) {}
    const store::Job& job() const { return job_; }
    // The instance running it (JobRunnerOptions::instance_id).
    const std::string& instance_id() const;
    // Records progress (persisted at most every 250 ms, always published as an event). Also a checkpoint:
    // throws core::Error(conflict) once the job was cancelled through the API or its lease was lost.
    boost::asio::awaitable<void> progress(std::int64_t done, std::int64_t total, std::string message);
    // True once the job was cancelled through the API, its lease was lost or the instance is shutting down:
    // stop at the next step by throwing (a job that returns normally is recorded as finished).
    bool cancelled() const;

 private:
    friend class JobRunner;
    JobRunner& runner_;
    store::Job job_;
    std::chrono::steady_clock::time_point last_persist_{};  // last progress write, which renewed the lease
    // Writes progress and renews the lease; marks the job cancelled when the lease is no longer ours.
    boost::asio::awaitable<void> persist();
};

// A job kind: does the work and returns its result as a JSON object text; throws core::Error to fail.
using JobFn = std::function<boost::asio::awaitable<std::string>(JobContext&)>;
// The instance a job of a kind must run on (a local lab's host), or empty for any; called by submit on the
// worker pool (it may read the store; throws core::Error to refuse the job).
using PinFn = std::function<std::string(const store::Job&)>;

// How one job kind is queued (jobs.kinds.<kind> in the configuration). Each kind has its own slots, so a
// student's evaluation never waits behind batch work of another kind.
struct JobKindOptions {
    int concurrency = -1;        // jobs of this kind running at once on this instance; -1: max_concurrency
    bool one_per_owner = false;  // one running job of this kind per owner (fairness between students)
    int order = 100;             // claimed before kinds of a higher order when slots free up
};

struct JobRunnerOptions {
    // Lease owner name, and the instance jobs are pinned to (server.instance_id); random when empty.
    std::string instance_id;
    int max_concurrency = 4;  // slots of a kind without its own; 0: this instance runs no job at all
    std::map<std::string, JobKindOptions> kinds;
    // A running job's lease is renewed every lease_seconds / 3 (on progress, and by the runner's heartbeat
    // for jobs that report none), so only a job whose instance died is taken over.
    int lease_seconds = 60;
    std::chrono::milliseconds poll_interval{1000};
    const core::Clock* clock = &core::Clock::system();  // injected in tests
};

class JobRunner {
 public:
    JobRunner(boost::asio::any_io_executor executor, store::Store& store, core::WorkerPool& pool,
              EventBus& bus, JobRunnerOptions options);
    ~JobRunner();

    // `pin`: which instance runs a job of this kind (Job::instance_id); only that one claims it.
    void register_kind(std::string kind, JobFn fn, PinFn pin = {});
    const std::string& instance_id() const { return options_.instance_id; }
    bool has_kind(const std::string& kind) const { return kinds_.contains(kind); }
    // Stores a queued job (id, state and created_at are filled) and wakes the runner.
    boost::asio::awaitable<store::Job> submit(store::Job job);
    // Cancels a queued or running job; false when it had already finished.
    boost::asio::awaitable<bool> cancel(const std::string& job_id);
    // Fails a queued or running job another instance holds (its instance is gone) with `reason`, and
    // publishes it; false when it had already finished.
    boost::asio::awaitable<bool> fail_abandoned(const std::string& job_id, const std::string& reason);

    void start();
    // Stops claiming and waits (at most `grace`) for running jobs; unfinished ones keep their lease and are
    // taken over after it expires.
    boost::asio::awaitable<void> stop(std::chrono::milliseconds grace);
    std::size_t running() const { return running_.size(); }

 private:
    friend class JobContext;
    boost::asio::awaitable<void> loop();
    JobKindOptions kind_options(const std::string& kind) const;
    boost::asio::awaitable<void> run(store::Job job);
    // Renews the leases of running jobs that have not written progress for lease_seconds / 3.
    boost::asio::awaitable<void> heartbeat();
    void publish_state(const store::Job& job);

    struct Impl;
    std::unique_ptr<Impl> impl_;
    boost::asio::any_io_executor executor_;
    store::Store& store_;
    core::WorkerPool& pool_;
    EventBus& bus_;
    JobRunnerOptions options_;
    std::map<std::string, JobFn> kinds_;
    std::map<std::string, PinFn> pins_;
    std::set<std::string> running_;
    std::map<std::string, int> running_by_kind_;
    std::map<std::string, JobContext*> contexts_;  // running jobs on this instance
    std::set<std::string> cancelled_;
    // Kinds whose last claim found nothing: not asked again (a write transaction each, scanning the queue)
    // until a job of theirs is submitted or ends here, or a poll interval has passed since every kind was
    // asked (other instances' jobs, expired leases). Issue 14: a class's 150 submissions woke the loop 150
    // times, each asking every kind (a write transaction each); idle, it asked each kind every poll.
    std::set<std::string> idle_kinds_;
    std::chrono::steady_clock::time_point last_full_round_{};
    std::map<std::string, std::uint64_t> kind_changes_;  // submissions and ends per kind (see idle_kinds_)
    bool stopping_ = false;
};

}  // namespace np::app
