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

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        auto j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        if (j > i) out.push_back(path.substr(i, j - i));
        i = j + 1;
    }
    return out;
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

asio::awaitable<http::Response> node_routes(Impl& sim, http::Request& req, ProjectPtr p,
                                            const std::vector<std::string>& s) {
    // s: v2 projects {id} nodes [...]
    bool post = req.method == http::Method::post;
    if (s.size() == 4 && req.method == http::Method::get) {
        json::array out;
        if (p->status == "opened")
            for (const auto& n : p->nodes())
                out.push_back(node_json(*p, n.as_object(), sim.options.console_host));
        co_return reply(200, out);
    }
    if (s.size() == 5 && post && (s[4] == "start" || s[4] == "stop" || s[4] == "reload")) {
        auto ids = all_node_ids(*p);
        if (s[4] != "start") co_await sim.stop(p, ids);
        if (s[4] != "stop") co_await sim.start(p, ids);
        co_return no_content();
    }
    if (p->status != "opened") throw core::forbidden("The project is not opened");
    const std::string& node_id = s[4];
    auto* node = p->node(node_id);
    if (!node) throw core::not_found("Node ID " + node_id + " doesn't exist");
    if (s.size() == 5 && req.method == http::Method::get)
        co_return reply(200, node_json(*p, *node, sim.options.console_host));
    if (s.size() == 6 && post && (s[5] == "start" || s[5] == "stop" || s[5] == "reload")) {
        if (s[5] != "start") co_await sim.stop(p, std::vector<std::string>(1, node_id));
        if (s[5] != "stop") co_await sim.start(p, std::vector<std::string>(1, node_id));
        node = p->node(node_id);
        if (!node) throw core::not_found("Node ID " + node_id + " doesn't exist");
        co_return reply(200, node_json(*p, *node, sim.options.console_host));
    }
    if (s.size() == 6 && req.method == http::Method::get && s[5] == "links") {
        json::array out;
        for (const auto& l : p->links())
            for (const auto& e : l.at("nodes").as_array())
                if (str_of(e.as_object(), "node_id") == node_id) {
                    out.push_back(link_json(*p, l.as_object()));
                    break;
                }
        co_return reply(200, out);
    }
    throw core::not_found("404: Not Found");
}

asio::awaitable<http::Response> snapshot_routes(Impl& sim, http::Request& req, ProjectPtr p,
                                                const std::vector<std::string>& s) {
    auto snap_json = [&](const SimSnapshot& x) {
        return json::object{{"created_at", x.created_at},
                            {"name", x.name},
                            {"project_id", p->project_id},
                            {"snapshot_id", x.snapshot_id}};
    };
    if (s.size() == 4 && req.method == http::Method::get) {
        json::array out;
        for (const auto& x : p->snapshots) out.push_back(snap_json(x));
        co_return reply(200, out);
    }
    if (p->status != "opened") throw core::forbidden("The project is not opened");
    if (s.size() == 4 && req.method == http::Method::post) {
        auto body = body_object(req);
        std::string name = str_of(body, "name");
        if (name.empty()) throw core::invalid("JSON schema error: 'name' is a required property");
        for (const auto& x : p->snapshots)
            if (x.name == name) throw core::conflict("The snapshot name " + name + " already exists");
        p->snapshots.push_back({gns3::random_uuid(), name, core::unix_now(), p->file, p->files});
        co_return reply(201, snap_json(p->snapshots.back()));
    }
    auto it = std::find_if(p->snapshots.begin(), p->snapshots.end(),
                           [&](const SimSnapshot& x) { return s.size() > 4 && x.snapshot_id == s[4]; });
    if (it == p->snapshots.end())
        throw core::not_found("Snapshot ID " + (s.size() > 4 ? s[4] : "") + " doesn't exist");
    if (s.size() == 5 && req.method == http::Method::del) {
        p->snapshots.erase(it);
        co_return no_content();
    }
    if (s.size() == 6 && s[5] == "restore" && req.method == http::Method::post) {
        // Restoring stops the nodes, replaces the topology and files, and reopens the project.
        SimSnapshot snap = *it;
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
    throw core::not_found("404: Not Found");
}

// POST /projects/{id}/import?name=: a portable project, closed.
http::Response import_route(Impl& sim, http::Request& req, const std::string& id) {
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
    return reply(201, project_json(*p));
}

// POST /projects/{id}/duplicate {"name"}: a copy with new ids, closed.
http::Response duplicate_route(Impl& sim, http::Request& req, const ProjectPtr& p) {
    auto body = body_object(req);
    std::string name = str_of(body, "name");
    if (name.empty()) throw core::invalid("JSON schema error: 'name' is a required property");
    std::string new_id = gns3::random_uuid();
    auto copy = std::make_shared<SimProject>(copy_with_new_ids(*p, new_id, sim.free_name(name)));
    copy->env = sim.env_of(new_id);
    sim.assign_consoles(*copy);
    sim.projects[new_id] = copy;
    sim.save(*copy);
    return reply(201, project_json(*copy));
}

asio::awaitable<http::Response> project_routes(Impl& sim, http::Request& req,
                                               const std::vector<std::string>& s) {
    const std::string& id = s[2];
    auto method = req.method;
    if (s.size() == 4 && s[3] == "import" && method == http::Method::post)
        co_return import_route(sim, req, id);
    auto p = sim.get(id);
    if (s.size() == 3) {
        if (method == http::Method::get) co_return reply(200, project_json(*p));
        if (method == http::Method::del) {
            co_await sim.stop_all_and_remove(p, true);
            sim.release_consoles(*p);
            sim.projects.erase(id);
            sim.forget(id);
            co_return no_content();
        }
        if (method == http::Method::put) {
            auto body = body_object(req);
            for (const auto& kv : body) {
                if (kv.key() == "name" && kv.value().is_string())
                    p->name = std::string(kv.value().get_string());
                if (kv.key() != "project_id" && kv.key() != "path") p->file[kv.key()] = kv.value();
            }
            sim.save(*p);
            co_return reply(200, project_json(*p));
        }
    }
    if (s.size() == 4 && method == http::Method::post && s[3] == "open") {
        if (p->status != "opened") {
            co_await sim.sleep(sim.options.project_open_delay);
            p->status = "opened";
        }
        co_return reply(201, project_json(*p));
    }
    if (s.size() == 4 && method == http::Method::post && s[3] == "close") {
        co_await sim.stop_all_and_remove(p, false);
        p->runs.clear();
        p->status = "closed";
        co_return no_content();
    }
    if (s.size() == 4 && method == http::Method::get && s[3] == "export") {
        for (const auto& [nid, run] : p->runs)
            if (run.started) throw core::conflict("Project must be stopped in order to export it");
        http::Response r;
        r.status = 200;
        r.content_type = "application/gns3project";
        r.body = export_portable(*p);
        r.header("Content-Disposition", "attachment; filename=\"" + p->name + ".gns3project\"");
        co_return r;
    }
    if (s.size() == 4 && method == http::Method::post && s[3] == "duplicate")
        co_return duplicate_route(sim, req, p);
    if (s.size() >= 4 && s[3] == "nodes") co_return co_await node_routes(sim, req, p, s);
    if (s.size() >= 4 && s[3] == "snapshots") co_return co_await snapshot_routes(sim, req, p, s);
    if (s.size() >= 5 && s[3] == "files" && method == http::Method::get) {
        // GET .../files/<path>: a file of the project folder; <name>.gns3 is the topology file.
        std::string path;
        for (std::size_t i = 4; i < s.size(); ++i) path += (path.empty() ? "" : "/") + s[i];
        if (path.find("..") != std::string::npos) throw core::forbidden("403: Forbidden");
        if (path == p->name + ".gns3")
            co_return http::text_response(200, json::serialize(p->file), "application/octet-stream");
        auto it = p->files.find(path);
        if (it == p->files.end()) throw core::not_found("404: Not Found");
        co_return http::text_response(200, it->second, "application/octet-stream");
    }
    if (s.size() == 4 && s[3] == "links" && method == http::Method::get) {
        json::array out;
        if (p->status == "opened")
            for (const auto& l : p->links()) out.push_back(link_json(*p, l.as_object()));
        co_return reply(200, out);
    }
    throw core::not_found("404: Not Found");
}

asio::awaitable<http::Response> route(Impl& sim, http::Request& req) {
    auto s = split_path(req.path);
    if (s.empty() || s[0] != "v2") throw core::not_found("404: Not Found");
    auto method = req.method;
    if (s.size() == 2 && s[1] == "version") {
        if (method == http::Method::get)
            co_return reply(200,
                            json::object{{"local", sim.options.local}, {"version", sim.options.version}});
        if (method == http::Method::post) {
            auto body = body_object(req);
            if (str_of(body, "version") != sim.options.version)
                throw core::conflict("Client version " + str_of(body, "version") +
                                     " is not the same as server version " + sim.options.version);
            co_return reply(200,
                            json::object{{"local", sim.options.local}, {"version", sim.options.version}});
        }
    }
    if (s.size() == 2 && s[1] == "computes" && method == http::Method::get)
        co_return reply(200, json::array{compute_json(sim.options)});
    if (s.size() == 2 && s[1] == "projects") {
        if (method == http::Method::get) {
            json::array out;
            for (const auto& [id, p] : sim.projects) out.push_back(project_json(*p));
            co_return reply(200, out);
        }
        if (method == http::Method::post) {
            auto body = body_object(req);
            std::string name = str_of(body, "name");
            if (name.empty()) throw core::invalid("JSON schema error: 'name' is a required property");
            std::string id = str_of(body, "project_id");
            if (id.empty()) id = gns3::random_uuid();
            if (!gns3::is_uuid(id)) throw core::invalid(id + " is not a valid UUID");
            for (const auto& [pid, p] : sim.projects)
                if (p->name == name || pid == id)
                    throw core::conflict("Project \"" + name + "\" already exists");
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
    }
    if (s.size() >= 3 && s[1] == "projects") co_return co_await project_routes(sim, req, s);
    throw core::not_found("404: Not Found");
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
