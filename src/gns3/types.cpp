#include "gns3/types.hpp"

#include <boost/json.hpp>
#include <cctype>

#include "core/error.hpp"

namespace np::gns3 {

namespace json = boost::json;

namespace {

// Reading one object of a reply; `what` names it in errors ("node PC1", "project list[2]").
class Reader {
 public:
    Reader(const json::value& v, std::string what) : what_(std::move(what)) {
        if (!v.is_object()) throw core::upstream("GNS3 " + what_ + ": expected an object");
        o_ = &v.get_object();
    }
    const json::value* find(std::string_view key) const {
        auto it = o_->find(key);
        return it == o_->end() || it->value().is_null() ? nullptr : &it->value();
    }
    std::string str(std::string_view key) const {
        const auto* v = find(key);
        if (!v) return {};
        if (!v->is_string()) bad(key, "a string");
        return std::string(v->get_string());
    }
    std::optional<std::int64_t> opt_int(std::string_view key) const {
        const auto* v = find(key);
        if (!v) return std::nullopt;
        if (v->is_int64()) return v->get_int64();
        if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
        if (v->is_double()) return static_cast<std::int64_t>(v->get_double());
        bad(key, "a number");
    }
    std::int64_t integer(std::string_view key) const { return opt_int(key).value_or(0); }
    double number(std::string_view key) const {
        const auto* v = find(key);
        if (!v) return 0;
        if (v->is_number()) return v->to_number<double>();
        bad(key, "a number");
    }
    bool boolean(std::string_view key, bool fallback) const {
        const auto* v = find(key);
        if (!v) return fallback;
        if (!v->is_bool()) bad(key, "true or false");
        return v->get_bool();
    }
    const json::array* array(std::string_view key) const {
        const auto* v = find(key);
        if (!v) return nullptr;
        if (!v->is_array()) bad(key, "a list");
        return &v->get_array();
    }
    [[noreturn]] void bad(std::string_view key, std::string_view expected) const {
        throw core::upstream("GNS3 " + what_ + ": field '" + std::string(key) + "' is not " +
                             std::string(expected));
    }
    const std::string& what() const { return what_; }

 private:
    const json::object* o_ = nullptr;
    std::string what_;
};

json::value parse_text(std::string_view text, const std::string& what) {
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) throw core::upstream("GNS3 " + what + ": the reply is not JSON (" + ec.message() + ")");
    return v;
}

const json::array& as_list(const json::value& v, const std::string& what) {
    if (!v.is_array()) throw core::upstream("GNS3 " + what + ": expected a list");
    return v.get_array();
}

// A reply that is a JSON list, each item read by `item_of(value, "<what>[i]")`.
template <class F>
auto list_of(std::string_view text, const std::string& what, F item_of) {
    auto v = parse_text(text, what);
    const auto& list = as_list(v, what);
    std::vector<decltype(item_of(list[0], what))> out;
    out.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i)
        out.push_back(item_of(list[i], what + "[" + std::to_string(i) + "]"));
    return out;
}

Project project_of(const json::value& v, const std::string& what) {
    Reader r(v, what);
    Project p;
    p.project_id = r.str("project_id");
    p.name = r.str("name");
    p.path = r.str("path");
    p.filename = r.str("filename");
    p.status = r.str("status");
    p.auto_start = r.boolean("auto_start", false);
    p.auto_open = r.boolean("auto_open", false);
    p.auto_close = r.boolean("auto_close", true);
    if (p.project_id.empty()) r.bad("project_id", "present");
    return p;
}

Node node_of(const json::value& v, const std::string& what) {
    Reader r(v, what);
    Node n;
    n.node_id = r.str("node_id");
    n.project_id = r.str("project_id");
    n.compute_id = r.str("compute_id");
    n.name = r.str("name");
    n.node_type = r.str("node_type");
    n.template_id = r.str("template_id");
    n.status = r.str("status");
    if (auto c = r.opt_int("console")) n.console = static_cast<int>(*c);
    n.console_host = r.str("console_host");
    n.console_type = r.str("console_type");
    n.console_auto_start = r.boolean("console_auto_start", false);
    n.locked = r.boolean("locked", false);
    n.command_line = r.str("command_line");
    n.node_directory = r.str("node_directory");
    if (const auto* p = r.find("properties")) n.properties = json::serialize(*p);
    if (const auto* ports = r.array("ports")) {
        for (std::size_t i = 0; i < ports->size(); ++i) {
            Reader pr((*ports)[i], what + " ports[" + std::to_string(i) + "]");
            Port port;
            port.name = pr.str("name");
            port.short_name = pr.str("short_name");
            port.link_type = pr.str("link_type");
            port.adapter_number = static_cast<int>(pr.integer("adapter_number"));
            port.port_number = static_cast<int>(pr.integer("port_number"));
            n.ports.push_back(std::move(port));
        }
    }
    if (n.node_id.empty()) r.bad("node_id", "present");
    return n;
}

}  // namespace

Version parse_version(std::string_view text) {
    auto v = parse_text(text, "version");
    Reader r(v, "version");
    return Version{r.str("version"), r.boolean("local", false)};
}

namespace {
Compute compute_of(const json::value& v, const std::string& what) {
    Reader r(v, what);
    Compute c;
    c.compute_id = r.str("compute_id");
    c.name = r.str("name");
    c.protocol = r.str("protocol");
    c.host = r.str("host");
    c.port = static_cast<int>(r.integer("port"));
    c.user = r.str("user");
    c.connected = r.boolean("connected", false);
    c.cpu_usage_percent = r.number("cpu_usage_percent");
    c.memory_usage_percent = r.number("memory_usage_percent");
    c.last_error = r.str("last_error");
    if (const auto* caps = r.find("capabilities")) {
        Reader cr(*caps, r.what() + " capabilities");
        c.platform = cr.str("platform");
        c.version = cr.str("version");
        if (const auto* types = cr.array("node_types"))
            for (const auto& t : *types)
                if (t.is_string()) c.node_types.emplace_back(t.get_string());
    }
    return c;
}
}  // namespace

std::vector<Compute> parse_computes(std::string_view text) {
    return list_of(text, "compute list", compute_of);
}

Project parse_project(std::string_view text) {
    return project_of(parse_text(text, "project"), "project");
}

std::vector<Project> parse_projects(std::string_view text) {
    return list_of(text, "project list", project_of);
}

Node parse_node(std::string_view text) {
    return node_of(parse_text(text, "node"), "node");
}

std::vector<Node> parse_nodes(std::string_view text) {
    return list_of(text, "node list", node_of);
}

namespace {
Link link_of(const json::value& v, const std::string& what) {
    Reader r(v, what);
    Link l;
    l.link_id = r.str("link_id");
    l.project_id = r.str("project_id");
    l.link_type = r.str("link_type");
    l.suspend = r.boolean("suspend", false);
    l.capturing = r.boolean("capturing", false);
    if (const auto* ends = r.array("nodes")) {
        for (const auto& e : *ends) {
            Reader er(e, what + " nodes");
            l.nodes.push_back({er.str("node_id"), static_cast<int>(er.integer("adapter_number")),
                               static_cast<int>(er.integer("port_number"))});
        }
    }
    return l;
}
}  // namespace

std::vector<Link> parse_links(std::string_view text) {
    return list_of(text, "link list", link_of);
}

namespace {
Snapshot snapshot_of(const json::value& v, const std::string& what) {
    Reader r(v, what);
    return Snapshot{r.str("snapshot_id"), r.str("project_id"), r.str("name"), r.integer("created_at")};
}
}  // namespace

Snapshot parse_snapshot(std::string_view text) {
    return snapshot_of(parse_text(text, "snapshot"), "snapshot");
}

std::vector<Snapshot> parse_snapshots(std::string_view text) {
    return list_of(text, "snapshot list", snapshot_of);
}

std::vector<FileNode> parse_project_file_nodes(std::string_view text) {
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) throw core::invalid("GNS3 project file: not JSON (" + ec.message() + ")");
    const auto* top = v.if_object();
    const json::object* topology = nullptr;
    if (top)
        if (auto it = top->find("topology"); it != top->end()) topology = it->value().if_object();
    if (!top || !top->contains("type") || !topology)
        throw core::invalid("GNS3 project file: no `type` and `topology` object (not a .gns3 project file)");
    std::vector<FileNode> out;
    auto it = topology->find("nodes");
    if (it == topology->end() || !it->value().is_array())
        throw core::invalid("GNS3 project file: topology.nodes is not a list");
    for (const auto& n : it->value().get_array()) {
        try {
            Reader r(n, "project file node");
            FileNode f{r.str("node_id"), r.str("name"), r.str("node_type"), std::nullopt,
                       r.str("console_type")};
            if (auto c = r.opt_int("console")) f.console = static_cast<int>(*c);
            if (f.name.empty() || f.node_type.empty())
                throw core::invalid("GNS3 project file: a node without name or node_type");
            out.push_back(std::move(f));
        } catch (const core::Error& e) {
            if (e.code() == core::Code::invalid) throw;
            throw core::invalid(std::string("GNS3 project file: ") + e.what());
        }
    }
    return out;
}

std::string console_address(const Node& node, std::string_view server_host) {
    const std::string& h = node.console_host;
    if (h.empty() || h == "0.0.0.0" || h == "::" || h == "0:0:0:0:0:0:0:0") return std::string(server_host);
    return h;
}

bool is_uuid(std::string_view t) {
    if (t.size() != 36) return false;
    for (std::size_t i = 0; i < t.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? t[i] != '-' : !std::isxdigit(static_cast<unsigned char>(t[i]))) return false;
    }
    return true;
}

}  // namespace np::gns3
