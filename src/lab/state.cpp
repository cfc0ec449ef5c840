#include "lab/state.hpp"

namespace np::lab {

std::string_view env_state_name(EnvState state) {
    switch (state) {
        case EnvState::absent: return "absent";
        case EnvState::stopped: return "stopped";
        case EnvState::creating: return "creating";
        case EnvState::running: return "running";
        case EnvState::degraded: return "degraded";
    }
    return "?";
}

}  // namespace np::lab
