// How the grader reaches the devices of a running local lab (for `netpraxis grade` and src/eval).
#pragma once

#include <string>

#include "lab/access.hpp"

namespace np::lab {

// Reads <state_dir>/<env>/state.json of a running local lab. frr: transport exec, netns and
// frr_pathspace set; linux: exec and netns; vpcs: telnet to 127.0.0.1 and its console port.
// Throws core::Error(not_found) naming the env when no such lab is recorded, and conflict when it
// is recorded but not running (stopped, or still being created).
Inventory read_local_inventory(const std::string& state_dir, const std::string& env);

}  // namespace np::lab
