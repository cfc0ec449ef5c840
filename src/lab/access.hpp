// lab::DeviceAccess: how to reach one device of a running lab, as a provider's inventory reports it.
// The grader (src/eval) receives these through src/app and never needs to know which provider made them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace np::lab {

struct DeviceAccess {
    std::string node;           // node name in the topology ("r1")
    std::string kind;           // topology kind: linux | frr | vpcs (or a GNS3 node type)
    std::string platform;       // eval platform name: linux | frr | vpcs | cisco_ios | ...
    std::string transport;      // exec | telnet | ssh
    std::string netns;          // exec: the network namespace to run commands in
    std::string frr_pathspace;  // frr: the FRR pathspace (`vtysh -N <pathspace>`)
    std::string host;           // telnet/ssh
    std::uint16_t port = 0;     // telnet/ssh
};

using Inventory = std::vector<DeviceAccess>;

}  // namespace np::lab
