// Access control as pve-access-control has it (PVE 8): the built-in roles made from the privilege groups,
// custom roles, users, ACL entries on paths with propagation, and the permission walk of
// PVE::AccessControl::roles (from "/" down to the path; at each level a user's own entries replace what
// was inherited, else their groups' do; an entry applies below its path only with propagate; NoAccess
// wins). root@pam (and its tokens made with privsep=0) may do everything; a token with privsep=1 (Proxmox's
// default) holds what its own ACL entries grant, within its user's privileges.
// Routes: /access/acl (GET, PUT with delete=1), /access/roles, /access/permissions, /access/users.
#include <algorithm>
#include <boost/json.hpp>
#include <regex>

#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace json = boost::json;

namespace {

using M = http::Method;
using Sim = Simulator::Impl;
using PrivSet = std::set<std::string>;

struct PrivGroup {
    const char* name;
    std::vector<const char*> root, admin, user, audit;
};

// $privgroups of PVE/AccessControl.pm before 9.0 (VM.Monitor; no VM.GuestAgent.*), as the simulator
// reports version 8.4.
const std::vector<PrivGroup>& priv_groups() {
    static const std::vector<PrivGroup> groups = {
        {"VM",
         {},
         {"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
          "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.Migrate", "VM.Monitor", "VM.Snapshot",
          "VM.Snapshot.Rollback"},
         {"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.PowerMgmt"},
         {"VM.Audit"}},
        {"Sys",
         {"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"},
         {"Sys.Console", "Sys.Syslog"},
         {},
         {"Sys.Audit"}},
        {"Datastore",
         {},
         {"Datastore.Allocate", "Datastore.AllocateTemplate"},
         {"Datastore.AllocateSpace"},
         {"Datastore.Audit"}},
        {"SDN", {}, {"SDN.Allocate", "SDN.Audit"}, {"SDN.Use"}, {"SDN.Audit"}},
        {"User", {"Realm.Allocate"}, {"User.Modify", "Group.Allocate", "Realm.AllocateUser"}, {}, {}},
        {"Pool", {}, {"Pool.Allocate"}, {"Pool.Audit"}, {"Pool.Audit"}},
        {"Mapping", {}, {"Mapping.Modify"}, {"Mapping.Use"}, {"Mapping.Audit"}},
    };
    return groups;
}

struct BuiltIn {
    std::map<std::string, PrivSet> roles;
    PrivSet valid;
};

// create_roles(): PVE<cat>Admin, PVE<cat>User, PVEAdmin, PVEAuditor, PVETemplateUser, NoAccess,
// Administrator.
const BuiltIn& builtin() {
    static const BuiltIn b = [] {
        BuiltIn out;
        out.valid.insert("Permissions.Modify");
        for (const auto& g : priv_groups()) {
            for (const auto* list : {&g.root, &g.admin, &g.user, &g.audit})
                for (const char* p : *list) out.valid.insert(p);
            for (const auto* list : {&g.admin, &g.user, &g.audit})
                for (const char* p : *list) {
                    out.roles[std::string("PVE") + g.name + "Admin"].insert(p);
                    out.roles["PVEAdmin"].insert(p);
                }
            if (!g.user.empty())
                for (const auto* list : {&g.user, &g.audit})
                    for (const char* p : *list) out.roles[std::string("PVE") + g.name + "User"].insert(p);
            for (const char* p : g.audit) out.roles["PVEAuditor"].insert(p);
        }
        out.roles["PVEAdmin"].erase("Mapping.Modify");
        out.roles["PVETemplateUser"] = {"VM.Clone", "VM.Audit"};
        out.roles["NoAccess"] = {};
        out.roles["Administrator"] = out.valid;
        return out;
    }();
    return b;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : text + ",") {
        if (ch == ',' || ch == ';' || ch == ' ' || ch == '\0') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(ch);
        }
    }
    return out;
}

// PVE::AccessControl::normalize_path; nullopt for a path with other characters.
std::optional<std::string> normalize_path(std::string path) {
    if (path.empty()) return std::nullopt;
    std::string out;
    for (char ch : path)
        if (!(ch == '/' && !out.empty() && out.back() == '/')) out.push_back(ch);
    if (out.size() > 1 && out.back() == '/') out.pop_back();
    if (out.front() != '/') out.insert(out.begin(), '/');
    static const std::regex ok("^[A-Za-z0-9._/-]+$");
    if (!std::regex_match(out, ok)) return std::nullopt;
    return out;
}

// PVE::AccessControl::check_path: the paths an ACL may be set on.
bool check_path(const std::string& path) {
    static const std::regex known(
        "^(/|/access|/access/groups|/access/groups/[A-Za-z0-9._-]+|/access/realm|/access/realm/"
        "[A-Za-z0-9._-]+"
        "|/nodes|/nodes/[A-Za-z0-9._-]+|/pool|/pool/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,2}"
        "|/sdn|/sdn/zones|/sdn/zones/[A-Za-z0-9._-]+|/sdn/zones/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+"
        "|/storage|/storage/[A-Za-z0-9._-]+|/vms|/vms/[1-9][0-9]{2,}"
        "|/mapping|/mapping/[A-Za-z0-9._-]+|/mapping/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+)$");
    return std::regex_match(path, known);
}

std::string user_of(const std::string& id) {
    return id.substr(0, id.find('!'));
}

}  // namespace

std::optional<std::set<std::string>> Simulator::Impl::role_privs(const std::string& roleid) const {
    if (auto it = builtin().roles.find(roleid); it != builtin().roles.end()) return it->second;
    if (auto it = custom_roles.find(roleid); it != custom_roles.end()) return it->second;
    return std::nullopt;
}

bool Simulator::Impl::token_privsep(const std::string& tokenid) const {
    for (const auto& t : profile.tokens)
        if (t.id == tokenid) return t.privsep;
    return true;
}

// PVE::AccessControl::roles for one user (its own entries, else its groups') or one token (its own only).
Privs Simulator::Impl::acl_walk(const std::string& ugid, bool token, const std::string& path) const {
    Privs out;
    std::map<std::string, bool> roles;
    std::vector<std::string> levels{"/"};
    for (const auto& part : split_path(path))
        levels.push_back((levels.size() == 1 ? "" : levels.back()) + "/" + part);
    for (std::size_t i = 0; i < levels.size(); ++i) {
        bool final = i + 1 == levels.size();
        auto it = acl.find(levels[i]);
        if (it == acl.end()) continue;
        std::map<std::string, bool> own, grouped;
        for (const auto& e : it->second) {
            if (!final && !e.propagate) continue;
            if (e.type == (token ? "token" : "user") && e.ugid == ugid) own[e.roleid] = e.propagate;
            auto g = groups.find(e.ugid);
            if (!token && e.type == "group" && g != groups.end() && g->second.count(ugid))
                grouped[e.roleid] = e.propagate;
        }
        if (!own.empty())
            roles = own;  // user privileges always override group privileges
        else if (!grouped.empty())
            roles = grouped;
    }
    if (roles.count("NoAccess")) return out;
    for (const auto& [role, propagate] : roles)
        if (auto privs = role_privs(role))
            for (const auto& p : *privs) out[p] = out[p] || propagate;
    return out;
}

Privs Simulator::Impl::permissions(const std::string& id, const std::string& path) const {
    Privs out;
    if (is_root(id)) {
        for (const auto& p : builtin().valid) out[p] = true;
        return out;
    }
    auto user = user_of(id);
    auto user_privs = user == "root@pam" ? permissions(user, path) : acl_walk(user, false, path);
    if (user == id || !token_privsep(id)) return user_privs;
    // RPCEnvironment::permissions: a privilege-separated token gets what both it and its user hold.
    for (const auto& [priv, propagate] : acl_walk(id, true, path))
        if (auto u = user_privs.find(priv); u != user_privs.end()) out[priv] = propagate && u->second;
    return out;
}

bool Simulator::Impl::has(const std::string& user, const std::string& path, const std::string& priv) const {
    if (is_root(user)) return true;
    return permissions(user, path).count(priv) > 0;
}

bool Simulator::Impl::has_vm(const std::string& user, const Guest& g, const std::string& priv) const {
    if (is_root(user)) return true;
    return has(user, "/vms/" + std::to_string(g.vmid), priv) ||
           (!g.pool.empty() && has(user, "/pool/" + g.pool, priv));
}

bool Simulator::Impl::has_vm(const std::string& user, int vmid, const std::string& priv) const {
    if (auto it = guests.find(vmid); it != guests.end()) return has_vm(user, it->second, priv);
    return has(user, "/vms/" + std::to_string(vmid), priv);
}

std::optional<http::Response> Simulator::Impl::need_vm(const Call& c, int vmid, const std::string& priv) {
    if (has_vm(c.user, vmid, priv)) return std::nullopt;
    ++permission_denials;
    return perm_error("/vms/" + std::to_string(vmid), priv);
}

std::optional<http::Response> Simulator::Impl::need(const Call& c, const std::string& path,
                                                    const std::string& priv) {
    if (has(c.user, path, priv)) return std::nullopt;
    ++permission_denials;
    return perm_error(path, priv);
}

void Simulator::Impl::forget_vm_acl(int vmid) {
    acl.erase("/vms/" + std::to_string(vmid));  // PVE::AccessControl::remove_vm_access
}

namespace {

http::Response read_acl(Sim& sim, Call& c) {
    json::array a;
    bool audit = sim.has(c.user, "/access", "Sys.Audit");
    for (const auto& [path, entries] : sim.acl) {
        if (!audit && !sim.has(c.user, path, "Permissions.Modify")) continue;
        for (const auto& e : entries)
            a.push_back(json::object{{"path", path},
                                     {"type", e.type},
                                     {"ugid", e.ugid},
                                     {"roleid", e.roleid},
                                     {"propagate", e.propagate ? 1 : 0}});
    }
    return reply(a);
}

// Who may change the ACL on `path`: Permissions.Modify there, or (for /vms) VM.Allocate, handing out only
// privileges they hold themselves (the 'perm-modify' check and update_acl's subset rule). Empty: allowed.
std::optional<http::Response> check_modify(Sim& sim, Call& c, const std::string& path,
                                           const std::vector<std::string>& roles, bool del) {
    if (sim.is_root(c.user)) return std::nullopt;
    auto mine = sim.permissions(c.user, path);
    if (mine.count("Permissions.Modify")) return std::nullopt;
    if (path.rfind("/vms", 0) != 0 || !mine.count("VM.Allocate")) {
        ++sim.permission_denials;
        return perm_error(path, "Permissions.Modify");
    }
    std::string verb = del ? "remove" : "add";
    for (const auto& role : roles) {
        auto privs = sim.role_privs(role).value_or(PrivSet{});
        bool subset = role != "NoAccess" && std::all_of(privs.begin(), privs.end(),
                                                        [&](const auto& p) { return mine.count(p) > 0; });
        if (!subset)
            return param_error(
                {{"role", "Cannot " + verb + " role '" + role +
                              "' - requires 'Permissions.Modify' or superset of privileges."}});
    }
    return std::nullopt;
}

// Every name must exist before anything changes (PVE dies inside the config lock and writes nothing).
std::optional<http::Response> check_names(Sim& sim, Params& p, const std::vector<std::string>& roles) {
    auto fail = [](const std::string& why) { return pve_error(500, "ACL update failed: " + why); };
    for (const auto& r : roles)
        if (!sim.role_privs(r)) return fail("role '" + r + "' does not exist");
    for (const auto& g : split_list(p["groups"]))
        if (!sim.groups.count(g)) return fail("group '" + g + "' does not exist");
    for (const auto& u : split_list(p["users"]))
        if (!sim.users.count(u)) return fail("user '" + u + "' does not exist");
    for (const auto& t : split_list(p["tokens"])) {
        bool known = std::any_of(sim.profile.tokens.begin(), sim.profile.tokens.end(),
                                 [&](const TokenSpec& s) { return s.id == t; });
        if (!known)
            return fail("no such token '" + t.substr(t.find('!') + 1) + "' for user '" + user_of(t) + "'");
    }
    return std::nullopt;
}

http::Response update_acl(Sim& sim, Call& c) {
    auto& p = c.p;
    if (!p.count("users") && !p.count("groups") && !p.count("tokens")) {
        std::string why = "either 'users', 'groups' or 'tokens' is required.";
        return param_error({{"users", why}, {"groups", why}, {"tokens", why}});
    }
    if (!p.count("path")) return param_error({{"path", "property is missing and it is not optional"}});
    if (!p.count("roles")) return param_error({{"roles", "property is missing and it is not optional"}});
    bool del = p.count("delete") && (p["delete"] == "1" || p["delete"] == "true");
    auto path = normalize_path(p["path"]);
    if (!path || (!del && !check_path(*path)))
        return param_error({{"path", "invalid ACL path '" + p["path"] + "'"}});
    bool propagate = !p.count("propagate") || (p["propagate"] != "0" && p["propagate"] != "false");
    auto roles = split_list(p["roles"]);
    if (auto refused = check_modify(sim, c, *path, roles, del)) return *refused;
    if (auto refused = check_names(sim, p, roles)) return *refused;
    auto& entries = sim.acl[*path];
    auto apply = [&](const std::string& type, const std::string& ugid, const std::string& role) {
        std::erase_if(
            entries, [&](const AclEntry& e) { return e.type == type && e.ugid == ugid && e.roleid == role; });
        if (!del) entries.push_back({type, ugid, role, propagate});
    };
    for (const auto& role : roles) {
        for (const auto& g : split_list(p["groups"])) apply("group", g, role);
        for (const auto& u : split_list(p["users"])) apply("user", u, role);
        for (const auto& t : split_list(p["tokens"])) apply("token", t, role);
    }
    if (entries.empty()) sim.acl.erase(*path);
    return reply(nullptr);
}

http::Response list_roles(Sim& sim, Call&) {
    json::array a;
    auto add = [&](const std::string& id, const PrivSet& privs, bool special) {
        std::string joined;
        for (const auto& p : privs) joined += (joined.empty() ? "" : ",") + p;
        a.push_back(json::object{{"roleid", id}, {"privs", joined}, {"special", special ? 1 : 0}});
    };
    for (const auto& [id, privs] : builtin().roles) add(id, privs, true);
    for (const auto& [id, privs] : sim.custom_roles) add(id, privs, false);
    return reply(a);
}

http::Response read_role(Sim& sim, Call& c) {
    auto privs = sim.role_privs(c.var("roleid"));
    if (!privs) return pve_error(500, "role '" + c.var("roleid") + "' does not exist");
    json::object o;
    for (const auto& p : *privs) o[p] = 1;
    return reply(o);
}

http::Response create_role(Sim& sim, Call& c) {
    auto& p = c.p;
    if (!p.count("roleid")) return param_error({{"roleid", "property is missing and it is not optional"}});
    if (auto denied = sim.need(c, "/access", "Sys.Modify")) return *denied;
    auto id = p["roleid"];
    std::string lower = id.substr(0, 3);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "pve")
        return param_error(
            {{"roleid", "cannot use role ID starting with the (case-insensitive) 'PVE' namespace"}});
    if (sim.role_privs(id)) return pve_error(500, "create role failed: role '" + id + "' already exists");
    PrivSet privs;
    for (const auto& priv : split_list(p["privs"])) {
        if (!builtin().valid.count(priv))
            return pve_error(500, "create role failed: invalid privilege '" + priv + "'");
        privs.insert(priv);
    }
    sim.custom_roles[id] = privs;
    return reply(nullptr);
}

// PUT /access/roles/{roleid}: privs replace the role's (append=1: added to them), as PVE::API2::Role.
http::Response update_role(Sim& sim, Call& c) {
    const auto& id = c.var("roleid");
    if (auto denied = sim.need(c, "/access", "Sys.Modify")) return *denied;
    if (builtin().roles.count(id))
        return pve_error(500, "auto-generated role '" + id + "' cannot be modified");
    auto it = sim.custom_roles.find(id);
    if (it == sim.custom_roles.end())
        return pve_error(500, "update role failed: role '" + id + "' does not exist");
    PrivSet privs;
    if (c.p.count("append") && c.p["append"] == "1") privs = it->second;
    for (const auto& priv : split_list(c.p["privs"])) {
        if (!builtin().valid.count(priv))
            return pve_error(500, "update role failed: invalid privilege '" + priv + "'");
        privs.insert(priv);
    }
    it->second = std::move(privs);
    return reply(nullptr);
}

http::Response delete_role(Sim& sim, Call& c) {
    const auto& id = c.var("roleid");
    if (auto denied = sim.need(c, "/access", "Sys.Modify")) return *denied;
    if (builtin().roles.count(id)) return pve_error(500, "cannot delete special role '" + id + "'");
    if (!sim.custom_roles.erase(id))
        return pve_error(500, "delete role failed: role '" + id + "' does not exist");
    for (auto& [path, entries] : sim.acl)
        std::erase_if(entries, [&](const AclEntry& e) { return e.roleid == id; });
    return reply(nullptr);
}

json::object privs_json(const Privs& privs) {
    json::object o;
    for (const auto& [priv, propagate] : privs) o[priv] = propagate ? 1 : 0;
    return o;
}

// GET /access/permissions: one path, or every path of the ACL tree plus the top-level ones.
http::Response permissions(Sim& sim, Call& c) {
    auto userid = c.p.count("userid") ? c.p["userid"] : c.user;
    if (userid != c.user && user_of(userid) != c.user)
        if (auto denied = sim.need(c, "/access", "Sys.Audit")) return *denied;
    json::object out;
    if (c.p.count("path")) {
        auto privs = sim.permissions(userid, c.p["path"]);
        if (!privs.empty()) out[c.p["path"]] = privs_json(privs);
        return reply(out);
    }
    std::set<std::string> paths{"/",     "/access", "/access/groups", "/nodes",
                                "/pool", "/sdn",    "/storage",       "/vms"};
    for (const auto& [path, entries] : sim.acl) paths.insert(path);
    for (const auto& path : paths)
        if (auto privs = sim.permissions(userid, path); !privs.empty()) out[path] = privs_json(privs);
    return reply(out);
}

std::string realm_type(const std::string& realm) {
    if (realm == "pam" || realm == "pve") return realm;
    return "ldap";
}

http::Response list_users(Sim& sim, Call& c) {
    json::array a;
    bool all = sim.has(c.user, "/access/groups", "User.Modify") || sim.has(c.user, "/access", "Sys.Audit");
    for (const auto& [id, pw] : sim.users) {
        if (!all && id != user_of(c.user)) continue;
        a.push_back(json::object{{"userid", id},
                                 {"enable", 1},
                                 {"expire", 0},
                                 {"realm-type", realm_type(id.substr(id.find('@') + 1))}});
    }
    return reply(a);
}

http::Response create_user(Sim& sim, Call& c) {
    auto& p = c.p;
    if (!p.count("userid")) return param_error({{"userid", "property is missing and it is not optional"}});
    auto id = p["userid"];
    static const std::regex valid("^[^\\s:/]+@[A-Za-z][A-Za-z0-9._-]+$");
    if (!std::regex_match(id, valid))
        return param_error({{"userid", "value '" + id + "' does not look like a valid user name"}});
    if (auto denied = sim.need(c, "/access/groups", "User.Modify")) return *denied;
    auto realm = id.substr(id.find('@') + 1);
    if (!sim.known_realm(id))
        return pve_error(500, "create user failed: auth domain '" + realm + "' does not exist");
    if (sim.users.count(id)) return pve_error(500, "create user failed: user '" + id + "' already exists");
    if (p.count("password") && realm_type(realm) == "ldap")
        return pve_error(500, "create user failed: can't set password on auth type 'ldap'");
    sim.users[id] = p.count("password") ? p["password"] : "";
    return reply(nullptr);
}

http::Response delete_user(Sim& sim, Call& c) {
    const auto& id = c.var("userid");
    if (auto denied = sim.need(c, "/access/groups", "User.Modify")) return *denied;
    if (!sim.users.erase(id)) return pve_error(500, "delete user failed: user '" + id + "' does not exist");
    for (auto& [path, entries] : sim.acl)
        std::erase_if(entries, [&](const AclEntry& e) { return e.type != "group" && user_of(e.ugid) == id; });
    for (auto& [g, members] : sim.groups) members.erase(id);
    return reply(nullptr);
}

}  // namespace

void add_access_routes(RouteTable& t) {
    t.add({M::get, "/access/acl", read_acl});
    t.add({M::put, "/access/acl", update_acl});
    t.add({M::get, "/access/roles", list_roles});
    t.add({M::post, "/access/roles", create_role});
    t.add({M::get, "/access/roles/{roleid}", read_role});
    t.add({M::put, "/access/roles/{roleid}", update_role});
    t.add({M::del, "/access/roles/{roleid}", delete_role});
    t.add({M::get, "/access/permissions", permissions});
    t.add({M::get, "/access/users", list_users});
    t.add({M::post, "/access/users", create_user});
    t.add({M::del, "/access/users/{userid}", delete_user});
}

}  // namespace np::pvesim
