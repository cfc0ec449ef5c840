#include "lab/local/local_inventory.hpp"

#include "core/error.hpp"
#include "lab/local/runtime.hpp"

namespace np::lab {

Inventory read_local_inventory(const std::string& state_dir, const std::string& env) {
    RuntimeOptions options;
    options.state_dir = state_dir;
    LocalRuntime runtime(options);
    auto record = runtime.read(env);
    if (!record)
        throw core::not_found("no local lab '" + env + "' under " + state_dir +
                              " (start it with `netpraxis lab up`)");
    if (record->status != "running")
        throw core::conflict("local lab '" + env + "' is " + record->status + ", not running");
    Inventory inventory;
    for (const auto& n : record->nodes) {
        DeviceAccess d;
        d.node = n.name;
        d.kind = std::string(kind_name(n.kind));
        d.platform = d.kind;
        if (n.kind == NodeKind::vpcs) {
            d.transport = "telnet";
            d.host = "127.0.0.1";
            d.port = n.console_port;
        } else {
            d.transport = "exec";
            d.netns = n.netns;
            d.frr_pathspace = n.pathspace;
        }
        inventory.push_back(std::move(d));
    }
    return inventory;
}

}  // namespace np::lab
