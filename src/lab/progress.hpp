// lab::ProgressSink: what a provider tells its caller about a long call on one environment while it runs
// (steps: "cloning base VM", "waiting for guest agent"...) and what it found that is worth keeping on the
// environment (facts: "orphaned_volumes_cleaned" = 2). app::Workflows attaches one to an environment for
// the duration of a job (lab::Provider::attach_progress) and shows the steps on the job (progress and the
// event stream) and the facts on the environment record and the job result. A provider with nothing to
// tell (local) never calls it; one without an attached sink reports into a sink that drops everything.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

namespace np::lab {

class ProgressSink {
 public:
    virtual ~ProgressSink() = default;
    virtual boost::asio::awaitable<void> step(std::string text) = 0;
    virtual void fact(std::string key, std::int64_t value) = 0;
};

}  // namespace np::lab
