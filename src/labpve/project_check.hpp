// What the proxmox provider checks of an exercise's GNS3 project before anything is made (at publish and in
// check_request): the bytes are a portable project (.gns3project: a zip holding one .gns3 topology file),
// every device node has a device of the same name in the grading spec and every spec device a node, and
// every node type is one netpraxis can reach (a telnet console with a known platform). Pure logic.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "gns3/types.hpp"

namespace np::labpve {

// The nodes of a portable project; throws core::invalid naming `field` when the bytes are not one.
std::vector<gns3::FileNode> portable_project_nodes(std::string_view zip, const std::string& field);

// Nodes that are plumbing, not devices (switches, hubs, clouds, NAT): never graded, never in a spec.
bool is_plumbing(std::string_view node_type);
// The eval platform a device node type stands for when the spec names none ("" when unknown):
// vpcs -> vpcs; dynamips, iou -> cisco_ios; qemu, docker -> linux.
std::string default_platform(std::string_view node_type);

// The problems, as fields of a 400, between the project's nodes and the spec's devices (name -> platform).
std::vector<core::FieldError> check_project_devices(const std::vector<gns3::FileNode>& nodes,
                                                    const std::map<std::string, std::string>& devices,
                                                    const std::string& field);

}  // namespace np::labpve
