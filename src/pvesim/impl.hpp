// Inside the Proxmox VE simulator (private to src/pvesim): the cluster's state (guests, volumes, tasks,
// pools, users, ACLs), the helpers every API family shares, and the route table the families fill.
// Files: impl.cpp (state, request pipeline, stats), auth.cpp (tickets, CSRF, tokens, login),
// access.cpp (users, roles, ACLs, permissions: the privilege model), routes_cluster.cpp (version, nodes,
// cluster resources, nextid, pools), routes_qemu.cpp (guest reads, agent, consoles), lifecycle.cpp (one
// function per guest operation: clone, destroy, start/stop/shutdown, template), migrate.cpp (migration,
// config edits), routes_storage.cpp,
// routes_tasks.cpp; router.cpp matches paths against the table.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.hpp"
#include "http/path_router.hpp"
#include "pvesim/gns3_guests.hpp"  // GNS3 guests hook
#include "pvesim/profile.hpp"
#include "pvesim/simulator.hpp"

namespace np::pvesim {

using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;
using Params = std::map<std::string, std::string>;

// ---- replies in PVE's shapes ----
http::Response reply(boost::json::value data, int status = 200);
// PVE 8.3+ error body: data null plus the message; the status line carries the first line (Response::reason).
http::Response pve_error(int status, const std::string& message);
http::Response param_error(const std::map<std::string, std::string>& errors);
// 403 "Permission check failed (/vms/101, VM.PowerMgmt)" (RPCEnvironment's raise_perm_exc).
http::Response perm_error(const std::string& path, const std::string& privs);

// Parses application/x-www-form-urlencoded text (or a query string); the last value wins.
Params parse_form(std::string_view text);
std::vector<std::string> split_path(std::string_view path);
bool valid_vmid(const std::string& s, int& out);
std::string hex8(std::int64_t v);
std::string hmac_b64(const std::string& key, const std::string& msg);

struct Semaphore {
    struct Waiter;
    int capacity;
    int in_use = 0;
    int peak = 0;
    std::deque<std::shared_ptr<Waiter>> waiters;

    explicit Semaphore(int cap) : capacity(std::max(1, cap)) {}
    // Waits at most `timeout` (negative: forever) for a slot.
    boost::asio::awaitable<bool> acquire(boost::asio::any_io_executor ex, Ms timeout);
    void release();
};

struct Guest {
    int vmid = 0;
    std::string kind = "qemu", node, name, status = "stopped", lock, storage, pool;
    bool is_template = false, agent = true, foreign = false;
    std::int64_t maxmem = 2LL << 30, disk = 8LL << 30;
    std::string disk_value;  // the scsi0/rootfs value
    Clock::time_point agent_ready{};
    std::int64_t started_unix = 0;
};

struct Volume {
    std::string volid, storage, node, parent;
    int vmid = 0;
    std::int64_t size = 0;
    std::int64_t ctime = 0;
};

struct Task {
    std::string upid, node, type, id, user;
    std::int64_t starttime = 0, endtime = 0, pid = 0, pstart = 0;
    bool running = true;
    std::string exitstatus;
    std::vector<std::string> log;
};

// user.cfg: users, groups, custom roles and the ACL tree, flattened to path -> entries.
struct AclEntry {
    std::string type;  // user | group | token
    std::string ugid, roleid;
    bool propagate = true;
};
using Privs = std::map<std::string, bool>;  // privilege -> propagate (as RPCEnvironment::permissions)

// One call being served: the request, its parameters (query and body), the path's {placeholders} and the
// authenticated user ("" before login).
struct Call {
    http::Request& req;
    Params& p;
    std::map<std::string, std::string> vars;
    std::string user;
    std::string kind;  // qemu | lxc, for guest routes
    const std::string& var(const char* name) const { return vars.at(name); }
};

using RouteFn = std::function<http::Response(Simulator::Impl&, Call&)>;
struct Route {
    http::Method method;
    std::string pattern;  // "/nodes/{node}/qemu/{vmid}/status/current"
    RouteFn fn;
    bool auth = true;  // false: served before authentication (/access/ticket, /access/domains)
    std::string kind;  // copied into Call::kind
};

// The routes of the simulator, matched by http::PathRouter (the one path matcher of src/http).
class RouteTable {
 public:
    void add(Route route);
    // The route for a path (after /api2/json) and method, with `vars` set to its {placeholders}; nullptr:
    // no route (PVE answers 501 whether or not another method would match). HEAD matches nothing, as in PVE.
    const Route* match(http::Method method, std::string_view path,
                       std::map<std::string, std::string>& vars) const;

 private:
    http::PathRouter router_;
    std::vector<Route> routes_;  // by the router's index
};

// Each API family adds its routes (routes_*.cpp, access.cpp, auth.cpp, lifecycle.cpp).
void add_cluster_routes(RouteTable& t);
void add_qemu_routes(RouteTable& t);
void add_lifecycle_routes(RouteTable& t);
void add_storage_routes(RouteTable& t);
void add_task_routes(RouteTable& t);
void add_access_routes(RouteTable& t);
void add_auth_routes(RouteTable& t);
void add_migrate_routes(RouteTable& t);

// One migration being carried out (migrate.cpp).
struct MigrateJob {
    std::string upid;
    int vmid = 0;
    std::string source, target, storage;  // storage: where the local disks go on the target
    bool online = false, with_local_disks = false;
};

struct Simulator::Impl : std::enable_shared_from_this<Simulator::Impl> {
    boost::asio::any_io_executor executor;
    Profile profile;
    std::mt19937_64 rng;
    std::string ticket_key, csrf_key;
    std::int64_t clock_offset = 0;
    std::map<int, Guest> guests;
    std::vector<Volume> volumes;
    std::map<std::string, Task> tasks;
    std::map<std::string, std::vector<std::string>> node_tasks;  // node -> upids in start order
    std::map<std::string, std::string> pools;                    // poolid -> comment
    std::map<std::string, std::unique_ptr<Semaphore>> storage_locks;
    Semaphore workers;
    std::uint32_t next_pid = 0x1000;
    // Access control (user.cfg).
    std::map<std::string, std::string> users;                   // userid -> password (empty: none)
    std::map<std::string, std::set<std::string>> groups;        // groupid -> members
    std::map<std::string, std::set<std::string>> custom_roles;  // roleid -> privileges
    std::map<std::string, std::vector<AclEntry>> acl;           // normalized path -> entries
    RouteTable routes;
    // Counters for /sim/stats.
    std::uint64_t requests = 0, faults_5xx = 0, faults_drop = 0, faults_silent_delete = 0, vmid_races = 0,
                  vmid_collisions = 0, lock_timeouts = 0, clones_ok = 0, clones_failed = 0, destroys_ok = 0,
                  tasks_started = 0, auth_failures = 0, locked_refusals = 0, permission_denials = 0,
                  migrations_ok = 0, migrations_failed = 0;
    std::map<std::string, std::uint64_t> created_names;  // name -> clones created under it (ever)
    std::shared_ptr<Gns3Guests> gns3;                    // GNS3 guests hook: set by attach_gns3_guests

    Impl(boost::asio::any_io_executor ex, Profile p, std::uint64_t seed);

    std::int64_t now_unix() const;
    bool is_shared(const std::string& storage) const { return storage == profile.shared_storage; }
    bool node_exists(const std::string& n) const;
    double chance() { return std::uniform_real_distribution<double>(0, 1)(rng); }
    Semaphore& storage_lock(const std::string& node, const std::string& storage);
    boost::asio::awaitable<void> sleep(int ms);

    // ---- request pipeline (impl.cpp) ----
    boost::asio::awaitable<http::Response> handle(http::Request& req);
    boost::asio::awaitable<std::optional<http::Response>> authenticate(http::Request& req, std::string& user);
    std::optional<http::Response> inject_fault(bool& drop_after);
    http::Response dispatch(http::Request& req, const std::vector<std::string>& seg, Params& p,
                            const std::string& user, bool authenticated, bool& login_refused);
    std::string stats_json() const;

    // ---- auth (auth.cpp) ----
    std::string make_ticket(const std::string& user);
    std::string make_csrf(const std::string& user);
    std::optional<std::string> check_ticket(const std::string& ticket);
    bool check_csrf(const std::string& token, const std::string& user);
    bool known_realm(const std::string& user) const;

    // ---- privileges (access.cpp) ----
    // root@pam, or one of its tokens made without privilege separation.
    bool is_root(const std::string& user) const {
        return user == "root@pam" || (user.rfind("root@pam!", 0) == 0 && !token_privsep(user));
    }
    bool token_privsep(const std::string& tokenid) const;  // true for an unknown token
    Privs acl_walk(const std::string& ugid, bool token, const std::string& path) const;
    std::optional<std::set<std::string>> role_privs(const std::string& roleid) const;
    Privs permissions(const std::string& user, const std::string& path) const;
    bool has(const std::string& user, const std::string& path, const std::string& priv) const;
    // A guest's privilege: on /vms/{vmid} or, for a pool member, on /pool/{pool} (check_vm_perm).
    bool has_vm(const std::string& user, const Guest& g, const std::string& priv) const;
    bool has_vm(const std::string& user, int vmid, const std::string& priv) const;
    std::optional<http::Response> need_vm(const Call& c, int vmid, const std::string& priv);
    std::optional<http::Response> need(const Call& c, const std::string& path, const std::string& priv);
    void forget_vm_acl(int vmid);

    // ---- tasks ----
    Task& new_task(const std::string& node, const std::string& type, const std::string& id,
                   const std::string& user);
    void end_task(const std::string& upid, const std::string& exitstatus);
    std::string lock_timeout_message(const std::string& storage);

    // ---- shared views ----
    boost::json::object guest_row(const Guest& g) const;
    std::int64_t node_mem_used(const std::string& node) const;
    boost::json::object storage_row(const std::string& node, const std::string& storage) const;
    boost::json::object config_of(const Guest& g) const;
    boost::json::value agent_interfaces(const Guest& g) const;
    static std::string missing_config(const std::string& node, const std::string& kind, int vmid);
    static std::string who(const std::string& kind) { return kind == "qemu" ? "VM" : "CT"; }
    // The guest of a guest route (node and kind must match), or nullptr.
    Guest* find_guest(const std::string& node, const std::string& kind, int vmid);

    // ---- guest lifecycle (lifecycle.cpp): one operation each, its HTTP part and its task worker ----
    http::Response op_clone(const std::string& node, const std::string& kind, int vmid, Params& p,
                            const std::string& user);
    boost::asio::awaitable<void> clone_worker(std::string upid, Guest src, int newid, std::string dest,
                                              std::string name, bool full, std::string pool);
    http::Response op_destroy(const std::string& node, const std::string& kind, int vmid, Params& p,
                              const std::string& user);
    boost::asio::awaitable<void> destroy_worker(std::string upid, int vmid, std::string node,
                                                std::string storage, bool unreferenced);
    http::Response op_status_change(const std::string& node, const std::string& kind, int vmid,
                                    const std::string& action, const std::string& user);
    boost::asio::awaitable<void> status_worker(std::string upid, int vmid, std::string action);
    http::Response op_template(const std::string& node, const std::string& kind, int vmid,
                               const std::string& user);
    void to_template(Guest& g);
    boost::asio::awaitable<void> template_worker(std::string upid, int vmid);
    http::Response op_delete_volume(const std::string& node, const std::string& storage,
                                    const std::string& volid, const std::string& user);
    boost::asio::awaitable<void> volume_delete_worker(std::string upid, std::string volid,
                                                      std::string storage, std::string node);

    // ---- migration and config edits (migrate.cpp) ----
    http::Response op_migrate(const std::string& node, int vmid, Params& p, const std::string& user);
    std::string migrate_blocker(const MigrateJob& job, std::vector<std::string>& log);
    boost::asio::awaitable<void> migrate_worker(MigrateJob job);
    http::Response op_set_config(const std::string& node, const std::string& kind, int vmid, Params& p);
};

}  // namespace np::pvesim
