// How the grading engine reaches a lab's devices: a provider's inventory entry (lab::DeviceAccess) onto an
// engine target (eval::DeviceTarget). The one place the two meet (the evaluate job and `netpraxis grade`).
#pragma once

#include <map>
#include <string>

#include "eval/session.hpp"
#include "eval/spec.hpp"
#include "lab/access.hpp"

namespace np::app {

// Sets how to reach the device (transport, host, port, namespace, FRR pathspace) from `access`; the
// platform only when `target` has none (the spec's own platform wins).
void apply_access(eval::DeviceTarget& target, const lab::DeviceAccess& access);

// A target for every device of `spec` the inventory has a node of the same name for.
std::map<std::string, eval::DeviceTarget> device_targets(const eval::Spec& spec,
                                                         const lab::Inventory& inventory);

}  // namespace np::app
