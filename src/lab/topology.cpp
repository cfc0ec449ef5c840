#include "lab/topology.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/bundle.hpp"
#include "core/error.hpp"
#include "core/yaml.hpp"

namespace np::lab {
namespace {

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int line_of(const YAML::Node& node) {
    return node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
}

class Collector {
 public:
    void add(std::string path, int line, const std::string& message) {
        fields_.push_back(
            {std::move(path), line > 0 ? "line " + std::to_string(line) + ": " + message : message});
    }
    std::vector<core::FieldError>& fields() { return fields_; }

 private:
    std::vector<core::FieldError> fields_;
};

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

bool read_scalar(const YAML::Node& node, std::string& out) {
    if (!node.IsScalar()) return false;
    out = node.Scalar();
    return true;
}

void parse_string_list(const YAML::Node& node, const std::string& path, Collector& errors,
                       std::vector<std::string>& out) {
    if (!node.IsSequence()) {
        errors.add(path, line_of(node), "must be a list of strings");
        return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
        std::string value;
        if (!read_scalar(node[i], value)) {
            errors.add(path + "[" + std::to_string(i) + "]", line_of(node[i]), "must be a string");
            continue;
        }
        out.push_back(value);
    }
}

// `config:` is inline text when it spans lines, otherwise a file of the topology's own folder (its bundle):
// relative, no '..', no symlink out (core::resolve_in_bundle), a regular file of at most 1 MiB. A topology
// with no folder (sent through the API, or recorded in a lab's state) takes inline text only: the server
// must never read a file of its host on behalf of an exercise (docs/SECURITY.md).
constexpr std::uintmax_t kMaxConfigBytes = 1 << 20;

void parse_config(const YAML::Node& node, const std::string& path, const std::filesystem::path& base_dir,
                  Collector& errors, std::string& out) {
    std::string value;
    if (!read_scalar(node, value)) {
        errors.add(path, line_of(node), "must be a file name or inline text");
        return;
    }
    // Configs are text: a NUL or another control byte (tab, CR and LF aside) would not survive the YAML the
    // runtime records to restart a lab (to_yaml), and no device config needs one.
    for (unsigned char c : value)
        if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) {
            errors.add(path, line_of(node), "contains a control character (a NUL?): configs are plain text");
            return;
        }
    if (value.find('\n') != std::string::npos) {
        out = value;
        return;
    }
    if (base_dir.empty()) {
        errors.add(path, line_of(node),
                   "'" + value.substr(0, 80) +
                       "' names a file, but this topology has no folder to take it from: write the "
                       "configuration inline (a YAML block scalar, `config: |`)");
        return;
    }
    std::filesystem::path file;
    try {
        file = core::resolve_in_bundle(base_dir, value);
    } catch (const core::Error& e) {
        errors.add(path, line_of(node), std::string("config file ") + e.what());
        return;
    }
    std::error_code ec;
    if (std::filesystem::file_size(file, ec) > kMaxConfigBytes || ec) {
        errors.add(path, line_of(node), "config file '" + value + "' is larger than 1 MiB");
        return;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        errors.add(path, line_of(node), "cannot read config file '" + value + "'");
        return;
    }
    std::ostringstream text;
    text << in.rdbuf();
    out = text.str();
    if (out.find('\0') != std::string::npos) {
        errors.add(path, line_of(node), "config file '" + value + "' is not text (it holds a NUL byte)");
        out.clear();
    }
}

bool parse_endpoint(const std::string& text, Endpoint& out) {
    auto colon = text.find(':');
    if (colon == std::string::npos || text.find(':', colon + 1) != std::string::npos) return false;
    out.node = text.substr(0, colon);
    out.iface = text.substr(colon + 1);
    return true;
}

}  // namespace

std::string_view kind_name(NodeKind kind) {
    switch (kind) {
        case NodeKind::linux: return "linux";
        case NodeKind::frr: return "frr";
        case NodeKind::vpcs: return "vpcs";
    }
    return "?";
}

const std::vector<std::string>& known_frr_daemons() {
    static const std::vector<std::string> daemons = {"bgpd", "ospfd",   "ospf6d", "ripd",   "ripngd", "isisd",
                                                     "pimd", "ldpd",    "nhrpd",  "eigrpd", "babeld", "pbrd",
                                                     "bfdd", "fabricd", "vrrpd",  "pathd",  "staticd"};
    return daemons;
}

bool valid_env_name(std::string_view name) {
    if (name.empty() || name.size() > 24 || !is_lower_alnum(name[0])) return false;
    return std::all_of(name.begin(), name.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool valid_node_name(std::string_view name) {
    if (name.empty() || name.size() > 24 || name[0] < 'a' || name[0] > 'z') return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_lower_alnum(c) || c == '-' || c == '_'; });
}

bool valid_iface_name(std::string_view name) {
    // IFNAMSIZ is 16 including the NUL; the kernel refuses '/', ':' and whitespace (dev_valid_name).
    if (name.empty() || name.size() > 15 || name == "." || name == ".." || name == "lo") return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
    });
}

const Node* Topology::find(std::string_view node) const {
    for (const auto& n : nodes)
        if (n.name == node) return &n;
    return nullptr;
}

Topology parse_topology(std::string_view yaml, const std::string& source,
                        const std::filesystem::path& base_dir) {
    YAML::Node root;
    try {
        root = core::load_yaml(yaml, "topology " + source);
    } catch (const YAML::Exception& e) {
        throw core::invalid("topology " + source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg,
                            {{"", "line " + std::to_string(e.mark.line + 1) + ": " + e.msg}});
    }
    Topology topo;
    topo.source = source;
    Collector errors;
    if (!root.IsMap()) {
        throw core::invalid("topology " + source + ": expected a mapping with name, nodes and links",
                            {{"", "expected a mapping with name, nodes and links"}});
    }
    for (const auto& kv : root) {
        auto key = kv.first.Scalar();
        if (key != "name" && key != "nodes" && key != "links")
            errors.add(key, line_of(kv.first), "unknown key '" + key + "' (expected name, nodes, links)");
    }

    if (!root["name"]) {
        errors.add("name", 0, "missing: the topology needs a name");
    } else if (!read_scalar(root["name"], topo.name) || !valid_env_name(topo.name)) {
        errors.add(
            "name", line_of(root["name"]),
            "bad name '" + topo.name + "': use 1-24 of a-z, 0-9 and '-', starting with a letter or digit");
    }

    auto nodes = root["nodes"];
    if (!nodes || !nodes.IsMap() || nodes.size() == 0) {
        errors.add("nodes", nodes ? line_of(nodes) : 0,
                   "missing or empty: a mapping of node name to {kind: ...}");
    } else {
        for (const auto& kv : nodes) {
            Node node;
            node.name = kv.first.Scalar();
            node.line = line_of(kv.first);
            std::string path = "nodes." + node.name;
            if (!valid_node_name(node.name)) {
                errors.add(path, node.line,
                           "bad node name '" + node.name +
                               "': use 1-24 of a-z, 0-9, '-' and '_', starting with a letter");
            }
            const YAML::Node& spec = kv.second;
            if (!spec.IsMap()) {
                errors.add(path, line_of(spec), "must be a mapping such as {kind: frr}");
                continue;
            }
            for (const auto& field : spec) {
                auto key = field.first.Scalar();
                if (key != "kind" && key != "daemons" && key != "config" && key != "exec")
                    errors.add(path + "." + key, line_of(field.first),
                               "unknown key '" + key + "' (expected kind, daemons, config, exec)");
            }
            std::string kind;
            if (!spec["kind"]) {
                errors.add(path + ".kind", node.line, "missing: kind is linux, frr or vpcs");
            } else if (!read_scalar(spec["kind"], kind) ||
                       (kind != "linux" && kind != "frr" && kind != "vpcs")) {
                errors.add(path + ".kind", line_of(spec["kind"]),
                           "unknown kind '" + kind + "' (expected linux, frr or vpcs)");
            } else {
                node.kind = kind == "frr" ? NodeKind::frr : kind == "vpcs" ? NodeKind::vpcs : NodeKind::linux;
            }
            if (spec["daemons"]) {
                if (kind != "frr") {
                    errors.add(path + ".daemons", line_of(spec["daemons"]), "only frr nodes run daemons");
                } else {
                    std::vector<std::string> daemons;
                    parse_string_list(spec["daemons"], path + ".daemons", errors, daemons);
                    const auto& known = known_frr_daemons();
                    for (std::size_t i = 0; i < daemons.size(); ++i) {
                        if (daemons[i] == "zebra") continue;  // always runs
                        if (std::find(known.begin(), known.end(), daemons[i]) == known.end()) {
                            errors.add(path + ".daemons[" + std::to_string(i) + "]",
                                       line_of(spec["daemons"][i]),
                                       "unknown FRR daemon '" + daemons[i] + "' (expected one of " +
                                           join(known) + ")");
                        } else if (std::find(node.daemons.begin(), node.daemons.end(), daemons[i]) ==
                                   node.daemons.end()) {
                            node.daemons.push_back(daemons[i]);
                        }
                    }
                }
            }
            if (spec["exec"]) {
                if (kind == "vpcs")
                    errors.add(path + ".exec", line_of(spec["exec"]),
                               "vpcs nodes take VPCS commands in config, not shell commands in exec");
                else
                    parse_string_list(spec["exec"], path + ".exec", errors, node.exec);
            }
            if (spec["config"]) parse_config(spec["config"], path + ".config", base_dir, errors, node.config);
            topo.nodes.push_back(std::move(node));
        }
    }

    auto links = root["links"];
    std::map<std::string, int> used;  // "node:iface" -> line of first use
    if (links && !links.IsSequence()) {
        errors.add("links", line_of(links), "must be a list of {endpoints: [\"a:eth1\", \"b:eth1\"]}");
    } else if (links) {
        for (std::size_t i = 0; i < links.size(); ++i) {
            std::string path = "links[" + std::to_string(i) + "]";
            const YAML::Node& item = links[i];
            int line = line_of(item);
            auto eps = item.IsMap() ? item["endpoints"] : YAML::Node();
            if (!eps || !eps.IsSequence() || eps.size() != 2) {
                errors.add(path + ".endpoints", line,
                           "needs exactly two endpoints such as [\"r1:eth1\", \"r2:eth1\"]");
                continue;
            }
            for (const auto& kv : item) {
                if (kv.first.Scalar() != "endpoints")
                    errors.add(path + "." + kv.first.Scalar(), line_of(kv.first),
                               "unknown key '" + kv.first.Scalar() + "' (expected endpoints)");
            }
            Link link;
            link.line = line;
            bool ok = true;
            for (std::size_t e = 0; e < 2; ++e) {
                std::string ep_path = path + ".endpoints[" + std::to_string(e) + "]";
                int ep_line = line_of(eps[e]);
                std::string text;
                Endpoint ep;
                if (!read_scalar(eps[e], text) || !parse_endpoint(text, ep)) {
                    errors.add(ep_path, ep_line, "bad endpoint '" + text + "': expected \"node:interface\"");
                    ok = false;
                    continue;
                }
                const Node* node = topo.find(ep.node);
                if (!node) {
                    errors.add(ep_path, ep_line, "unknown node '" + ep.node + "' (not under nodes)");
                    ok = false;
                } else if (node->kind == NodeKind::vpcs && ep.iface != "eth0") {
                    errors.add(
                        ep_path, ep_line,
                        "vpcs node '" + ep.node + "' has one interface, eth0 (got '" + ep.iface + "')");
                    ok = false;
                } else if (!valid_iface_name(ep.iface)) {
                    errors.add(ep_path, ep_line,
                               "bad interface name '" + ep.iface +
                                   "': 1-15 of letters, digits, '-', '_' and '.', and not lo");
                    ok = false;
                }
                auto [it, inserted] = used.emplace(text, ep_line);
                if (!inserted) {
                    errors.add(ep_path, ep_line,
                               "interface " + text + " is already used by the link on line " +
                                   std::to_string(it->second));
                    ok = false;
                }
                (e == 0 ? link.a : link.b) = ep;
            }
            if (ok) topo.links.push_back(std::move(link));
        }
    }

    if (!errors.fields().empty()) {
        std::string message = "topology " + source + " has " + std::to_string(errors.fields().size()) +
                              (errors.fields().size() == 1 ? " error" : " errors");
        for (const auto& f : errors.fields())
            message += "\n  " + (f.path.empty() ? "" : f.path + ": ") + f.message;
        throw core::invalid(message, std::move(errors.fields()));
    }
    return topo;
}

Topology load_topology(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw core::invalid("cannot read topology file '" + file.string() + "'");
    std::ostringstream text;
    text << in.rdbuf();
    // The file's folder is its bundle ("." for a bare file name, so its configs still resolve).
    auto folder = file.parent_path();
    return parse_topology(text.str(), file.string(), folder.empty() ? std::filesystem::path(".") : folder);
}

std::string to_yaml(const Topology& topology) {
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << topology.name;
    out << YAML::Key << "nodes" << YAML::Value << YAML::BeginMap;
    for (const auto& n : topology.nodes) {
        out << YAML::Key << n.name << YAML::Value << YAML::BeginMap;
        out << YAML::Key << "kind" << YAML::Value << std::string(kind_name(n.kind));
        if (!n.daemons.empty()) out << YAML::Key << "daemons" << YAML::Value << YAML::Flow << n.daemons;
        if (!n.exec.empty()) out << YAML::Key << "exec" << YAML::Value << n.exec;
        if (!n.config.empty()) {
            // Always a block literal with a trailing newline, so parsing reads it back as inline text.
            std::string text = n.config.back() == '\n' ? n.config : n.config + "\n";
            out << YAML::Key << "config" << YAML::Value << YAML::Literal << text;
        }
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    out << YAML::Key << "links" << YAML::Value << YAML::BeginSeq;
    for (const auto& l : topology.links) {
        out << YAML::BeginMap << YAML::Key << "endpoints" << YAML::Value << YAML::Flow << YAML::BeginSeq
            << l.a.node + ":" + l.a.iface << l.b.node + ":" + l.b.iface << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    return out.c_str();
}

}  // namespace np::lab
