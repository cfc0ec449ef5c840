// app::Workflows: the job kinds of netpraxis, the use-cases that drive labs and grading.
//  - environment.reconcile: drives an environment's lab toward its desired state through its provider,
//    then records what really exists (observe) and how to reach each device (inventory). A failure ends
//    the environment in "error" with a public reason; the job keeps the detail.
//  - evaluation.run: grades a student's running lab with the exercise version's spec and stores the
//    result tree, the score and the transcript.
// Also lints specs for the API (publishing refuses a spec with errors). Runs on the event loop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace np::core {
class Config;
class WorkerPool;
}  // namespace np::core
namespace np::store {
class Store;
struct Job;
struct Evaluation;
struct ExerciseVersion;
struct Environment;
}  // namespace np::store
namespace np::lab {
class ProviderRegistry;
struct LabRequest;
}  // namespace np::lab

namespace np::app {

class Consoles;
class EventBus;
class JobRunner;

class Workflows {
 public:
    // `providers` (built by the composition root) outlives the workflows; an environment's lab is driven
    // by the provider its record names.
    Workflows(boost::asio::any_io_executor executor, const core::Config& config, store::Store& store,
              core::WorkerPool& pool, EventBus& bus, lab::ProviderRegistry& providers);
    ~Workflows();

    void register_with(JobRunner& jobs);
    // Grading takes the device connections of the browser consoles open on the lab's telnet devices (VPCS
    // serves one client) and gives them back after (Consoles::pause_for_grading). `consoles` outlives this.
    void pause_consoles_with(Consoles& consoles);
    // Cleans what a crash left behind, provider by provider (called once at start).
    boost::asio::awaitable<void> reconcile_at_start();
    // What instance `instance_id` owns, looked at again (at start, and when it finds its environments
    // marked unavailable while it was away): each one shown 'unavailable' gets the state its lab really
    // has; a local lab made before instances were recorded (no instance) that exists on this host is
    // adopted. Returns how many environments changed.
    boost::asio::awaitable<int> reconcile_owned(const std::string& instance_id);
    // A job failed by another instance because this job's instance is gone: an evaluation it would have
    // run ends in 'error' with `reason` (and uses no attempt).
    boost::asio::awaitable<void> job_abandoned(const store::Job& job, const std::string& reason);
    // Grades one stored evaluation now (as evaluation.run does, without a job of its own) and returns it
    // done or in error (class grading runs many of these under one job).
    boost::asio::awaitable<store::Evaluation> grade(std::string evaluation_id);
    // Errors of a spec (with path and line), empty when it may be published.
    std::vector<core::FieldError> lint(const std::string& spec, const std::string& instructions) const;
    // Refuses (core::invalid naming the fields) a version with a GNS3 project the `proxmox` provider of this
    // server cannot build: not a portable project, nodes and spec devices that do not match (issue 10).
    // Nothing to check without a GNS3 project or without that provider. Blocking (reads the project).
    void check_lab(const store::ExerciseVersion& version) const;

    // Records an environment's observed state and public error, and publishes it (environment.state).
    boost::asio::awaitable<void> record_state(store::Environment& env, std::string observed,
                                              std::string error);
    // Looks at what the environment's lab really is (observe, inventory) and records it.
    boost::asio::awaitable<void> observe_and_record(store::Environment& env);
    lab::ProviderRegistry& providers();

    // The lab name of an environment: "np" + its id (unique, valid for every provider).
    static std::string lab_name(const std::string& environment_id) { return "np" + environment_id; }
    // What a provider builds for `env` of exercise version `version`: the student (owner) and the uploaded
    // project's digest included. Blocking (reads the store): call it on the worker pool.
    lab::LabRequest lab_request(const store::Environment& env, const store::ExerciseVersion& version);

 private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace np::app
