// Class-scale environments (issue 10 part 4): the job kinds environments.provision (a class's labs created,
// not started, as ONE batch of their provider: the proxmox provider's clone workload, progress per VM on the
// event stream) and environments.start (a class started bounded by the cluster's capacity; an environment
// whose lab does not exist yet is created first, and each lab starts as soon as it exists, while the others
// are still being created). A provider that is no lab::BatchProvider gets the same calls one environment
// after the other.
#pragma once

#include <string>
#include <vector>

namespace np::core {
class WorkerPool;
}
namespace np::store {
class Store;
struct Environment;
struct Job;
}  // namespace np::store

namespace np::app {

class EventBus;
class JobRunner;
class Workflows;

// Registers both kinds (Workflows::register_with calls it).
void register_provisioning(JobRunner& jobs, Workflows& workflows, store::Store& store, core::WorkerPool& pool,
                           EventBus& bus);

// True when environments of `provider` are provisioned as a batch when assigned and started in waves (the
// providers whose labs live on a shared cluster); the local provider keeps its one-job-per-lab flow.
bool provisions_in_batch(const std::string& provider);

// The job that provisions (or starts) `envs` as one batch, owned by `owner` (submit it to the JobRunner).
store::Job provision_job(const std::vector<store::Environment>& envs, const std::string& owner);
store::Job start_job(const std::vector<store::Environment>& envs, const std::string& owner);

}  // namespace np::app
