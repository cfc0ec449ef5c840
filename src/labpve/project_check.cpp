#include "labpve/project_check.hpp"

#include <set>

#include "gns3/zip.hpp"

namespace np::labpve {

std::vector<gns3::FileNode> portable_project_nodes(std::string_view zip, const std::string& field) {
    gns3::Files files;
    try {
        files = gns3::read_zip(zip);
    } catch (const core::Error&) {
        throw core::invalid(field + " is not a portable GNS3 project",
                            {{field,
                              "is not a zip archive (export the project from GNS3: File > Export "
                              "portable project)"}});
    }
    const std::string* topology = nullptr;
    int found = 0;
    for (const auto& [path, content] : files)
        if (path.find('/') == std::string::npos && path.ends_with(".gns3")) {
            topology = &content;
            ++found;
        }
    if (found != 1)
        throw core::invalid(field + " is not a portable GNS3 project",
                            {{field, found == 0 ? "holds no .gns3 topology file at its top"
                                                : "holds several .gns3 topology files at its top"}});
    try {
        return gns3::parse_project_file_nodes(*topology);
    } catch (const core::Error& e) {
        throw core::invalid(field + " is not a portable GNS3 project", {{field, e.what()}});
    }
}

bool is_plumbing(std::string_view t) {
    return t == "ethernet_switch" || t == "ethernet_hub" || t == "frame_relay_switch" || t == "atm_switch" ||
           t == "cloud" || t == "nat";
}

std::string default_platform(std::string_view t) {
    if (t == "vpcs") return "vpcs";
    if (t == "dynamips" || t == "iou") return "cisco_ios";
    if (t == "qemu" || t == "docker") return "linux";
    return "";
}

std::vector<core::FieldError> check_project_devices(const std::vector<gns3::FileNode>& nodes,
                                                    const std::map<std::string, std::string>& devices,
                                                    const std::string& field) {
    std::vector<core::FieldError> out;
    std::set<std::string> seen;
    for (const auto& n : nodes) {
        if (is_plumbing(n.node_type)) continue;
        auto path = field + ".nodes." + n.name;
        auto d = devices.find(n.name);
        if (d == devices.end()) {
            out.push_back({path, "GNS3 node '" + n.name + "' matches no device of the grading spec"});
            continue;
        }
        seen.insert(n.name);
        if (default_platform(n.node_type).empty())
            out.push_back({path, "node type '" + n.node_type + "' of '" + n.name +
                                     "' has no known platform (known: vpcs, dynamips, iou, qemu, docker)"});
        if (n.console_type != "telnet" && !n.console_type.empty())
            out.push_back({path, "node '" + n.name + "' has console type '" + n.console_type +
                                     "': graded devices need a telnet console"});
    }
    for (const auto& [name, platform] : devices)
        if (!seen.count(name))
            out.push_back(
                {"spec.devices." + name, "device '" + name + "' has no node of that name in " + field});
    return out;
}

}  // namespace np::labpve
