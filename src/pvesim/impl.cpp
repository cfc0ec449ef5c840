// The simulator's state and request pipeline: latency and the in-flight bound, parameters, authentication,
// faults, then the route table (see impl.hpp for the files of each API family).
#include "pvesim/impl.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"

namespace np::pvesim {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string b64(const unsigned char* data, std::size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<std::size_t>(len));
    return out;
}

}  // namespace

std::string hmac_b64(const std::string& key, const std::string& msg) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
    return b64(md, len);
}

std::string hex8(std::int64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%08llX", static_cast<unsigned long long>(v));
    return buf;
}

Params parse_form(std::string_view text) {
    Params out;
    while (!text.empty()) {
        auto amp = text.find('&');
        auto pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (pair.empty()) continue;
        auto eq = pair.find('=');
        std::string k, v;
        http::percent_decode(pair.substr(0, eq), k, true);
        if (eq != std::string_view::npos) http::percent_decode(pair.substr(eq + 1), v, true);
        out[k] = v;
    }
    return out;
}

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < path.size()) {
        while (i < path.size() && path[i] == '/') ++i;
        auto j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (j > i) out.emplace_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

bool valid_vmid(const std::string& s, int& out) {
    if (s.empty() || s.size() > 9) return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    out = std::stoi(s);
    return out >= 100;
}

http::Response reply(json::value data, int status) {
    json::object o;
    o["data"] = std::move(data);
    return http::json_response(status, json::serialize(o));
}

http::Response pve_error(int status, const std::string& message) {
    json::object o;
    o["data"] = nullptr;
    o["message"] = message + "\n";
    auto r = http::json_response(status, json::serialize(o));
    r.reason = message.substr(0, message.find('\n'));
    return r;
}

http::Response param_error(const std::map<std::string, std::string>& errors) {
    json::object o, e;
    o["data"] = nullptr;
    for (const auto& [k, v] : errors) e[k] = v;
    o["errors"] = std::move(e);
    o["message"] = "Parameter verification failed.\n";
    auto r = http::json_response(400, json::serialize(o));
    r.reason = "Parameter verification failed.";
    return r;
}

http::Response perm_error(const std::string& path, const std::string& privs) {
    return pve_error(403, "Permission check failed (" + path + ", " + privs + ")");
}

struct Semaphore::Waiter {
    explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
    asio::steady_timer timer;
    bool admitted = false;
};

asio::awaitable<bool> Semaphore::acquire(asio::any_io_executor ex, Ms timeout) {
    if (waiters.empty() && in_use < capacity) {
        ++in_use;
        peak = std::max(peak, in_use);
        co_return true;
    }
    auto w = std::make_shared<Waiter>(ex);
    w->timer.expires_at(timeout.count() < 0 ? Clock::time_point::max() : Clock::now() + timeout);
    waiters.push_back(w);
    co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (w->admitted) co_return true;
    auto it = std::find(waiters.begin(), waiters.end(), w);
    if (it != waiters.end()) waiters.erase(it);
    co_return false;
}

void Semaphore::release() {
    --in_use;
    while (!waiters.empty() && in_use < capacity) {
        auto w = waiters.front();
        waiters.pop_front();
        w->admitted = true;
        ++in_use;
        peak = std::max(peak, in_use);
        w->timer.cancel();
    }
}

Simulator::Impl::Impl(asio::any_io_executor ex, Profile p, std::uint64_t seed)
    : executor(std::move(ex)),
      profile(std::move(p)),
      rng(seed),
      ticket_key(core::random_hex(32)),
      csrf_key(core::random_hex(32)),
      workers(profile.max_in_flight) {
    for (const auto& g : profile.guests) {
        Guest guest;
        guest.vmid = g.vmid;
        guest.kind = g.kind;
        guest.node = g.node;
        guest.name = g.name;
        guest.is_template = g.is_template;
        guest.storage = g.storage;
        guest.agent = g.agent;
        guest.maxmem = g.maxmem;
        guest.disk = g.disk_bytes;
        guest.status = g.running ? "running" : "stopped";
        auto vol = std::string(g.is_template ? "base-" : "vm-") + std::to_string(g.vmid) + "-disk-0";
        guest.disk_value = g.storage + ":" + vol + ",size=" + std::to_string(g.disk_bytes >> 30) + "G";
        volumes.push_back({g.storage + ":" + vol, g.storage, is_shared(g.storage) ? "" : g.node, "", g.vmid,
                           g.disk_bytes, now_unix()});
        guests[g.vmid] = guest;
    }
    for (const auto& u : profile.users) users[u.userid] = u.password;
    for (const auto& t : profile.tokens) users.emplace(t.id.substr(0, t.id.find('!')), "");
    for (const auto& a : profile.acl) acl[a.path].push_back({"user", a.userid, a.roleid, a.propagate});
    add_auth_routes(routes);
    add_access_routes(routes);
    add_cluster_routes(routes);
    add_task_routes(routes);
    add_storage_routes(routes);
    add_qemu_routes(routes);
    add_lifecycle_routes(routes);
    add_migrate_routes(routes);
}

std::int64_t Simulator::Impl::now_unix() const {
    return core::unix_now() + clock_offset;
}

bool Simulator::Impl::node_exists(const std::string& n) const {
    return std::any_of(profile.nodes.begin(), profile.nodes.end(),
                       [&](const NodeSpec& s) { return s.name == n; });
}

Semaphore& Simulator::Impl::storage_lock(const std::string& node, const std::string& storage) {
    auto key = is_shared(storage) ? storage : node + "/" + storage;
    auto& s = storage_locks[key];
    if (!s) s = std::make_unique<Semaphore>(profile.storage_slots);
    return *s;
}

asio::awaitable<void> Simulator::Impl::sleep(int ms) {
    if (ms <= 0) co_return;
    asio::steady_timer t(executor, Ms(ms));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

Guest* Simulator::Impl::find_guest(const std::string& node, const std::string& kind, int vmid) {
    auto it = guests.find(vmid);
    if (it == guests.end() || it->second.node != node || it->second.kind != kind) return nullptr;
    return &it->second;
}

Task& Simulator::Impl::new_task(const std::string& node, const std::string& type, const std::string& id,
                                const std::string& user) {
    Task t;
    t.node = node;
    t.type = type;
    t.id = id;
    t.user = user;
    t.starttime = now_unix();
    t.pid = next_pid++;
    t.pstart = 0x3AB00C3 + t.pid;
    t.upid = "UPID:" + node + ":" + hex8(t.pid) + ":" + hex8(t.pstart) + ":" + hex8(t.starttime) + ":" +
             type + ":" + id + ":" + user + ":";
    ++tasks_started;
    node_tasks[node].push_back(t.upid);
    return tasks[t.upid] = std::move(t);
}
void Simulator::Impl::end_task(const std::string& upid, const std::string& exitstatus) {
    auto& t = tasks.at(upid);
    t.running = false;
    t.endtime = std::max(now_unix(), t.starttime);
    t.exitstatus = exitstatus;
    if (exitstatus == "OK")
        t.log.push_back("TASK OK");
    else
        t.log.push_back("TASK ERROR: " + exitstatus);
}
std::string Simulator::Impl::lock_timeout_message(const std::string& storage) {
    ++lock_timeouts;
    return "can't lock file '/var/lock/pve-manager/pve-storage-" + storage + "' - got timeout";
}

// ---- /cluster/resources etc. ----
json::object Simulator::Impl::guest_row(const Guest& g) const {
    json::object o;
    o["id"] = g.kind + "/" + std::to_string(g.vmid);
    o["type"] = g.kind;
    o["vmid"] = g.vmid;
    o["node"] = g.node;
    o["name"] = g.name;
    o["status"] = g.status;
    o["template"] = g.is_template ? 1 : 0;
    if (!g.lock.empty()) o["lock"] = g.lock;
    if (!g.pool.empty()) o["pool"] = g.pool;
    o["maxmem"] = g.maxmem;
    o["mem"] = g.status == "running" ? g.maxmem / 2 : 0;
    o["maxcpu"] = 2;
    o["cpu"] = 0.0;
    o["maxdisk"] = g.disk;
    o["disk"] = 0;
    o["uptime"] = g.status == "running" ? now_unix() - g.started_unix : 0;
    o["netin"] = 0;
    o["netout"] = 0;
    o["diskread"] = 0;
    o["diskwrite"] = 0;
    return o;
}
std::int64_t Simulator::Impl::node_mem_used(const std::string& node) const {
    std::int64_t used = 4LL << 30;
    for (const auto& [id, g] : guests)
        if (g.node == node && g.status == "running") used += g.maxmem;
    return used;
}
json::object Simulator::Impl::storage_row(const std::string& node, const std::string& storage) const {
    json::object o;
    o["storage"] = storage;
    o["type"] = is_shared(storage) ? "rbd" : "lvmthin";
    o["content"] = "images,rootdir";
    o["shared"] = is_shared(storage) ? 1 : 0;
    o["active"] = 1;
    o["enabled"] = 1;
    std::int64_t total = 2LL << 40, used = 0;
    for (const auto& v : volumes)
        if (v.storage == storage && (v.node.empty() || v.node == node)) used += v.size;
    o["total"] = total;
    o["used"] = used;
    o["avail"] = total - used;
    o["used_fraction"] = static_cast<double>(used) / static_cast<double>(total);
    (void)node;
    return o;
}
json::object Simulator::Impl::config_of(const Guest& g) const {
    json::object o;
    o["name"] = g.name;
    if (g.kind == "qemu") {
        o["scsi0"] = g.disk_value;
        o["memory"] = std::to_string(g.maxmem >> 20);
        o["cores"] = 2;
        o["net0"] = "virtio=BC:24:11:" + hex8(g.vmid).substr(2, 2) + ":" + hex8(g.vmid).substr(4, 2) + ":" +
                    hex8(g.vmid).substr(6, 2) + ",bridge=vmbr0";
        o["boot"] = "order=scsi0;net0";
        if (g.agent) o["agent"] = "1";
        o["ostype"] = "l26";
    } else {
        o["hostname"] = g.name;
        o.erase("name");
        o["rootfs"] = g.disk_value;
        o["memory"] = g.maxmem >> 20;
        o["net0"] = "name=eth0,bridge=vmbr0,ip=dhcp";
        o["ostype"] = "debian";
    }
    if (g.is_template) o["template"] = 1;
    if (!g.lock.empty()) o["lock"] = g.lock;
    // Proxmox's digest is the SHA-1 of the config file: it changes exactly when the config does, which is
    // what a PUT with `digest` compares (op_set_config).
    o["digest"] = core::sha1_hex(json::serialize(o));
    return o;
}

std::string Simulator::Impl::missing_config(const std::string& node, const std::string& kind, int vmid) {
    return "Configuration file 'nodes/" + node + "/" + (kind == "qemu" ? "qemu-server" : "lxc") + "/" +
           std::to_string(vmid) + ".conf' does not exist";
}

json::value Simulator::Impl::agent_interfaces(const Guest& g) const {
    json::array result;
    json::object lo{{"name", "lo"}, {"hardware-address", "00:00:00:00:00:00"}};
    lo["ip-addresses"] =
        json::array{json::object{{"ip-address", "127.0.0.1"}, {"ip-address-type", "ipv4"}, {"prefix", 8}}};
    result.push_back(lo);
    std::size_t node_index = 1;
    for (std::size_t i = 0; i < profile.nodes.size(); ++i)
        if (profile.nodes[i].name == g.node) node_index = i + 1;
    auto ip = "10." + std::to_string(node_index) + "." + std::to_string((g.vmid >> 8) & 255) + "." +
              std::to_string(g.vmid & 255);
    if (auto a = gns3 ? gns3->address(g.vmid) : std::nullopt) ip = *a;  // GNS3 guests hook: agent
    json::object eth{{"name", "eth0"}, {"hardware-address", "bc:24:11:00:00:01"}};
    eth["ip-addresses"] =
        json::array{json::object{{"ip-address", ip}, {"ip-address-type", "ipv4"}, {"prefix", 24}}};
    result.push_back(eth);
    json::object out;
    out["result"] = std::move(result);
    return out;
}

std::string Simulator::Impl::stats_json() const {
    json::object o;
    o["requests"] = requests;
    json::object f;
    f["transient_5xx"] = faults_5xx;
    f["dropped_connections"] = faults_drop;
    f["silent_delete_failures"] = faults_silent_delete;
    f["vmid_races"] = vmid_races;
    o["faults"] = f;
    std::size_t own = 0, foreign = 0;
    std::map<std::string, int> names;
    std::uint64_t templates = 0;
    for (const auto& [id, g] : guests) {
        if (g.foreign)
            ++foreign;
        else
            ++own;
        if (g.is_template)
            ++templates;  // a template's copies on other nodes share its name: not duplicates
        else
            ++names[g.name];
    }
    std::uint64_t duplicate_names = 0;
    for (const auto& [n, c] : names)
        if (c > 1) duplicate_names += static_cast<std::uint64_t>(c - 1);
    std::uint64_t created_twice = 0;
    for (const auto& [n, c] : created_names)
        if (c > 1) created_twice += c - 1;
    std::uint64_t orphans = 0;
    for (const auto& v : volumes)
        if (!guests.count(v.vmid)) ++orphans;
    o["vms"] = own;
    o["foreign_vms"] = foreign;
    o["templates"] = templates;
    o["volumes"] = volumes.size();
    o["orphaned_volumes"] = orphans;
    o["vmid_collisions"] = vmid_collisions;
    o["duplicate_names"] = duplicate_names;
    o["names_created_twice"] = created_twice;
    o["clones_ok"] = clones_ok;
    o["clones_failed"] = clones_failed;
    o["destroys_ok"] = destroys_ok;
    o["migrations_ok"] = migrations_ok;
    o["migrations_failed"] = migrations_failed;
    o["lock_timeouts"] = lock_timeouts;
    o["locked_refusals"] = locked_refusals;
    o["permission_denials"] = permission_denials;
    o["tasks_started"] = tasks_started;
    o["auth_failures"] = auth_failures;
    o["peak_in_flight"] = workers.peak;
    int peak_storage = 0;
    for (const auto& [k, s] : storage_locks) peak_storage = std::max(peak_storage, s->peak);
    o["peak_storage_ops"] = peak_storage;
    o["storage_slots"] = profile.storage_slots;
    return json::serialize(o);
}

asio::awaitable<http::Response> Simulator::Impl::handle(http::Request& req) {
    auto self = shared_from_this();
    // Non-PVE control paths.
    if (req.path == "/sim/stats") co_return http::json_response(200, stats_json());
    if (req.path == "/sim/advance" && req.method == http::Method::post) {
        auto p = parse_form(req.query);
        clock_offset += p.count("seconds") ? std::stoll(p["seconds"]) : 0;
        co_return http::json_response(200, "{\"offset\":" + std::to_string(clock_offset) + "}");
    }
    ++requests;
    if (req.path.rfind("/api2/json/", 0) != 0) co_return pve_error(501, "no such uri");
    auto seg = split_path(std::string_view(req.path).substr(std::string_view("/api2/json").size()));

    // A pveproxy-like bound on requests being worked on, each taking the profile's latency.
    co_await workers.acquire(executor, Ms(-1));
    struct Release {
        Semaphore& s;
        ~Release() { s.release(); }
    } release{workers};
    int latency = profile.latency_min_ms;
    if (profile.latency_max_ms > profile.latency_min_ms)
        latency += static_cast<int>(
            rng() % static_cast<std::uint64_t>(profile.latency_max_ms - profile.latency_min_ms + 1));
    co_await sleep(latency);

    if ((req.method == http::Method::get || req.method == http::Method::del) && !req.body.empty())
        co_return pve_error(
            501, "Unexpected content for method '" + std::string(http::method_name(req.method)) + "'");
    auto params = parse_form(req.query);
    if (req.method == http::Method::post || req.method == http::Method::put) {
        auto ct = req.header("content-type");
        if (ct.find("application/json") != std::string_view::npos) {
            json::error_code ec;
            auto v = json::parse(req.body, ec);
            if (!ec && v.is_object())
                for (const auto& kv : v.get_object())
                    params[std::string(kv.key())] = kv.value().is_string()
                                                        ? std::string(kv.value().get_string())
                                                        : json::serialize(kv.value());
        } else {
            for (auto& [k, v] : parse_form(req.body)) params[k] = v;
        }
    }

    // Routes served before authentication (login, realms).
    bool login_refused = false;
    auto pre = dispatch(req, seg, params, "", false, login_refused);
    if (login_refused) {
        ++auth_failures;
        co_await sleep(profile.auth_failure_delay_ms);
    }
    if (pre.status != 0) co_return pre;

    // Everything else needs a ticket (plus CSRF on writes) or an API token.
    std::string user;
    if (auto refused = co_await authenticate(req, user)) co_return std::move(*refused);

    // Faults, after auth as in a real proxy hop.
    bool drop_after = false;
    if (auto fault = inject_fault(drop_after)) co_return std::move(*fault);
    auto res = dispatch(req, seg, params, user, true, login_refused);
    if (drop_after) {
        // The request was carried out but its reply is lost.
        ++faults_drop;
        res.drop = true;
    }
    co_return res;
}

asio::awaitable<std::optional<http::Response>> Simulator::Impl::authenticate(http::Request& req,
                                                                             std::string& user) {
    auto auth = std::string(req.header("authorization"));
    if (auth.rfind("PVEAPIToken=", 0) == 0) {
        auto rest = auth.substr(12);
        auto eq = rest.find('=');
        bool ok = false;
        if (eq != std::string::npos)
            for (const auto& t : profile.tokens)
                if (t.id == rest.substr(0, eq) && t.secret == rest.substr(eq + 1)) ok = true;
        if (!ok) {
            ++auth_failures;
            co_await sleep(profile.auth_failure_delay_ms);
            co_return pve_error(401, "Authentication failed!");
        }
        user = rest.substr(0, eq);
        co_return std::nullopt;
    }
    std::optional<std::string> cookie = req.cookie("PVEAuthCookie");
    if (!cookie && auth.rfind("PVEAuthCookie=", 0) == 0) cookie = auth.substr(14);
    if (!cookie) {
        co_await sleep(profile.auth_failure_delay_ms);
        co_return pve_error(401, "No ticket");
    }
    std::string decoded;
    if (!http::percent_decode(*cookie, decoded, false)) decoded = *cookie;
    auto who_ = check_ticket(decoded);
    if (!who_) {
        ++auth_failures;
        co_await sleep(profile.auth_failure_delay_ms);
        co_return pve_error(401, "permission denied - invalid PVE ticket");
    }
    user = *who_;
    if (req.method != http::Method::get && !check_csrf(std::string(req.header("csrfpreventiontoken")), user))
        co_return pve_error(401, "Permission denied - invalid csrf token");
    co_return std::nullopt;
}

// A transient 5xx or a dropped connection before the request is carried out (the profile's rates); or
// `drop_after`: carry it out and lose the reply.
std::optional<http::Response> Simulator::Impl::inject_fault(bool& drop_after) {
    if (profile.p_transient_5xx > 0 && chance() < profile.p_transient_5xx) {
        ++faults_5xx;
        auto pick = rng() % 3;
        if (pick == 0) return pve_error(596, "Connection timed out");
        if (pick == 1) return pve_error(595, "Connection refused");
        return pve_error(500, "cluster not ready - no quorum?");
    }
    bool drop = profile.p_drop > 0 && chance() < profile.p_drop;
    drop_after = drop && (rng() & 1);
    if (drop && !drop_after) {
        ++faults_drop;
        http::Response r;
        r.drop = true;
        return r;
    }
    return std::nullopt;
}

// Runs the route of the table for this path and method. Before authentication (`authenticated` false) only
// the routes marked auth = false answer; otherwise the answer has status 0.
http::Response Simulator::Impl::dispatch(http::Request& req, const std::vector<std::string>& seg, Params& p,
                                         const std::string& user, bool authenticated, bool& login_refused) {
    std::map<std::string, std::string> vars;
    const Route* route = routes.match(
        req.method, std::string_view(req.path).substr(std::string_view("/api2/json").size()), vars);
    if (!authenticated) {
        http::Response none;
        none.status = 0;
        if (!route || route->auth) return none;
        Call call{req, p, std::move(vars), "", route->kind};
        auto res = route->fn(*this, call);
        login_refused = res.status == 401;
        return res;
    }
    if (!route) {
        std::string joined;
        for (const auto& x : seg) joined += (joined.empty() ? "" : "/") + x;
        return pve_error(501, "Method '" + std::string(http::method_name(req.method)) + " /" + joined +
                                  "' not implemented");
    }
    if (auto n = vars.find("node"); n != vars.end() && !node_exists(n->second))
        return pve_error(500, "hostname lookup '" + n->second +
                                  "' failed - failed to get address info for: " + n->second +
                                  ": Name or service not known");
    int vmid = 0;
    if (auto v = vars.find("vmid"); v != vars.end() && !valid_vmid(v->second, vmid))
        return param_error({{"vmid", "invalid format - value does not look like a valid VM ID"}});
    Call call{req, p, std::move(vars), user, route->kind};
    return route->fn(*this, call);
}

Simulator::Simulator(asio::any_io_executor executor, Profile profile, std::uint64_t seed)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(profile), seed)) {}
Simulator::~Simulator() = default;

asio::awaitable<http::Response> Simulator::handle(http::Request& request) {
    auto impl = impl_;
    try {
        co_return co_await impl->handle(request);
    } catch (const std::exception& e) {
        co_return pve_error(500, std::string("simulator error: ") + e.what());
    }
}

http::Handler Simulator::handler() {
    return [this](http::Request& r) { return handle(r); };
}

std::string Simulator::stats_json() const {
    return impl_->stats_json();
}
// GNS3 guests hook: VMs run GNS3 servers (gns3_guests.hpp).
void Simulator::attach_gns3_guests(std::shared_ptr<Gns3Guests> guests) {
    impl_->gns3 = std::move(guests);
}
const Profile& Simulator::profile() const {
    return impl_->profile;
}

}  // namespace np::pvesim
