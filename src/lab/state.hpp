// lab::EnvState: the one state enum of a lab as its provider sees it (observe), shared by every provider,
// the local runtime and the use-cases. The environment record (store) adds its own transitional states
// around it ("deleting", "error"), written by app::Workflows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace np::lab {

enum class EnvState { absent, stopped, creating, running, degraded };

// "absent", "stopped", "creating", "running", "degraded": the names stored and shown to users.
std::string_view env_state_name(EnvState state);

// What really exists of one environment's lab.
struct Observed {
    EnvState state = EnvState::absent;
    std::vector<std::string> problems;  // what is wrong when degraded, one line each
};

}  // namespace np::lab
