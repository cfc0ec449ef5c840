// Typed replies of the GNS3 server REST API v2 (gns3-server 2.2.x; reference: shared/reference/gns3/API.md
// and its examples, real 2.2.59 output). Parsing takes the JSON text and is lenient where the server is
// (null for absent values, extra fields ignored); a reply of an unexpected shape throws core::Error(upstream)
// naming the object and the field. No Boost in this header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace np::gns3 {

struct Version {
    std::string version;  // "2.2.59"
    bool local = false;
};

struct Compute {
    std::string compute_id, name, protocol, host, user, last_error;
    int port = 0;
    bool connected = false;
    double cpu_usage_percent = 0, memory_usage_percent = 0;
    std::vector<std::string> node_types;  // capabilities.node_types
    std::string platform, version;        // capabilities.platform, capabilities.version
};

struct Project {
    std::string project_id, name, path, filename;
    std::string status;  // opened | closed
    bool auto_start = false, auto_open = false, auto_close = true;
};

struct Port {
    std::string name, short_name, link_type;  // "Ethernet0", "e0", ethernet | serial
    int adapter_number = 0, port_number = 0;
};

struct Node {
    std::string node_id, project_id, compute_id, name, node_type, template_id;
    std::string status;                      // started | stopped | suspended
    std::optional<int> console;              // TCP port, null for none
    std::string console_host, console_type;  // console_type: telnet, vnc, spice, none (empty: null)
    bool console_auto_start = false, locked = false;
    std::string command_line, node_directory;
    std::string properties;  // the emulator-specific `properties` object, as JSON text
    std::vector<Port> ports;
};

struct LinkEnd {
    std::string node_id;
    int adapter_number = 0, port_number = 0;
};

struct Link {
    std::string link_id, project_id, link_type;
    std::vector<LinkEnd> nodes;
    bool suspend = false, capturing = false;
};

struct Snapshot {
    std::string snapshot_id, project_id, name;
    std::int64_t created_at = 0;
};

Version parse_version(std::string_view json);
std::vector<Compute> parse_computes(std::string_view json);
Project parse_project(std::string_view json);
std::vector<Project> parse_projects(std::string_view json);
Node parse_node(std::string_view json);
std::vector<Node> parse_nodes(std::string_view json);
std::vector<Link> parse_links(std::string_view json);
Snapshot parse_snapshot(std::string_view json);
std::vector<Snapshot> parse_snapshots(std::string_view json);

// A node's `name` in a .gns3 project file (topology.nodes[]) with its type: what a grader matches against a
// spec's devices before anything runs. Throws core::Error(invalid) when the text is not a project file.
struct FileNode {
    std::string node_id, name, node_type;
    std::optional<int> console;
    std::string console_type;
};
std::vector<FileNode> parse_project_file_nodes(std::string_view gns3_json);

// Where to reach a node's console: `console_host`, unless the node listens on every address (0.0.0.0, ::,
// empty), then the host the client talks to (`server_host`), as the reference says.
std::string console_address(const Node& node, std::string_view server_host);

// True for a 36-character UUID (8-4-4-4-12 hex digits), the only project/node id the server accepts.
bool is_uuid(std::string_view text);

}  // namespace np::gns3
