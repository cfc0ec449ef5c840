// The routes of the simulator: /v2 controller endpoints of gns3-server 2.2.59 with its status codes and
// messages ({"message": ..., "status": ...}).
#include "gns3sim/simulator.hpp"

#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "gns3/client.hpp"
#include "gns3/types.hpp"
#include "gns3sim/impl.hpp"
#include "http/path_router.hpp"

namespace np::gns3sim {

namespace asio = boost::asio;

namespace {

http::Response reply(int status, const json::value& v) {
    return http::json_response(status, json::serialize(v));
}

http::Response error_reply(int status, const std::string& message) {
    return reply(status, json::object{{"message", message}, {"status", status}});
}

http::Response no_content() {
    http::Response r;
    r.status = 204;
    r.content_type = {};
    return r;
}

json::object body_object(const http::Request& req) {
    if (req.body.empty()) return {};
    json::error_code ec;
    auto v = json::parse(req.body, ec);
    if (ec || !v.is_object()) throw core::invalid("Invalid JSON body");
    return std::move(v.as_object());
}

bool authorized(const SimOptions& o, const http::Request& req) {
    if (o.user.empty()) return true;
    std::string_view h = req.header("authorization");
    if (h.substr(0, 6) != "Basic ") return false;
    std::string expected = o.user + ":" + o.password;
    std::string out(4 * ((expected.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(expected.data()),
                            static_cast<int>(expected.size()));
    out.resize(static_cast<std::size_t>(n));
    return h.substr(6) == out;
}

json::object compute_json(const SimOptions& o) {
    return json::object{
        {"capabilities", json::object{{"node_types", json::array{"vpcs", "dynamips", "iou", "qemu"}},
                                      {"platform", "linux"},
                                      {"version", o.version}}},
        {"compute_id", "local"},
        {"connected", true},
        {"cpu_usage_percent", 0.0},
        {"host", o.console_host},
        {"last_error", nullptr},
        {"memory_usage_percent", 0.0},
        {"name", "gns3-sim"},
        {"port", 3080},
        {"protocol", "http"},
        {"user", nullptr}};
}

}  // namespace

ProjectPtr Simulator::Impl::get(const std::string& id) const {
    auto it = projects.find(id);
    if (it == projects.end()) throw core::not_found("Project ID " + id + " doesn't exist");
    return it->second;
}

std::string Simulator::Impl::free_name(const std::string& name) const {
    auto taken = [&](const std::string& n) {
        for (const auto& [id, p] : projects)
            if (p->name == n) return true;
        return false;
    };
    if (!taken(name)) return name;
    for (int i = 1; i < 10000; ++i)
        if (!taken(name + "-" + std::to_string(i))) return name + "-" + std::to_string(i);
    throw core::conflict("A project name could not be allocated (node limit reached?)");
}

std::string Simulator::Impl::env_of(const std::string& project_id) const {
    std::string hex;
    for (char c : project_id)
        if (c != '-' && hex.size() < 8)
            hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return options.env_prefix + hex;
}

void Simulator::Impl::assign_consoles(SimProject& p) {
    for (auto& n : p.nodes()) {
        auto& o = n.as_object();
        if (str_of(o, "console_type") == "none") continue;
        if (str_of(o, "console_type").empty()) o["console_type"] = "telnet";
        auto c = o.contains("console") && o.at("console").is_int64() ? o.at("console").get_int64() : 0;
        bool keep = c >= options.console_port_min && c <= options.console_port_max &&
                    !consoles.count(static_cast<std::uint16_t>(c)) &&
                    port_free(options.console_host, static_cast<std::uint16_t>(c));
        if (!keep) {
            c = 0;
            for (int port = options.console_port_min; port <= options.console_port_max; ++port)
                if (!consoles.count(static_cast<std::uint16_t>(port)) &&
                    port_free(options.console_host, static_cast<std::uint16_t>(port))) {
                    c = port;
                    break;
                }
            if (!c)
                throw core::conflict("No free console port in " + std::to_string(options.console_port_min) +
                                     "-" + std::to_string(options.console_port_max));
        }
        consoles.insert(static_cast<std::uint16_t>(c));
        o["console"] = c;
    }
}

void Simulator::Impl::release_consoles(const SimProject& p) {
    for (const auto& n : p.nodes())
        if (auto c = n.as_object().if_contains("console"); c && c->is_int64())
            consoles.erase(static_cast<std::uint16_t>(c->get_int64()));
}

namespace {

using Impl = Simulator::Impl;

using Params = http::PathParams;

const std::string& param(const Params& ps, std::string_view name) {
    for (const auto& [k, v] : ps)
        if (k == name) return v;
    throw core::internal("route parameter missing: " + std::string(name));
}

ProjectPtr opened(Impl& sim, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    if (p->status != "opened") throw core::forbidden("The project is not opened");
    return p;
}

// --- /v2/version, /v2/computes, /v2/projects ---

asio::awaitable<http::Response> get_version(Impl& sim, http::Request&, const Params&) {
    co_return reply(200, json::object{{"local", sim.options.local}, {"version", sim.options.version}});
}

asio::awaitable<http::Response> check_version(Impl& sim, http::Request& req, const Params&) {
    auto body = body_object(req);
    if (str_of(body, "version") != sim.options.version)
        throw core::conflict("Client version " + str_of(body, "version") +
                             " is not the same as server version " + sim.options.version);
    co_return reply(200, json::object{{"local", sim.options.local}, {"version", sim.options.version}});
}

asio::awaitable<http::Response> list_computes(Impl& sim, http::Request&, const Params&) {
    co_return reply(200, json::array{compute_json(sim.options)});
}

asio::awaitable<http::Response> list_projects(Impl& sim, http::Request&, const Params&) {
    json::array out;
    for (const auto& [id, p] : sim.projects) out.push_back(project_json(*p));
    co_return reply(200, out);
}

asio::awaitable<http::Response> create_project(Impl& sim, http::Request& req, const Params&) {
    auto body = body_object(req);
    std::string name = str_of(body, "name");
    if (name.empty()) throw core::invalid("JSON schema error: 'name' is a required property");
    std::string id = str_of(body, "project_id");
    if (id.empty()) id = gns3::random_uuid();
    if (!gns3::is_uuid(id)) throw core::invalid(id + " is not a valid UUID");
    for (const auto& [pid, p] : sim.projects)
        if (p->name == name || pid == id) throw core::conflict("Project \"" + name + "\" already exists");
    auto p = std::make_shared<SimProject>();
    p->project_id = id;
    p->name = name;
    p->file = new_project_file(id, name);
    for (const auto& kv : body)
        if (kv.key() != "project_id" && kv.key() != "path") p->file[kv.key()] = kv.value();
    p->status = "opened";
    p->env = sim.env_of(id);
    sim.projects[id] = p;
    sim.save(*p);
    co_return reply(201, project_json(*p));
}

// POST /projects/{id}/import?name=: a portable project, closed.
asio::awaitable<http::Response> import_project(Impl& sim, http::Request& req, const Params& ps) {
    const std::string& id = param(ps, "project_id");
    if (!gns3::is_uuid(id)) throw core::invalid(id + " is not a valid UUID");
    if (sim.projects.count(id)) throw core::conflict("Project ID " + id + " already exists");
    auto p =
        std::make_shared<SimProject>(import_portable(req.body, id, req.query_param("name").value_or("")));
    p->name = sim.free_name(p->name);
    p->file["name"] = p->name;
    p->env = sim.env_of(id);
    sim.assign_consoles(*p);
    sim.projects[id] = p;
    sim.save(*p);
    co_return reply(201, project_json(*p));
}

// --- /v2/projects/{project_id}[/...] ---

asio::awaitable<http::Response> get_project(Impl& sim, http::Request&, const Params& ps) {
    co_return reply(200, project_json(*sim.get(param(ps, "project_id"))));
}

asio::awaitable<http::Response> delete_project(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    co_await sim.stop_all_and_remove(p, true);
    sim.release_consoles(*p);
    sim.projects.erase(p->project_id);
    sim.forget(p->project_id);
    co_return no_content();
}

asio::awaitable<http::Response> update_project(Impl& sim, http::Request& req, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    auto body = body_object(req);
    for (const auto& kv : body) {
        if (kv.key() == "name" && kv.value().is_string()) p->name = std::string(kv.value().get_string());
        if (kv.key() != "project_id" && kv.key() != "path") p->file[kv.key()] = kv.value();
    }
    sim.save(*p);
    co_return reply(200, project_json(*p));
}

asio::awaitable<http::Response> open_project(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    if (p->status != "opened") {
        co_await sim.sleep(sim.options.project_open_delay);
        p->status = "opened";
    }
    co_return reply(201, project_json(*p));
}

asio::awaitable<http::Response> close_project(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    co_await sim.stop_all_and_remove(p, false);
    p->runs.clear();
    p->status = "closed";
    co_return no_content();
}

asio::awaitable<http::Response> export_project(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    for (const auto& [nid, run] : p->runs)
        if (run.started) throw core::conflict("Project must be stopped in order to export it");
    http::Response r;
    r.status = 200;
    r.content_type = "application/gns3project";
    r.body = export_portable(*p);
    r.header("Content-Disposition", "attachment; filename=\"" + p->name + ".gns3project\"");
    co_return r;
}

// POST /projects/{id}/duplicate {"name"}: a copy with new ids, closed.
asio::awaitable<http::Response> duplicate_project(Impl& sim, http::Request& req, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    auto body = body_object(req);
    std::string name = str_of(body, "name");
    if (name.empty()) throw core::invalid("JSON schema error: 'name' is a required property");
    std::string new_id = gns3::random_uuid();
    auto copy = std::make_shared<SimProject>(copy_with_new_ids(*p, new_id, sim.free_name(name)));
    copy->env = sim.env_of(new_id);
    sim.assign_consoles(*copy);
    sim.projects[new_id] = copy;
    sim.save(*copy);
    co_return reply(201, project_json(*copy));
}

// GET .../files/{path...}: a file of the project folder (any depth); <name>.gns3 is the topology file.
asio::awaitable<http::Response> project_file(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    const std::string& path = param(ps, "path");
    if (path.find("..") != std::string::npos) throw core::forbidden("403: Forbidden");
    if (path == p->name + ".gns3")
        co_return http::text_response(200, json::serialize(p->file), "application/octet-stream");
    auto it = p->files.find(path);
    if (it == p->files.end()) throw core::not_found("404: Not Found");
    co_return http::text_response(200, it->second, "application/octet-stream");
}

asio::awaitable<http::Response> list_links(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    json::array out;
    if (p->status == "opened")
        for (const auto& l : p->links()) out.push_back(link_json(*p, l.as_object()));
    co_return reply(200, out);
}

// --- nodes ---

asio::awaitable<http::Response> list_nodes(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    json::array out;
    if (p->status == "opened")
        for (const auto& n : p->nodes())
            out.push_back(node_json(*p, n.as_object(), sim.options.console_host));
    co_return reply(200, out);
}

// POST .../nodes/{start|stop|reload}: every node of the project.
asio::awaitable<http::Response> all_nodes(Impl& sim, const Params& ps, std::string action) {
    auto p = sim.get(param(ps, "project_id"));
    auto ids = all_node_ids(*p);
    if (action != "start") co_await sim.stop(p, ids);
    if (action != "stop") co_await sim.start(p, ids);
    co_return no_content();
}

asio::awaitable<http::Response> get_node(Impl& sim, http::Request&, const Params& ps) {
    auto p = opened(sim, ps);
    const std::string& node_id = param(ps, "node_id");
    auto* node = p->node(node_id);
    if (!node) throw core::not_found("Node ID " + node_id + " doesn't exist");
    co_return reply(200, node_json(*p, *node, sim.options.console_host));
}

// POST .../nodes/{node_id}/{start|stop|reload}: one node.
asio::awaitable<http::Response> one_node(Impl& sim, const Params& ps, std::string action) {
    auto p = opened(sim, ps);
    const std::string& node_id = param(ps, "node_id");
    if (!p->node(node_id)) throw core::not_found("Node ID " + node_id + " doesn't exist");
    if (action != "start") co_await sim.stop(p, std::vector<std::string>(1, node_id));
    if (action != "stop") co_await sim.start(p, std::vector<std::string>(1, node_id));
    auto* node = p->node(node_id);
    if (!node) throw core::not_found("Node ID " + node_id + " doesn't exist");
    co_return reply(200, node_json(*p, *node, sim.options.console_host));
}

asio::awaitable<http::Response> node_links(Impl& sim, http::Request&, const Params& ps) {
    auto p = opened(sim, ps);
    const std::string& node_id = param(ps, "node_id");
    if (!p->node(node_id)) throw core::not_found("Node ID " + node_id + " doesn't exist");
    json::array out;
    for (const auto& l : p->links())
        for (const auto& e : l.at("nodes").as_array())
            if (str_of(e.as_object(), "node_id") == node_id) {
                out.push_back(link_json(*p, l.as_object()));
                break;
            }
    co_return reply(200, out);
}

// --- snapshots ---

json::object snapshot_json(const SimProject& p, const SimSnapshot& x) {
    return json::object{{"created_at", x.created_at},
                        {"name", x.name},
                        {"project_id", p.project_id},
                        {"snapshot_id", x.snapshot_id}};
}

asio::awaitable<http::Response> list_snapshots(Impl& sim, http::Request&, const Params& ps) {
    auto p = sim.get(param(ps, "project_id"));
    json::array out;
    for (const auto& x : p->snapshots) out.push_back(snapshot_json(*p, x));
    co_return reply(200, out);
}

asio::awaitable<http::Response> create_snapshot(Impl& sim, http::Request& req, const Params& ps) {
    auto p = opened(sim, ps);
    auto body = body_object(req);
    std::string name = str_of(body, "name");
    if (name.empty()) throw core::invalid("JSON schema error: 'name' is a required property");
    for (const auto& x : p->snapshots)
        if (x.name == name) throw core::conflict("The snapshot name " + name + " already exists");
    p->snapshots.push_back({gns3::random_uuid(), name, core::unix_now(), p->file, p->files});
    co_return reply(201, snapshot_json(*p, p->snapshots.back()));
}

std::vector<SimSnapshot>::iterator find_snapshot(SimProject& p, const Params& ps) {
    const std::string& id = param(ps, "snapshot_id");
    auto it = std::find_if(p.snapshots.begin(), p.snapshots.end(),
                           [&](const SimSnapshot& x) { return x.snapshot_id == id; });
    if (it == p.snapshots.end()) throw core::not_found("Snapshot ID " + id + " doesn't exist");
    return it;
}

asio::awaitable<http::Response> delete_snapshot(Impl& sim, http::Request&, const Params& ps) {
    auto p = opened(sim, ps);
    p->snapshots.erase(find_snapshot(*p, ps));
    co_return no_content();
}

// Restoring stops the nodes, replaces the topology and files, and reopens the project.
asio::awaitable<http::Response> restore_snapshot(Impl& sim, http::Request&, const Params& ps) {
    auto p = opened(sim, ps);
    SimSnapshot snap = *find_snapshot(*p, ps);
    co_await sim.stop_all_and_remove(p, true);
    sim.release_consoles(*p);
    p->file = snap.file;
    p->files = snap.files;
    p->file["name"] = p->name;
    p->runs.clear();
    sim.assign_consoles(*p);
    p->status = "opened";
    sim.save(*p);
    co_return reply(201, project_json(*p));
}

// The route table: gns3-server 2.2's controller routes the simulator serves, matched in this order.
using Handler = asio::awaitable<http::Response> (*)(Impl&, http::Request&, const Params&);
struct Route {
    http::Method method;
    const char* pattern;
    Handler handler;
};

template <const char* Action>
asio::awaitable<http::Response> all_nodes_action(Impl& sim, http::Request&, const Params& ps) {
    return all_nodes(sim, ps, Action);
}
template <const char* Action>
asio::awaitable<http::Response> one_node_action(Impl& sim, http::Request&, const Params& ps) {
    return one_node(sim, ps, Action);
}
constexpr char kStart[] = "start";
constexpr char kStop[] = "stop";
constexpr char kReload[] = "reload";

using M = http::Method;
const Route kRoutes[] = {
    {M::get, "/v2/version", get_version},
    {M::post, "/v2/version", check_version},
    {M::get, "/v2/computes", list_computes},
    {M::get, "/v2/projects", list_projects},
    {M::post, "/v2/projects", create_project},
    {M::post, "/v2/projects/{project_id}/import", import_project},
    {M::get, "/v2/projects/{project_id}", get_project},
    {M::del, "/v2/projects/{project_id}", delete_project},
    {M::put, "/v2/projects/{project_id}", update_project},
    {M::post, "/v2/projects/{project_id}/open", open_project},
    {M::post, "/v2/projects/{project_id}/close", close_project},
    {M::get, "/v2/projects/{project_id}/export", export_project},
    {M::post, "/v2/projects/{project_id}/duplicate", duplicate_project},
    {M::get, "/v2/projects/{project_id}/files/{path...}", project_file},
    {M::get, "/v2/projects/{project_id}/links", list_links},
    {M::get, "/v2/projects/{project_id}/nodes", list_nodes},
    {M::post, "/v2/projects/{project_id}/nodes/start", all_nodes_action<kStart>},
    {M::post, "/v2/projects/{project_id}/nodes/stop", all_nodes_action<kStop>},
    {M::post, "/v2/projects/{project_id}/nodes/reload", all_nodes_action<kReload>},
    {M::get, "/v2/projects/{project_id}/nodes/{node_id}", get_node},
    {M::post, "/v2/projects/{project_id}/nodes/{node_id}/start", one_node_action<kStart>},
    {M::post, "/v2/projects/{project_id}/nodes/{node_id}/stop", one_node_action<kStop>},
    {M::post, "/v2/projects/{project_id}/nodes/{node_id}/reload", one_node_action<kReload>},
    {M::get, "/v2/projects/{project_id}/nodes/{node_id}/links", node_links},
    {M::get, "/v2/projects/{project_id}/snapshots", list_snapshots},
    {M::post, "/v2/projects/{project_id}/snapshots", create_snapshot},
    {M::del, "/v2/projects/{project_id}/snapshots/{snapshot_id}", delete_snapshot},
    {M::post, "/v2/projects/{project_id}/snapshots/{snapshot_id}/restore", restore_snapshot},
};

const http::PathRouter& router() {
    static const http::PathRouter r = [] {
        http::PathRouter out;
        for (const auto& route : kRoutes) out.add(route.method, route.pattern);
        return out;
    }();
    return r;
}

// An unknown path is aiohttp's "404: Not Found"; a known path under another method its 405.
asio::awaitable<http::Response> route(Impl& sim, http::Request& req) {
    Params params;
    bool method_mismatch = false;
    auto index = router().match(req.method, req.path, params, method_mismatch);
    if (!index) {
        if (method_mismatch) co_return error_reply(405, "405: Method Not Allowed");
        throw core::not_found("404: Not Found");
    }
    co_return co_await kRoutes[*index].handler(sim, req, params);
}

}  // namespace

Simulator::Simulator(asio::any_io_executor executor, SimOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {
    impl_->load();
}

void Simulator::Impl::save(const SimProject& p) const {
    if (options.projects_dir.empty()) return;
    std::filesystem::create_directories(options.projects_dir);
    auto path = options.projects_dir / (p.project_id + ".gns3project");
    auto tmp = path;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << export_portable(p);
        if (!out) throw core::internal("cannot write " + tmp.string());
    }
    std::filesystem::rename(tmp, path);
}

void Simulator::Impl::forget(const std::string& project_id) const {
    if (options.projects_dir.empty()) return;
    std::error_code ec;
    std::filesystem::remove(options.projects_dir / (project_id + ".gns3project"), ec);
}

void Simulator::Impl::load() {
    if (options.projects_dir.empty() || !std::filesystem::is_directory(options.projects_dir)) return;
    for (const auto& entry : std::filesystem::directory_iterator(options.projects_dir)) {
        std::string id = entry.path().stem().string();
        if (entry.path().extension() != ".gns3project" || !gns3::is_uuid(id)) continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        auto p = std::make_shared<SimProject>(load_portable(bytes.str(), id));  // closed, as after a restart
        p->env = env_of(id);
        assign_consoles(*p);
        projects[id] = p;
    }
}

Simulator::~Simulator() = default;

asio::awaitable<http::Response> Simulator::handle(http::Request& req) {
    auto impl = impl_;
    if (!authorized(impl->options, req)) {
        http::Response r;
        r.status = 401;
        r.content_type = {};
        r.header("WWW-Authenticate", "Basic realm=\"GNS3 server\"");
        co_return r;
    }
    int status = 0;
    std::string message;
    try {
        co_return co_await route(*impl, req);
    } catch (const core::Error& e) {
        status = core::http_status(e.code());
        message = e.what();
    } catch (const std::exception& e) {
        status = 500;
        message = e.what();
    }
    co_return error_reply(status, message);
}

asio::awaitable<void> Simulator::shutdown() {
    auto impl = impl_;
    auto projects = impl->projects;
    for (auto& [id, p] : projects) {
        try {
            co_await impl->stop_all_and_remove(p, true);
        } catch (const std::exception&) {
        }
    }
}

asio::awaitable<void> Simulator::power_off() {
    auto impl = impl_;
    auto projects = impl->projects;
    for (auto& [id, p] : projects) {
        try {
            co_await impl->stop_all_and_remove(p, false);
        } catch (const std::exception&) {
        }
    }
}

}  // namespace np::gns3sim
