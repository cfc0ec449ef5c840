#include "gns3/client.hpp"

#include <openssl/evp.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "core/ids.hpp"
#include "core/log.hpp"

namespace np::gns3 {

namespace asio = boost::asio;
namespace json = boost::json;

ApiError api_error(int status, std::string_view reason, std::string_view body, std::string_view what) {
    std::string message;
    json::error_code ec;
    auto parsed = json::parse(body, ec);
    if (!ec && parsed.is_object())
        if (const auto* m = parsed.get_object().if_contains("message"); m && m->is_string())
            message = std::string(m->get_string());
    if (message.empty() && status == 401) message = "wrong or missing user and password (server auth is on)";
    if (message.empty()) message = std::string(reason);
    if (message.empty()) message = "HTTP " + std::to_string(status);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    std::string text = "GNS3 " + std::string(what) + ": " + std::to_string(status) + " " + message;
    core::Code code = core::Code::upstream;
    bool retryable = false;
    switch (status) {
        case 400: code = core::Code::invalid; break;
        case 401: code = core::Code::unauthenticated; break;
        case 403: code = core::Code::forbidden; break;
        case 404: code = core::Code::not_found; break;
        case 409: code = core::Code::conflict; break;
        case 408:
        case 502:
        case 503:
        case 504: retryable = true; break;
        default: break;
    }
    return ApiError(code, std::move(text), retryable, status, std::move(message));
}

std::string random_uuid() {
    std::string h = core::random_hex(16);
    h[12] = '4';                                                  // version 4
    h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];  // RFC 4122 variant
    return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
           h.substr(20);
}

namespace {

std::string base64(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string escape(std::string_view text) {
    return boost::urls::encode(text, boost::urls::unreserved_chars);
}

std::string uuid_path(std::string_view kind, const std::string& id) {
    // Ids go into the path: refuse anything else before the server's 404 hides a typo.
    if (!is_uuid(id)) throw core::invalid(std::string(kind) + " id '" + id + "' is not a UUID");
    return id;
}

std::string project_path(const std::string& id) {
    return "/projects/" + uuid_path("project", id);
}

std::string node_path(const std::string& project_id, const std::string& node_id) {
    return project_path(project_id) + "/nodes/" + uuid_path("node", node_id);
}

}  // namespace

struct Client::Shared {
    ClientOptions options;
    net::Random& random;
    net::HttpClient http;
    std::string authorization;
    asio::any_io_executor executor;

    static net::Url url_of(const std::string& text) {
        auto url = net::parse_url(text);
        if (url.base_path.empty()) url.base_path = "/v2";
        return url;
    }
    Shared(asio::any_io_executor ex, ClientOptions o, net::Random& r)
        : options(std::move(o)),
          random(r),
          http(ex, url_of(options.url),
               net::ClientOptions{options.tls, std::chrono::milliseconds(10'000), options.request_timeout, 16,
                                  std::chrono::milliseconds(30'000), "netpraxis/0.1"}),
          executor(ex) {
        if (!options.user.empty()) authorization = "Basic " + base64(options.user + ":" + options.password);
    }
};

Client::Client(asio::any_io_executor executor, ClientOptions options, net::Random& random)
    : shared_(std::make_shared<Shared>(executor, std::move(options), random)) {}

const std::string& Client::host() const {
    return shared_->http.url().host;
}

const net::ClientStats& Client::http_stats() const {
    return shared_->http.stats();
}

asio::awaitable<std::string> Client::call(std::string method, std::string path, std::string body,
                                          std::string what, bool idempotent,
                                          std::chrono::milliseconds timeout) {
    auto shared = shared_;
    if (what.empty()) what = method + " " + path;
    for (int attempt = 0;; ++attempt) {
        net::HttpRequest req;
        req.method = method;
        req.target = path;
        req.body = body;
        req.idempotent = idempotent;
        if (!body.empty() || method == "POST" || method == "PUT") req.content_type = "application/json";
        if (!shared->authorization.empty()) req.headers.emplace_back("Authorization", shared->authorization);
        bool last = attempt + 1 >= shared->options.retry.max_attempts;
        bool retry = false;
        net::HttpResponse res;
        try {
            res = co_await shared->http.send(std::move(req), timeout);
        } catch (const core::Error& e) {
            if (!e.retryable() || !idempotent || last)
                throw core::Error(e.code(), "GNS3 " + what + ": " + e.what(), e.retryable());
            retry = true;
        }
        if (!retry) {
            if (res.status / 100 == 2) co_return std::move(res.body);
            auto err = api_error(res.status, res.reason, res.body, what);
            if (!err.retryable() || !idempotent || last) throw err;
        }
        log::debug("gns3.retry", {{"call", what}, {"attempt", attempt + 1}});
        asio::steady_timer t(shared->executor,
                             net::backoff_delay(shared->options.retry, attempt, shared->random));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

namespace {
// Not coroutines: they only fill in Client::call's arguments (no defaulted class-type temporaries in a
// co_await expression, see client.hpp).
asio::awaitable<std::string> get(Client& c, std::string path) {
    std::string what = "GET " + path;
    return c.call("GET", std::move(path), std::string(), std::move(what), true, std::chrono::milliseconds(0));
}
asio::awaitable<std::string> send(Client& c, std::string method, std::string path, std::string body,
                                  std::string what, bool idempotent = true,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0)) {
    return c.call(std::move(method), std::move(path), std::move(body), std::move(what), idempotent, timeout);
}
}  // namespace

asio::awaitable<Version> Client::version() {
    co_return parse_version(co_await get(*this, "/version"));
}

asio::awaitable<std::vector<Compute>> Client::computes() {
    co_return parse_computes(co_await get(*this, "/computes"));
}

asio::awaitable<std::vector<Project>> Client::projects() {
    co_return parse_projects(co_await get(*this, "/projects"));
}

asio::awaitable<Project> Client::project(std::string id) {
    co_return parse_project(co_await get(*this, project_path(id)));
}

asio::awaitable<Project> Client::find_project(std::string name_or_id) {
    auto all = co_await projects();
    std::vector<Project> named;
    for (auto& p : all) {
        if (p.project_id == name_or_id) co_return p;
        if (p.name == name_or_id) named.push_back(p);
    }
    if (named.size() == 1) co_return named.front();
    if (named.empty()) throw core::not_found("GNS3: no project named or with id '" + name_or_id + "'");
    throw core::conflict("GNS3: " + std::to_string(named.size()) + " projects are named '" + name_or_id +
                         "'; give its project_id");
}

asio::awaitable<Project> Client::create_project(std::string name, std::string project_id) {
    json::object body{{"name", name}, {"auto_close", false}};
    if (!project_id.empty()) body["project_id"] = uuid_path("project", project_id);
    co_return parse_project(
        co_await send(*this, "POST", "/projects", json::serialize(body), "create project " + name, false));
}

asio::awaitable<Project> Client::import_project(std::string zip, std::string name, std::string project_id) {
    if (project_id.empty()) project_id = random_uuid();
    auto path = project_path(project_id) + "/import" + (name.empty() ? "" : "?name=" + escape(name));
    auto reply = co_await send(*this, "POST", path, std::move(zip), "import project " + name, false,
                               shared_->options.transfer_timeout);
    co_return parse_project(reply);
}

asio::awaitable<Project> Client::open_project(std::string id) {
    co_return parse_project(
        co_await send(*this, "POST", project_path(id) + "/open", "{}", "open project " + id));
}

asio::awaitable<void> Client::close_project(std::string id) {
    co_await send(*this, "POST", project_path(id) + "/close", "{}", "close project " + id);
}

asio::awaitable<void> Client::delete_project(std::string id) {
    co_await send(*this, "DELETE", project_path(id), {}, "delete project " + id);
}

asio::awaitable<std::string> Client::export_project(std::string id, ExportOptions o) {
    auto yn = [](bool b) { return b ? "yes" : "no"; };
    auto path = project_path(id) + "/export?include_images=" + yn(o.include_images) +
                "&include_snapshots=" + yn(o.include_snapshots) +
                "&reset_mac_addresses=" + yn(o.reset_mac_addresses) +
                "&keep_compute_ids=" + yn(o.keep_compute_ids) + "&compression=" + escape(o.compression);
    co_return co_await send(*this, "GET", path, {}, "export project " + id, true,
                            shared_->options.transfer_timeout);
}

asio::awaitable<Project> Client::duplicate_project(std::string id, std::string name, bool reset_mac) {
    json::object body{{"name", name}, {"reset_mac_addresses", reset_mac}};
    co_return parse_project(co_await send(*this, "POST", project_path(id) + "/duplicate",
                                          json::serialize(body), "duplicate project " + id, false,
                                          shared_->options.transfer_timeout));
}

asio::awaitable<std::vector<Snapshot>> Client::snapshots(std::string id) {
    co_return parse_snapshots(co_await get(*this, project_path(id) + "/snapshots"));
}

asio::awaitable<Snapshot> Client::create_snapshot(std::string id, std::string name) {
    json::object body{{"name", name}};
    co_return parse_snapshot(co_await send(*this, "POST", project_path(id) + "/snapshots",
                                           json::serialize(body), "snapshot project " + id, false));
}

asio::awaitable<Project> Client::restore_snapshot(std::string id, std::string snapshot_id) {
    auto path = project_path(id) + "/snapshots/" + uuid_path("snapshot", snapshot_id) + "/restore";
    co_return parse_project(
        co_await send(*this, "POST", path, "{}", "restore snapshot " + snapshot_id, false));
}

asio::awaitable<std::vector<Node>> Client::nodes(std::string id) {
    co_return parse_nodes(co_await get(*this, project_path(id) + "/nodes"));
}

asio::awaitable<Node> Client::node(std::string id, std::string node_id) {
    co_return parse_node(co_await get(*this, node_path(id, node_id)));
}

asio::awaitable<void> Client::start_nodes(std::string id) {
    co_await send(*this, "POST", project_path(id) + "/nodes/start", "{}", "start nodes of project " + id);
}
asio::awaitable<void> Client::stop_nodes(std::string id) {
    co_await send(*this, "POST", project_path(id) + "/nodes/stop", "{}", "stop nodes of project " + id);
}
asio::awaitable<void> Client::reload_nodes(std::string id) {
    co_await send(*this, "POST", project_path(id) + "/nodes/reload", "{}", "reload nodes of project " + id);
}

asio::awaitable<Node> Client::start_node(std::string id, std::string node_id) {
    co_return parse_node(
        co_await send(*this, "POST", node_path(id, node_id) + "/start", "{}", "start node " + node_id));
}
asio::awaitable<Node> Client::stop_node(std::string id, std::string node_id) {
    co_return parse_node(
        co_await send(*this, "POST", node_path(id, node_id) + "/stop", "{}", "stop node " + node_id));
}
asio::awaitable<Node> Client::reload_node(std::string id, std::string node_id) {
    co_return parse_node(
        co_await send(*this, "POST", node_path(id, node_id) + "/reload", "{}", "reload node " + node_id));
}

asio::awaitable<std::vector<Link>> Client::links(std::string id) {
    co_return parse_links(co_await get(*this, project_path(id) + "/links"));
}

}  // namespace np::gns3

namespace np::gns3 {

asio::awaitable<std::string> Client::project_file(std::string id, std::string path) {
    std::string target = project_path(id) + "/files";
    std::size_t i = 0;
    while (i <= path.size()) {  // each segment escaped, the slashes kept
        auto j = std::min(path.find('/', i), path.size());
        target += "/" + escape(std::string_view(path).substr(i, j - i));
        i = j + 1;
    }
    co_return co_await get(*this, target);
}

}  // namespace np::gns3
