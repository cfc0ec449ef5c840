// The job kinds of this build. Each is an idempotent coroutine: re-running it after a crash converges.
#include <boost/json.hpp>

#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/offload.hpp"

namespace np::app {

void register_job_kinds(JobRunner& jobs, const core::Config& config, store::Store& store, core::WorkerPool& pool) {
    (void)config;
    (void)store;
    (void)pool;
    (void)jobs;
}

}  // namespace np::app
