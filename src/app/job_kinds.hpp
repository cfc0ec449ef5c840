// Registers the job kinds this build can run (providers and the grader add theirs as they land).
#pragma once

namespace np::core {
class Config;
class WorkerPool;
}  // namespace np::core
namespace np::store {
class Store;
}

namespace np::app {
class JobRunner;
void register_job_kinds(JobRunner& jobs, const core::Config& config, store::Store& store, core::WorkerPool& pool);
}  // namespace np::app
