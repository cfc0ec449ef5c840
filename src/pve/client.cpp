#include "pve/client.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "core/log.hpp"

namespace np::pve {

namespace asio = boost::asio;
namespace json = boost::json;

std::string url_escape(std::string_view text) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::string form_encode(const Params& params) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty()) out.push_back('&');
        for (const std::string* s : {&k, &v}) {
            for (unsigned char c : *s) {
                if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
                    out.push_back(static_cast<char>(c));
                } else {
                    out.push_back('%');
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                }
            }
            if (s == &k) out.push_back('=');
        }
    }
    return out;
}

bool is_lock_timeout(std::string_view m) {
    return (m.find("can't lock file") != std::string_view::npos &&
            m.find("got timeout") != std::string_view::npos) ||
           m.find("got lock request timeout") != std::string_view::npos ||
           (m.find(" is locked (") != std::string_view::npos);
}

bool is_vmid_collision(std::string_view m) {
    return m.find("config file already exists") != std::string_view::npos ||
           m.find("already exists on node") != std::string_view::npos;
}

// PUT .../config with a `digest` that is no longer the config's (qemu-server's update_vm_api).
bool is_checksum_mismatch(std::string_view m) {
    return m.find("checksum mismatch") != std::string_view::npos ||
           m.find("detected modified configuration") != std::string_view::npos;
}

bool is_not_found(std::string_view m) {
    return m.find("does not exist") != std::string_view::npos ||
           m.find("no such VM") != std::string_view::npos;
}

ApiError api_error(int status, std::string_view reason, std::string_view body, std::string_view what) {
    // Newer pveproxy puts the full text in "message"; older ones only in the status line (API.md §3).
    std::string message;
    std::vector<core::FieldError> fields;
    json::error_code ec;
    auto parsed = json::parse(body, ec);
    if (!ec && parsed.is_object()) {
        const auto& o = parsed.get_object();
        if (auto m = o.find("message"); m != o.end() && m->value().is_string())
            message = m->value().get_string();
        if (auto e = o.find("errors"); e != o.end() && e->value().is_object()) {
            for (const auto& kv : e->value().get_object())
                fields.push_back({std::string(kv.key()), kv.value().is_string()
                                                             ? std::string(kv.value().get_string())
                                                             : json::serialize(kv.value())});
        }
    }
    if (message.empty()) message = std::string(reason);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    std::string text = "Proxmox " + std::string(what) + ": " + std::to_string(status) + " " + message;
    for (const auto& f : fields) text += "; " + f.path + ": " + f.message;

    core::Code code = core::Code::upstream;
    bool retryable = false;
    if (status == 400) {
        code = core::Code::invalid;
    } else if (status == 401) {
        code = core::Code::unauthenticated;
    } else if (status == 403) {
        code = core::Code::forbidden;
    } else if (status == 500) {
        if (is_lock_timeout(message) || message.find("no quorum") != std::string::npos) {
            retryable = true;
        } else if (is_vmid_collision(message) || is_checksum_mismatch(message)) {
            code = core::Code::conflict;
        } else if (is_not_found(message)) {
            code = core::Code::not_found;
        }
    } else if (status == 501) {
        code = core::Code::upstream;
    } else if (status >= 500) {
        // 502-504 and pveproxy's proxy pseudo-statuses 595/596/599: transient (API.md §3).
        retryable = true;
    }
    return ApiError(code, std::move(text), retryable, status, message, std::move(fields));
}

struct TicketEntry {
    std::string ticket, csrf, secret;
    std::chrono::steady_clock::time_point obtained{};
    bool valid = false;
    bool in_progress = false;
    std::vector<std::shared_ptr<asio::steady_timer>> waiters;
};

struct Client::Shared {
    asio::any_io_executor executor;
    ClientOptions options;
    const core::Clock& clock;
    net::Random& random;
    net::HttpClient http;
    std::map<std::string, TicketEntry> tickets;
    std::map<std::string, std::unique_ptr<net::Limiter>> limiters;
    ClientStats stats;

    static net::Url url_of(const std::string& text) {
        auto url = net::parse_url(text);
        if (url.base_path.empty()) url.base_path = "/api2/json";
        return url;
    }

    Shared(asio::any_io_executor ex, ClientOptions o, const core::Clock& c, net::Random& r)
        : executor(ex),
          options(std::move(o)),
          clock(c),
          random(r),
          http(ex, url_of(options.url),
               net::ClientOptions{options.tls, std::chrono::milliseconds(10'000), options.request_timeout,
                                  256, std::chrono::milliseconds(30'000), "netpraxis/0.1"}) {}
};

Client::Client(asio::any_io_executor executor, ClientOptions options, const core::Clock& clock,
               net::Random& random)
    : shared_(std::make_shared<Shared>(executor, options, clock, random)),
      credentials_(options.credentials) {}

Client::Client(std::shared_ptr<Shared> shared, Credentials credentials)
    : shared_(std::move(shared)), credentials_(std::move(credentials)) {}

Client Client::as_user(std::string user, std::string password) const {
    Credentials c;
    c.user = std::move(user);
    c.password = std::move(password);
    return Client(shared_, std::move(c));
}

const ClientStats& Client::stats() const {
    return shared_->stats;
}
const net::ClientStats& Client::http_stats() const {
    return shared_->http.stats();
}
const net::BackoffPolicy& Client::retry_policy() const {
    return shared_->options.retry;
}
net::Random& Client::random() const {
    return shared_->random;
}
const core::Clock& Client::clock() const {
    return shared_->clock;
}
asio::any_io_executor Client::executor() const {
    return shared_->executor;
}

asio::awaitable<void> Client::sleep(std::chrono::milliseconds d) const {
    asio::steady_timer t(shared_->executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

net::Limiter& Client::limiter(const std::string& key, bool storage) {
    auto full = (storage ? "storage:" : "node:") + key;
    auto& slot = shared_->limiters[full];
    if (!slot)
        slot = std::make_unique<net::Limiter>(
            shared_->executor, full, storage ? shared_->options.storage_limits : shared_->options.node_limits,
            shared_->clock);
    return *slot;
}

std::vector<std::pair<std::string, std::size_t>> Client::limiter_peaks() const {
    std::vector<std::pair<std::string, std::size_t>> out;
    for (const auto& [k, l] : shared_->limiters) out.emplace_back(k, l->peak_in_flight());
    return out;
}

asio::awaitable<std::pair<std::string, std::string>> Client::request_ticket(std::string user,
                                                                            std::string secret) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/access/ticket";
    req.content_type = "application/x-www-form-urlencoded";
    req.body = form_encode(Params{{"username", user}, {"password", secret}});
    req.idempotent = true;  // a login changes nothing
    net::HttpResponse res;
    for (int attempt = 0;; ++attempt) {
        bool failed = false;
        try {
            res = co_await shared_->http.send(req);
        } catch (const core::Error& e) {
            if (!e.retryable() || attempt + 1 >= shared_->options.retry.max_attempts) throw;
            failed = true;
        }
        if (failed) {
            ++shared_->stats.retries;
            co_await sleep(net::backoff_delay(shared_->options.retry, attempt, shared_->random));
            continue;
        }
        if (res.status >= 500 && res.status != 501 && attempt + 1 < shared_->options.retry.max_attempts) {
            ++shared_->stats.retries;
            co_await sleep(net::backoff_delay(shared_->options.retry, attempt, shared_->random));
            continue;
        }
        break;
    }
    if (res.status / 100 != 2) throw api_error(res.status, res.reason, res.body, "login as " + user);
    json::error_code ec;
    auto v = json::parse(res.body, ec);
    if (ec || !v.is_object() || !v.get_object().contains("data") || !v.at("data").is_object())
        throw core::upstream("Proxmox login as " + user + ": unexpected reply (no data object)");
    const auto& d = v.at("data").get_object();
    auto t = d.find("ticket");
    auto c = d.find("CSRFPreventionToken");
    if (d.contains("NeedTFA"))
        throw core::unauthenticated("Proxmox login as " + user +
                                    " needs a second factor, which netpraxis does not do");
    if (t == d.end() || !t->value().is_string() || c == d.end() || !c->value().is_string())
        throw core::upstream("Proxmox login as " + user + ": unexpected reply (no ticket or CSRF token)");
    ++shared_->stats.logins;
    co_return std::pair{std::string(t->value().get_string()), std::string(c->value().get_string())};
}

asio::awaitable<void> Client::ensure_ticket(bool force) {
    auto& entry = shared_->tickets[credentials_.user];
    for (;;) {
        auto now = shared_->clock.now();
        if (!force && entry.valid && now - entry.obtained < shared_->options.ticket_renew_after) co_return;
        if (!entry.in_progress) break;
        // Another call is logging this user in: wait for it instead of logging in twice.
        auto t =
            std::make_shared<asio::steady_timer>(shared_->executor, asio::steady_timer::time_point::max());
        entry.waiters.push_back(t);
        co_await t->async_wait(asio::as_tuple(asio::use_awaitable));
        if (entry.valid) co_return;
        force = false;
    }
    entry.in_progress = true;
    bool renew = entry.valid && shared_->clock.now() - entry.obtained < std::chrono::seconds(7000);
    try {
        // Renewal: a still-valid ticket is accepted as the password (API.md §2.1).
        std::pair<std::string, std::string> got;
        if (renew) {
            bool refused = false;
            try {
                got = co_await request_ticket(credentials_.user, entry.ticket);
                ++shared_->stats.renewals;
            } catch (const core::Error& e) {
                if (e.code() != core::Code::unauthenticated) throw;
                refused = true;
            }
            if (refused) got = co_await request_ticket(credentials_.user, credentials_.password);
        } else {
            got = co_await request_ticket(credentials_.user, credentials_.password);
        }
        entry.ticket = std::move(got.first);
        entry.csrf = std::move(got.second);
        entry.obtained = shared_->clock.now();
        entry.valid = true;
        log::debug("pve.ticket", {{"user", credentials_.user}, {"renewed", renew ? 1 : 0}});
    } catch (...) {
        entry.valid = false;
        entry.in_progress = false;
        for (auto& w : entry.waiters) w->cancel();
        entry.waiters.clear();
        throw;
    }
    entry.in_progress = false;
    for (auto& w : entry.waiters) w->cancel();
    entry.waiters.clear();
}

asio::awaitable<void> Client::login() {
    if (credentials_.uses_token()) co_return;
    co_await ensure_ticket(true);
}

asio::awaitable<bool> Client::check_login(std::string user, std::string password) {
    try {
        auto got = co_await request_ticket(user, password);
        auto& entry = shared_->tickets[user];
        entry.ticket = std::move(got.first);
        entry.csrf = std::move(got.second);
        entry.obtained = shared_->clock.now();
        entry.valid = true;
        co_return true;
    } catch (const ApiError& e) {
        if (e.status() == 401) co_return false;
        throw;
    }
}

asio::awaitable<json::value> Client::call(std::string method, std::string path, Params params,
                                          CallOptions options) {
    auto shared = shared_;
    auto what = method + " " + path;
    ++shared->stats.calls;
    bool relogged = false;
    for (int attempt = 0;; ++attempt) {
        net::HttpRequest req;
        req.method = method;
        req.idempotent = options.idempotent;
        if (method == "GET" || method == "DELETE") {
            req.target = path + (params.empty() ? "" : "?" + form_encode(params));
        } else {
            req.target = path;
            req.content_type = "application/x-www-form-urlencoded";
            req.body = form_encode(params);
        }
        if (credentials_.uses_token()) {
            req.headers.emplace_back(
                "Authorization", "PVEAPIToken=" + credentials_.token_id + "=" + credentials_.token_secret);
        } else {
            co_await ensure_ticket(false);
            const auto& entry = shared->tickets[credentials_.user];
            req.headers.emplace_back("Cookie", "PVEAuthCookie=" + url_escape(entry.ticket));
            if (method != "GET") req.headers.emplace_back("CSRFPreventionToken", entry.csrf);
        }
        bool last = attempt + 1 >= shared->options.retry.max_attempts;
        net::HttpResponse res;
        bool transport_failed = false;
        try {
            res = co_await shared->http.send(std::move(req), options.timeout);
        } catch (const core::Error& e) {
            if (!e.retryable()) throw;
            if (!options.idempotent) throw OutcomeUnknown("Proxmox " + what + ": " + e.what());
            if (last) throw;
            log::debug("pve.retry", {{"call", what}, {"attempt", attempt + 1}, {"error", e.what()}});
            transport_failed = true;
        }
        if (transport_failed) {
            ++shared->stats.retries;
            co_await sleep(net::backoff_delay(shared->options.retry, attempt, shared->random));
            continue;
        }
        if (res.status / 100 == 2) {
            json::error_code ec;
            auto v = json::parse(res.body, ec);
            if (ec) throw core::upstream("Proxmox " + what + ": reply is not JSON (" + ec.message() + ")");
            if (!v.is_object() || !v.get_object().contains("data"))
                throw core::upstream("Proxmox " + what + ": reply has no 'data' member");
            co_return std::move(v.get_object()["data"]);
        }
        auto err = api_error(res.status, res.reason, res.body, what);
        if (res.status == 401 && !credentials_.uses_token() && !relogged) {
            // The ticket expired or the server restarted: log in again once.
            relogged = true;
            shared->tickets[credentials_.user].valid = false;
            --attempt;
            continue;
        }
        if (!err.retryable() || last) throw err;
        if (!options.idempotent && !(res.status == 500 && is_lock_timeout(err.pve_message()))) {
            // A 5xx from a proxy hop may still have reached the node: let the caller look first.
            if (res.status == 596 || res.status == 599) throw OutcomeUnknown(err.what());
            // 502/503/595: the request never reached a handler.
        }
        ++shared->stats.retries;
        log::debug("pve.retry", {{"call", what}, {"attempt", attempt + 1}, {"error", err.what()}});
        co_await sleep(net::backoff_delay(shared->options.retry, attempt, shared->random));
    }
}

namespace {
std::string node_path(const std::string& node) {
    return "/nodes/" + node;
}
std::string guest_path(GuestKind kind, const std::string& node, int vmid) {
    return "/nodes/" + node + "/" + std::string(kind_path(kind)) + "/" + std::to_string(vmid);
}
}  // namespace

asio::awaitable<VersionInfo> Client::version() {
    auto reply = co_await call("GET", "/version");
    co_return parse_version(reply, std::string("GET /version"));
}

asio::awaitable<std::vector<NodeInfo>> Client::nodes() {
    auto reply = co_await call("GET", "/nodes");
    co_return parse_nodes(reply, std::string("GET /nodes"));
}

asio::awaitable<std::vector<Resource>> Client::cluster_resources(std::string type) {
    Params p;
    if (!type.empty()) p.emplace_back("type", type);
    auto reply = co_await call("GET", "/cluster/resources", p);
    co_return parse_resources(reply, std::string("GET /cluster/resources"));
}

asio::awaitable<std::vector<GuestSummary>> Client::list_guests(GuestKind kind, std::string node) {
    auto path = node_path(node) + "/" + std::string(kind_path(kind));
    auto reply = co_await call("GET", path);
    co_return parse_guest_list(reply, std::string("GET " + path));
}

asio::awaitable<GuestConfig> Client::guest_config(GuestKind kind, std::string node, int vmid) {
    auto path = guest_path(kind, node, vmid) + "/config";
    auto reply = co_await call("GET", path);
    co_return parse_config(reply, std::string("GET " + path));
}

asio::awaitable<GuestStatus> Client::guest_status(GuestKind kind, std::string node, int vmid) {
    auto path = guest_path(kind, node, vmid) + "/status/current";
    auto reply = co_await call("GET", path);
    co_return parse_guest_status(reply, std::string("GET " + path));
}

asio::awaitable<std::string> Client::clone(GuestKind kind, std::string node, int vmid, CloneRequest r) {
    auto path = guest_path(kind, node, vmid) + "/clone";
    Params p{{"newid", std::to_string(r.newid)}};
    if (!r.name.empty()) p.emplace_back(kind == GuestKind::qemu ? "name" : "hostname", r.name);
    if (r.full) p.emplace_back("full", *r.full ? "1" : "0");
    if (!r.target.empty()) p.emplace_back("target", r.target);
    if (!r.storage.empty()) p.emplace_back("storage", r.storage);
    if (!r.pool.empty()) p.emplace_back("pool", r.pool);
    if (!r.description.empty()) p.emplace_back("description", r.description);
    auto reply = co_await call("POST", path, p, CallOptions{.idempotent = false});
    co_return parse_upid_reply(reply, std::string("POST " + path));
}

asio::awaitable<std::string> Client::start(GuestKind kind, std::string node, int vmid) {
    auto path = guest_path(kind, node, vmid) + "/status/start";
    auto reply = co_await call("POST", path);
    co_return parse_upid_reply(reply, std::string("POST " + path));
}

asio::awaitable<std::string> Client::stop(GuestKind kind, std::string node, int vmid) {
    auto path = guest_path(kind, node, vmid) + "/status/stop";
    auto reply = co_await call("POST", path);
    co_return parse_upid_reply(reply, std::string("POST " + path));
}

asio::awaitable<std::string> Client::shutdown(GuestKind kind, std::string node, int vmid, int timeout_s,
                                              bool force_stop) {
    auto path = guest_path(kind, node, vmid) + "/status/shutdown";
    Params p;
    if (timeout_s > 0) p.emplace_back("timeout", std::to_string(timeout_s));
    if (force_stop) p.emplace_back("forceStop", "1");  // the same name for qemu and lxc
    auto reply = co_await call("POST", path, p);
    co_return parse_upid_reply(reply, std::string("POST " + path));
}

asio::awaitable<std::string> Client::destroy(GuestKind kind, std::string node, int vmid, bool purge,
                                             bool destroy_unreferenced) {
    auto path = guest_path(kind, node, vmid);
    Params p;
    if (purge) p.emplace_back("purge", "1");
    if (destroy_unreferenced) p.emplace_back("destroy-unreferenced-disks", "1");
    auto reply = co_await call("DELETE", path, p);
    co_return parse_upid_reply(reply, std::string("DELETE " + path));
}

asio::awaitable<std::string> Client::make_template(GuestKind kind, std::string node, int vmid) {
    auto path = guest_path(kind, node, vmid) + "/template";
    auto v = co_await call("POST", path);
    if (kind == GuestKind::lxc && v.is_null()) co_return std::string{};
    co_return parse_upid_reply(v, "POST " + path);
}

asio::awaitable<std::string> Client::migrate(std::string node, int vmid, MigrateRequest r) {
    auto path = guest_path(GuestKind::qemu, node, vmid) + "/migrate";
    Params p{{"target", r.target}};
    if (r.online) p.emplace_back("online", "1");
    if (r.with_local_disks) p.emplace_back("with-local-disks", "1");
    if (!r.targetstorage.empty()) p.emplace_back("targetstorage", r.targetstorage);
    auto reply = co_await call("POST", path, p, CallOptions{.idempotent = false});
    co_return parse_upid_reply(reply, "POST " + path);
}

asio::awaitable<void> Client::set_config(GuestKind kind, std::string node, int vmid, Params params) {
    co_await call("PUT", guest_path(kind, node, vmid) + "/config", std::move(params));
}

asio::awaitable<std::vector<NetInterface>> Client::agent_interfaces(std::string node, int vmid) {
    auto path = guest_path(GuestKind::qemu, node, vmid) + "/agent/network-get-interfaces";
    // Agent calls fail until the guest has booted: the caller polls, so no retries here.
    auto v = co_await call("GET", path, Params{}, CallOptions{.idempotent = false});
    co_return parse_interfaces(v, "GET " + path);
}

asio::awaitable<std::vector<StorageInfo>> Client::node_storage(std::string node) {
    auto path = node_path(node) + "/storage";
    auto reply = co_await call("GET", path);
    co_return parse_storage_list(reply, std::string("GET " + path));
}

asio::awaitable<std::vector<Volume>> Client::storage_content(std::string node, std::string storage,
                                                             int vmid) {
    auto path = node_path(node) + "/storage/" + storage + "/content";
    Params p;
    if (vmid > 0) p.emplace_back("vmid", std::to_string(vmid));
    auto reply = co_await call(
        "GET", path, p, CallOptions{.idempotent = true, .timeout = shared_->options.storage_list_timeout});
    co_return parse_volumes(reply, std::string("GET " + path));
}

asio::awaitable<std::string> Client::delete_volume(std::string node, std::string storage, std::string volid) {
    auto path = node_path(node) + "/storage/" + storage + "/content/" + url_escape(volid);
    auto v = co_await call("DELETE", path);
    if (v.is_null()) co_return std::string{};
    co_return parse_upid_reply(v, "DELETE " + path);
}

asio::awaitable<TaskStatus> Client::task_status(std::string upid) {
    auto u = parse_upid(upid);
    if (!u) throw core::invalid("'" + upid + "' is not a Proxmox task id (UPID)");
    auto path = node_path(u->node) + "/tasks/" + url_escape(upid) + "/status";
    auto reply = co_await call("GET", path);
    co_return parse_task_status(reply, std::string("GET task status"));
}

asio::awaitable<std::vector<TaskLogLine>> Client::task_log(std::string upid, int start, int limit) {
    auto u = parse_upid(upid);
    if (!u) throw core::invalid("'" + upid + "' is not a Proxmox task id (UPID)");
    auto path = node_path(u->node) + "/tasks/" + url_escape(upid) + "/log";
    Params p{{"start", std::to_string(start)}, {"limit", std::to_string(limit)}};
    auto reply = co_await call("GET", path, p);
    co_return parse_task_log(reply, std::string("GET task log"));
}

asio::awaitable<std::vector<TaskListItem>> Client::node_tasks(std::string node, TaskQuery q) {
    auto path = node_path(node) + "/tasks";
    Params p{{"source", q.source}, {"limit", std::to_string(q.limit)}};
    if (q.since > 0) p.emplace_back("since", std::to_string(q.since));
    if (q.vmid > 0) p.emplace_back("vmid", std::to_string(q.vmid));
    if (!q.typefilter.empty()) p.emplace_back("typefilter", q.typefilter);
    if (!q.userfilter.empty()) p.emplace_back("userfilter", q.userfilter);
    auto reply = co_await call("GET", path, p);
    co_return parse_task_list(reply, std::string("GET " + path));
}

asio::awaitable<std::vector<Pool>> Client::pools() {
    auto reply = co_await call("GET", "/pools");
    co_return parse_pools(reply, std::string("GET /pools"));
}

asio::awaitable<Pool> Client::pool(std::string poolid) {
    auto p = parse_pool(co_await call("GET", "/pools/" + poolid), "GET /pools/" + poolid);
    p.poolid = poolid;
    co_return p;
}

asio::awaitable<void> Client::create_pool(std::string poolid, std::string comment) {
    Params p{{"poolid", poolid}};
    if (!comment.empty()) p.emplace_back("comment", comment);
    co_await call("POST", "/pools", p, CallOptions{.idempotent = false});
}

asio::awaitable<void> Client::add_to_pool(std::string poolid, std::vector<int> vmids) {
    std::string list;
    for (int v : vmids) list += (list.empty() ? "" : ",") + std::to_string(v);
    Params p{{"vms", list}};
    co_await call("PUT", "/pools/" + poolid, p);
}

asio::awaitable<void> Client::delete_pool(std::string poolid) {
    co_await call("DELETE", "/pools/" + poolid);
}

}  // namespace np::pve
