#include "app/device_targets.hpp"

namespace np::app {

void apply_access(eval::DeviceTarget& target, const lab::DeviceAccess& access) {
    if (target.platform.empty()) target.platform = access.platform;
    target.transport = access.transport;
    target.host = access.host;
    target.port = access.port;
    target.netns = access.netns;
    target.frr_pathspace = access.frr_pathspace;
}

std::map<std::string, eval::DeviceTarget> device_targets(const eval::Spec& spec,
                                                         const lab::Inventory& inventory) {
    std::map<std::string, eval::DeviceTarget> targets;
    for (const auto& dev : spec.devices) {
        for (const auto& access : inventory) {
            if (access.node != dev.name) continue;
            eval::DeviceTarget t;
            t.name = dev.name;
            t.platform = dev.platform;
            apply_access(t, access);
            targets.emplace(dev.name, std::move(t));
        }
    }
    return targets;
}

}  // namespace np::app
