// lab::Topology: the local-lab topology file of FORMATS.md (containerlab-like YAML), parsed and validated.
// Parsing reads referenced config files relative to the topology file, so a Topology is self-contained.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace np::lab {

enum class NodeKind { linux, frr, vpcs };

std::string_view kind_name(NodeKind kind);

struct Endpoint {
    std::string node;
    std::string iface;
};

struct Node {
    std::string name;
    NodeKind kind = NodeKind::linux;
    std::vector<std::string> daemons;  // frr: daemons besides zebra (and staticd, always started)
    std::string config;                // startup configuration text (frr.conf, a shell script, startup.vpc)
    std::vector<std::string> exec;     // linux/frr: shell commands run in the namespace at start
    int line = 0;                      // 1-based line of the node in the file
};

struct Link {
    Endpoint a;
    Endpoint b;
    int line = 0;
};

struct Topology {
    std::string name;
    std::vector<Node> nodes;
    std::vector<Link> links;
    std::string source;  // file name (or "<inline>") for messages

    const Node* find(std::string_view node) const;
};

// Parses and validates; throws core::Error(invalid) listing every problem with its path and line
// ("nodes.r1.kind: line 4: unknown kind 'router' (expected linux, frr or vpcs)").
Topology parse_topology(std::string_view yaml, const std::string& source = "<inline>",
                        const std::filesystem::path& base_dir = {});
Topology load_topology(const std::filesystem::path& file);

// Serialises back to YAML (with config files inlined): what the runtime records to restart a lab.
std::string to_yaml(const Topology& topology);

// Names: environments `[a-z0-9][a-z0-9-]*` (at most 24, no '_' so "<env>_<node>" splits unambiguously),
// nodes `[a-z][a-z0-9_-]*` (at most 24), interfaces as the kernel allows (1-15 chars, no '/', ':', spaces).
bool valid_env_name(std::string_view name);
bool valid_node_name(std::string_view name);
bool valid_iface_name(std::string_view name);

// The FRR daemons a topology may ask for (zebra and staticd always run).
const std::vector<std::string>& known_frr_daemons();

}  // namespace np::lab
