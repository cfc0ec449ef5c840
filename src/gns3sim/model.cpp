#include "gns3sim/model.hpp"

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "gns3/client.hpp"

namespace np::gns3sim {

std::string str_of(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

namespace {

std::int64_t int_of(const json::object& o, std::string_view key, std::int64_t fallback) {
    auto it = o.find(key);
    if (it == o.end()) return fallback;
    if (it->value().is_int64()) return it->value().get_int64();
    if (it->value().is_uint64()) return static_cast<std::int64_t>(it->value().get_uint64());
    return fallback;
}

json::array& array_at(json::object& o, std::string_view key) {
    auto& v = o[key];
    if (!v.is_array()) v = json::array();
    return v.get_array();
}

// The real import keeps `project.gns3` valid as the schema says: the required keys and a topology with its
// four lists; a revision above 9 comes from a newer GNS3.
void check_file(const json::value& v) {
    const auto* o = v.if_object();
    static const char* required[] = {"project_id", "type", "revision", "version", "name", "topology"};
    if (!o) throw core::conflict("Cannot import project, the project.gns3 file is corrupted");
    for (const char* k : required)
        if (!o->contains(k))
            throw core::conflict("Cannot import project, the project.gns3 file is corrupted");
    const auto* topo = o->at("topology").if_object();
    if (!topo) throw core::conflict("Cannot import project, the project.gns3 file is corrupted");
    for (const char* k : {"nodes", "links", "drawings", "computes"})
        if (auto it = topo->find(k); it == topo->end() || !it->value().is_array())
            throw core::conflict("Cannot import project, the project.gns3 file is corrupted");
    if (int_of(*o, "revision", 0) > 9)
        throw core::conflict("This project was created with more recent version of GNS3 (" +
                             str_of(*o, "version") + "). Please upgrade GNS3 to version " +
                             str_of(*o, "version") + " or later");
    for (const auto& n : topo->at("nodes").get_array()) {
        const auto* no = n.if_object();
        if (!no || str_of(*no, "node_id").empty() || str_of(*no, "name").empty() ||
            str_of(*no, "node_type").empty())
            throw core::conflict("Cannot import project, the project.gns3 file is corrupted");
    }
}

// New node and link ids, and the files of each node moved to its new directory.
void regenerate_ids(SimProject& p) {
    std::map<std::string, std::string> renamed;
    for (auto& n : p.nodes()) {
        auto& o = n.as_object();
        std::string old_id = str_of(o, "node_id"), fresh = gns3::random_uuid();
        renamed[old_id] = fresh;
        o["node_id"] = fresh;
    }
    auto& topo = p.file["topology"].as_object();
    for (auto& l : array_at(topo, "links")) {
        auto& lo = l.as_object();
        lo["link_id"] = gns3::random_uuid();
        for (auto& end : array_at(lo, "nodes"))
            if (auto* eo = end.if_object())
                if (auto it = renamed.find(str_of(*eo, "node_id")); it != renamed.end())
                    (*eo)["node_id"] = it->second;
    }
    Files moved;
    for (auto& [path, content] : p.files) {
        std::string out = path;
        for (const auto& [old_id, fresh] : renamed) {
            auto at = out.find("/" + old_id + "/");
            if (at != std::string::npos) out.replace(at + 1, old_id.size(), fresh);
        }
        moved[out] = std::move(content);
    }
    p.files = std::move(moved);
}

}  // namespace

json::array& SimProject::nodes() {
    return array_at(file["topology"].as_object(), "nodes");
}
const json::array& SimProject::nodes() const {
    return file.at("topology").at("nodes").get_array();
}
const json::array& SimProject::links() const {
    return file.at("topology").at("links").get_array();
}
json::object* SimProject::node(const std::string& node_id) {
    for (auto& n : nodes())
        if (str_of(n.as_object(), "node_id") == node_id) return &n.as_object();
    return nullptr;
}

namespace {
SimProject read_portable(std::string_view zip, const std::string& project_id, const std::string& name) {
    Files files;
    try {
        files = read_zip(zip);
    } catch (const core::Error&) {
        throw core::conflict("Cannot import project, not a GNS3 project (invalid zip)");
    }
    auto it = files.find("project.gns3");
    if (it == files.end())
        throw core::conflict("Cannot import project, project.gns3 file could not be found");
    json::error_code ec;
    auto v = json::parse(it->second, ec);
    if (ec) throw core::conflict("Cannot import project, the project.gns3 file is corrupted");
    check_file(v);
    files.erase(it);
    SimProject p;
    p.project_id = project_id;
    p.file = std::move(v.as_object());
    p.name = name.empty() ? str_of(p.file, "name") : name;
    p.file["name"] = p.name;
    p.file["project_id"] = project_id;
    p.file["auto_start"] = false;
    p.file["auto_open"] = false;
    p.file["auto_close"] = true;
    for (auto& [path, content] : files)
        if (path.rfind("project-files/", 0) == 0) p.files[path] = std::move(content);
    return p;
}
}  // namespace

SimProject import_portable(std::string_view zip, const std::string& project_id, const std::string& name) {
    auto p = read_portable(zip, project_id, name);
    regenerate_ids(p);
    return p;
}

SimProject load_portable(std::string_view zip, const std::string& project_id) {
    return read_portable(zip, project_id, "");
}

std::string export_portable(const SimProject& p) {
    Files files = p.files;
    files["project.gns3"] = json::serialize(p.file);
    return write_zip(files);
}

json::object new_project_file(const std::string& project_id, const std::string& name) {
    return json::object{{"auto_close", true},
                        {"auto_open", false},
                        {"auto_start", false},
                        {"drawing_grid_size", 25},
                        {"grid_size", 75},
                        {"name", name},
                        {"project_id", project_id},
                        {"revision", 9},
                        {"scene_height", 1000},
                        {"scene_width", 2000},
                        {"show_grid", false},
                        {"show_interface_labels", false},
                        {"show_layers", false},
                        {"snap_to_grid", false},
                        {"supplier", nullptr},
                        {"topology", json::object{{"computes", json::array()},
                                                  {"drawings", json::array()},
                                                  {"links", json::array()},
                                                  {"nodes", json::array()}}},
                        {"type", "topology"},
                        {"variables", nullptr},
                        {"version", "2.2.59"},
                        {"zoom", 100}};
}

SimProject copy_with_new_ids(const SimProject& from, const std::string& project_id, const std::string& name) {
    SimProject p;
    p.project_id = project_id;
    p.name = name;
    p.file = from.file;
    p.files = from.files;
    p.file["project_id"] = project_id;
    p.file["name"] = name;
    regenerate_ids(p);
    return p;
}

json::object project_json(const SimProject& p) {
    json::object o;
    for (const char* k : {"auto_close", "auto_open", "auto_start", "drawing_grid_size", "grid_size",
                          "scene_height", "scene_width", "show_grid", "show_interface_labels", "show_layers",
                          "snap_to_grid", "supplier", "variables", "zoom"})
        if (auto it = p.file.find(k); it != p.file.end()) o[k] = it->value();
    o["name"] = p.name;
    o["project_id"] = p.project_id;
    o["filename"] = p.name + ".gns3";
    o["path"] = "/opt/gns3/projects/" + p.project_id;
    o["status"] = p.status;
    return o;
}

bool is_router_type(std::string_view t) {
    return t == "dynamips" || t == "iou" || t == "qemu";
}

namespace {

json::object port(int adapter, int number, const std::string& name, const std::string& short_name) {
    return json::object{
        {"adapter_number", adapter}, {"data_link_types", json::object{{"Ethernet", "DLT_EN10MB"}}},
        {"link_type", "ethernet"},   {"name", name},
        {"port_number", number},     {"short_name", short_name}};
}

// "PA-2FE-TX" -> 2 FastEthernet ports, "C7200-IO-FE" -> 1, "NM-4E" -> 4 Ethernet.
void dynamips_slot_ports(json::array& out, int slot, const std::string& card) {
    int count = 1;
    std::string kind = "FastEthernet", short_kind = "f";
    for (std::size_t i = 0; i + 1 < card.size(); ++i) {
        if (card[i] != '-') continue;
        std::size_t j = i + 1;
        int n = 0;
        while (j < card.size() && std::isdigit(static_cast<unsigned char>(card[j])))
            n = n * 10 + (card[j++] - '0');
        std::string rest = card.substr(j);
        if (rest.starts_with("GE"))
            kind = "GigabitEthernet", short_kind = "g";
        else if (rest.starts_with("FE"))
            kind = "FastEthernet", short_kind = "f";
        else if (rest.starts_with('E'))
            kind = "Ethernet", short_kind = "e";
        else
            continue;
        count = std::max(n, 1);
    }
    for (int p = 0; p < count; ++p) {
        auto suffix = std::to_string(slot) + "/" + std::to_string(p);
        out.push_back(port(slot, p, kind + suffix, short_kind + suffix));
    }
}

}  // namespace

json::array ports_of(const json::object& node) {
    json::array out;
    std::string type = str_of(node, "node_type");
    json::object props;
    if (auto it = node.find("properties"); it != node.end() && it->value().is_object())
        props = it->value().as_object();
    if (type == "vpcs") {
        out.push_back(port(0, 0, "Ethernet0", "e0"));
    } else if (type == "qemu") {
        for (int a = 0; a < int_of(props, "adapters", 1); ++a)
            out.push_back(port(a, 0, "Ethernet" + std::to_string(a), "e" + std::to_string(a)));
    } else if (type == "dynamips") {
        for (int slot = 0; slot < 7; ++slot) {
            std::string card = str_of(props, "slot" + std::to_string(slot));
            if (!card.empty()) dynamips_slot_ports(out, slot, card);
        }
    } else if (type == "iou") {
        for (int a = 0; a < int_of(props, "ethernet_adapters", 2); ++a)
            for (int p = 0; p < 4; ++p) {
                auto suffix = std::to_string(a) + "/" + std::to_string(p);
                out.push_back(port(a, p, "Ethernet" + suffix, "e" + suffix));
            }
    }
    return out;
}

json::object node_json(const SimProject& p, const json::object& node, const std::string& console_host) {
    json::object o = node;
    std::string id = str_of(node, "node_id"), type = str_of(node, "node_type");
    auto run = p.runs.find(id);
    o["project_id"] = p.project_id;
    o["status"] = run != p.runs.end() && run->second.started ? "started" : "stopped";
    o["console_host"] = console_host;
    o["node_directory"] = "/opt/gns3/projects/" + p.project_id + "/project-files/" + type + "/" + id;
    if (run != p.runs.end() && !run->second.command_line.empty())
        o["command_line"] = run->second.command_line;
    else
        o["command_line"] = nullptr;
    o["ports"] = ports_of(node);
    return o;
}

json::object link_json(const SimProject& p, const json::object& link) {
    json::object o = link;
    o["project_id"] = p.project_id;
    o["link_type"] = "ethernet";
    o["capturing"] = false;
    o["capture_file_name"] = nullptr;
    o["capture_file_path"] = nullptr;
    o["capture_compute_id"] = nullptr;
    if (!o.contains("filters")) o["filters"] = json::object();
    if (!o.contains("suspend")) o["suspend"] = false;
    return o;
}

std::string lab_node_name(const std::string& name) {
    std::string out;
    for (char c : name) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

namespace {

std::string iface_of(const std::string& type, int adapter, int port) {
    if (type == "vpcs") return "eth0";
    return "eth" + std::to_string(adapter) + (port ? "_" + std::to_string(port) : "");
}

// A router's startup configuration: frr.conf in its node directory, else the dynamips/IOU startup-config.
std::string router_config(const SimProject& p, const json::object& node) {
    std::string dir = "project-files/" + str_of(node, "node_type") + "/" + str_of(node, "node_id") + "/";
    if (auto it = p.files.find(dir + "frr.conf"); it != p.files.end()) return it->second;
    for (const auto& [path, content] : p.files)
        if (path.rfind(dir, 0) == 0 && path.size() > 18 && path.ends_with("startup-config.cfg"))
            return content;
    return {};
}

std::string vpcs_config(const SimProject& p, const json::object& node) {
    std::string path = "project-files/vpcs/" + str_of(node, "node_id") + "/startup.vpc";
    if (auto it = p.files.find(path); it != p.files.end()) return it->second;
    if (auto props = node.find("properties"); props != node.end() && props->value().is_object())
        return str_of(props->value().as_object(), "startup_script");
    return {};
}

}  // namespace

lab::Topology topology_of(const SimProject& p) {
    lab::Topology t;
    t.name = p.name;
    t.source = p.name + ".gns3";
    std::map<std::string, const json::object*> by_id;
    for (const auto& n : p.nodes()) {
        const auto& o = n.as_object();
        std::string type = str_of(o, "node_type"), name = str_of(o, "name");
        lab::Node node;
        node.name = lab_node_name(name);
        if (!lab::valid_node_name(node.name) || t.find(node.name))
            throw core::conflict("Node '" + name +
                                 "' cannot run in gns3-sim: its name must be unique and look like " +
                                 "[A-Za-z][A-Za-z0-9_-]* (at most 24 characters)");
        if (type == "vpcs") {
            node.kind = lab::NodeKind::vpcs;
            node.config = vpcs_config(p, o);
        } else if (is_router_type(type)) {
            node.kind = lab::NodeKind::frr;
            node.config = router_config(p, o);
        } else {
            throw core::conflict("Node '" + name + "' of type " + type +
                                 " cannot run in gns3-sim (it runs vpcs, dynamips, iou and qemu nodes)");
        }
        by_id[str_of(o, "node_id")] = &o;
        t.nodes.push_back(std::move(node));
    }
    for (const auto& l : p.links()) {
        const auto& ends = l.at("nodes").as_array();
        if (ends.size() != 2) continue;
        lab::Link link;
        lab::Endpoint* sides[] = {&link.a, &link.b};
        for (int i = 0; i < 2; ++i) {
            const auto& e = ends[static_cast<std::size_t>(i)].as_object();
            auto it = by_id.find(str_of(e, "node_id"));
            if (it == by_id.end()) throw core::conflict("Link to an unknown node " + str_of(e, "node_id"));
            sides[i]->node = lab_node_name(str_of(*it->second, "name"));
            sides[i]->iface =
                iface_of(str_of(*it->second, "node_type"), static_cast<int>(int_of(e, "adapter_number", 0)),
                         static_cast<int>(int_of(e, "port_number", 0)));
        }
        t.links.push_back(std::move(link));
    }
    return t;
}

}  // namespace np::gns3sim
