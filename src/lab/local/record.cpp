// state.json of a local lab: LabRecord <-> JSON text, and the names a lab's nodes get on the host.
#include <boost/json.hpp>

#include "core/error.hpp"
#include "lab/local/runtime.hpp"

namespace np::lab {
namespace json = boost::json;

namespace {

NodeKind kind_from(std::string_view s) {
    return s == "frr" ? NodeKind::frr : s == "vpcs" ? NodeKind::vpcs : NodeKind::linux;
}

}  // namespace

std::string node_netns(const std::string& env, const std::string& node) {
    return env + "_" + node;
}

const NodeRecord* LabRecord::find(const std::string& node) const {
    for (const auto& n : nodes)
        if (n.name == node) return &n;
    return nullptr;
}

std::string record_to_json(const LabRecord& r) {
    json::object o;
    o["env"] = r.env;
    o["topology_name"] = r.topology_name;
    o["status"] = r.status;
    o["owner_pid"] = r.owner_pid;
    o["created_at"] = r.created_at;
    o["topology"] = r.topology_yaml;
    json::array nodes;
    for (const auto& n : r.nodes) {
        json::object j;
        j["name"] = n.name;
        j["kind"] = std::string(kind_name(n.kind));
        if (!n.netns.empty()) j["netns"] = n.netns;
        if (!n.pathspace.empty()) j["frr_pathspace"] = n.pathspace;
        if (n.kind == NodeKind::vpcs) {
            j["console_port"] = n.console_port;
            j["udp_port"] = n.udp_port;
            j["peer_port"] = n.peer_port;
            j["mac_offset"] = n.mac_offset;
            json::array pids;
            for (auto p : n.pids) pids.push_back(p);
            j["pids"] = pids;
        }
        nodes.push_back(j);
    }
    o["nodes"] = nodes;
    json::array bridges;
    for (const auto& b : r.bridges) {
        bridges.push_back(json::object{{"netns", b.netns},
                                       {"ifname", b.ifname},
                                       {"udp_port", b.udp_port},
                                       {"vpcs_port", b.vpcs_port},
                                       {"pid", b.pid}});
    }
    o["bridges"] = bridges;
    return json::serialize(o) + "\n";
}

LabRecord record_from_json(const std::string& text, const std::string& source) {
    try {
        auto v = json::parse(text);
        const auto& o = v.as_object();
        LabRecord r;
        auto str = [](const json::object& obj, const char* key) {
            auto it = obj.find(key);
            return it != obj.end() && it->value().is_string() ? std::string(it->value().as_string())
                                                              : std::string();
        };
        auto num = [](const json::object& obj, const char* key) -> std::int64_t {
            auto it = obj.find(key);
            return it != obj.end() && it->value().is_int64() ? it->value().as_int64() : 0;
        };
        r.env = str(o, "env");
        r.topology_name = str(o, "topology_name");
        r.status = str(o, "status");
        r.owner_pid = static_cast<pid_t>(num(o, "owner_pid"));
        r.created_at = num(o, "created_at");
        r.topology_yaml = str(o, "topology");
        for (const auto& nv : o.at("nodes").as_array()) {
            const auto& j = nv.as_object();
            NodeRecord n;
            n.name = str(j, "name");
            n.kind = kind_from(str(j, "kind"));
            n.netns = str(j, "netns");
            n.pathspace = str(j, "frr_pathspace");
            n.console_port = static_cast<std::uint16_t>(num(j, "console_port"));
            n.udp_port = static_cast<std::uint16_t>(num(j, "udp_port"));
            n.peer_port = static_cast<std::uint16_t>(num(j, "peer_port"));
            n.mac_offset = static_cast<int>(num(j, "mac_offset"));
            if (auto it = j.find("pids"); it != j.end())
                for (const auto& p : it->value().as_array())
                    n.pids.push_back(static_cast<pid_t>(p.as_int64()));
            r.nodes.push_back(std::move(n));
        }
        if (auto it = o.find("bridges"); it != o.end()) {
            for (const auto& bv : it->value().as_array()) {
                const auto& j = bv.as_object();
                BridgeRecord b;
                b.netns = str(j, "netns");
                b.ifname = str(j, "ifname");
                b.udp_port = static_cast<std::uint16_t>(num(j, "udp_port"));
                b.vpcs_port = static_cast<std::uint16_t>(num(j, "vpcs_port"));
                b.pid = static_cast<pid_t>(num(j, "pid"));
                r.bridges.push_back(b);
            }
        }
        return r;
    } catch (const std::exception& e) {
        throw core::internal("lab state " + source + " is unreadable: " + e.what());
    }
}

}  // namespace np::lab
