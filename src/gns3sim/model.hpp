// The simulator's projects in memory: the .gns3 topology (as the reference's file format), the files of the
// portable project, and what runs. JSON of projects and nodes as gns3-server 2.2.59 serves them. Internal to
// src/gns3sim.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gns3/zip.hpp"
#include "lab/topology.hpp"

namespace np::gns3sim {

using gns3::Files;
using gns3::read_zip;
using gns3::write_zip;

namespace json = boost::json;

class ConsoleListener;  // devices.hpp

struct NodeRun {
    bool started = false;
    std::string command_line;  // set by the first start, like the real server
    std::shared_ptr<ConsoleListener> console;
};

struct SimSnapshot {
    std::string snapshot_id, name;
    std::int64_t created_at = 0;
    json::object file;
    Files files;
};

struct SimProject {
    std::string project_id, name;
    std::string status = "closed";        // opened | closed
    json::object file;                    // the .gns3 JSON (type, revision, topology {nodes, links, ...})
    Files files;                          // project-files/<type>/<node_id>/... of the portable project
    std::map<std::string, NodeRun> runs;  // by node_id, while opened
    std::vector<SimSnapshot> snapshots;
    std::string env;      // the local lab running its devices
    bool lab_up = false;  // the lab's namespaces and processes exist
    bool busy = false;    // a start/stop/close is under way

    json::array& nodes();
    const json::array& nodes() const;
    const json::array& links() const;
    json::object* node(const std::string& node_id);
};

// Reads a portable project (zip with project.gns3); throws core::Error(conflict) with the server's messages:
// "Cannot import project, not a GNS3 project (invalid zip)", "... project.gns3 file could not be found",
// "... the project.gns3 file is corrupted". Node and link ids are regenerated, as the real import does.
SimProject import_portable(std::string_view zip, const std::string& project_id, const std::string& name);
// A project the simulator kept on disk: as import_portable, with its node and link ids kept.
SimProject load_portable(std::string_view zip, const std::string& project_id);
// The portable project of `project` (project.gns3 and its files).
std::string export_portable(const SimProject& project);
// A new empty topology file.
json::object new_project_file(const std::string& project_id, const std::string& name);
// A copy with new project, node and link ids (duplicate).
SimProject copy_with_new_ids(const SimProject& project, const std::string& project_id,
                             const std::string& name);

json::object project_json(const SimProject& project);
json::object node_json(const SimProject& project, const json::object& node, const std::string& console_host);
json::object link_json(const SimProject& project, const json::object& link);
json::array ports_of(const json::object& node);

// The lab of a project: vpcs nodes are VPCS, dynamips/iou/qemu nodes are FRR routers; interfaces are named
// eth<adapter> (port 0) or eth<adapter>_<port>. Throws core::Error(conflict) for what cannot run here.
lab::Topology topology_of(const SimProject& project);
// The lab node name of a GNS3 node (its name in lower case).
std::string lab_node_name(const std::string& gns3_name);
bool is_router_type(std::string_view node_type);

std::string str_of(const json::object& o, std::string_view key);

}  // namespace np::gns3sim
