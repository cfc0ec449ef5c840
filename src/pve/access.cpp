#include "pve/access.hpp"

#include <boost/json.hpp>
#include <set>
#include <string_view>

#include "core/error.hpp"

namespace np::pve {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string str(const json::object& o, const char* key) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return {};
    if (it->value().is_string()) return std::string(it->value().get_string());
    return json::serialize(it->value());
}

bool truthy(const json::value& v) {
    if (v.is_int64()) return v.get_int64() != 0;
    if (v.is_uint64()) return v.get_uint64() != 0;
    if (v.is_bool()) return v.get_bool();
    if (v.is_string()) return v.get_string() != "0" && !v.get_string().empty();
    return false;
}

std::string vm_path(int vmid) {
    if (vmid < 100) throw core::invalid("VMID " + std::to_string(vmid) + " is not a valid Proxmox VM ID");
    return "/vms/" + std::to_string(vmid);
}

asio::awaitable<void> put_acl(Client& client, const std::string& userid, int vmid, const std::string& roleid,
                              bool remove) {
    if (userid.find('@') == std::string::npos)
        throw core::invalid("Proxmox user '" + userid + "' must look like name@realm");
    Params p;
    p.emplace_back("path", vm_path(vmid));
    p.emplace_back("users", userid);
    p.emplace_back("roles", roleid);
    if (remove)
        p.emplace_back("delete", "1");
    else
        p.emplace_back("propagate", "1");
    co_await client.call("PUT", "/access/acl", p);  // idempotent: the same entry set twice is one entry
}

// A role's privileges as GET /access/roles lists them ("VM.Audit,VM.Console").
std::set<std::string> privilege_set(std::string_view joined) {
    std::set<std::string> out;
    std::size_t start = 0;
    while (start <= joined.size()) {
        auto end = joined.find(',', start);
        if (end == std::string_view::npos) end = joined.size();
        auto item = joined.substr(start, end - start);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace(item);
        start = end + 1;
    }
    return out;
}

}  // namespace

std::vector<std::string> student_role_privileges() {
    return {"VM.Audit", "VM.Console", "VM.PowerMgmt"};
}

asio::awaitable<void> ensure_role(Client& client, std::string roleid, std::vector<std::string> privileges) {
    std::string privs;
    for (const auto& p : privileges) privs += (privs.empty() ? "" : ",") + p;
    // (named locals, not braced temporaries inside co_await: GCC 12 miscompiles those)
    Params params;
    params.emplace_back("privs", privs);
    auto roles = co_await client.call("GET", "/access/roles");
    if (roles.is_array())
        for (const auto& r : roles.get_array()) {
            if (!r.is_object() || str(r.get_object(), "roleid") != roleid) continue;
            if (privilege_set(str(r.get_object(), "privs")) == privilege_set(privs)) co_return;
            // Made by an older netpraxis or edited by hand: set it back to exactly these privileges.
            co_await client.call("PUT", "/access/roles/" + roleid, params);
            co_return;
        }
    params.emplace_back("roleid", roleid);
    CallOptions once;
    once.idempotent = false;
    try {
        co_await client.call("POST", "/access/roles", params, once);
    } catch (const ApiError& e) {
        if (e.pve_message().find("already exists") == std::string::npos) throw;  // made meanwhile: fine
    }
}

asio::awaitable<void> ensure_student_role(Client& client) {
    co_await ensure_role(client, kStudentRole, student_role_privileges());
}

asio::awaitable<void> ensure_user(Client& client, std::string userid) {
    Params params;
    params.emplace_back("userid", userid);
    CallOptions once;
    once.idempotent = false;
    try {
        co_await client.call("POST", "/access/users", params, once);
    } catch (const ApiError& e) {
        if (e.pve_message().find("already exists") == std::string::npos) throw;
    }
}

asio::awaitable<void> grant_vm_role(Client& client, std::string userid, int vmid, std::string roleid) {
    co_await put_acl(client, userid, vmid, roleid, false);
}

asio::awaitable<void> revoke_vm_role(Client& client, std::string userid, int vmid, std::string roleid) {
    co_await put_acl(client, userid, vmid, roleid, true);
}

asio::awaitable<std::vector<AclEntry>> read_acl(Client& client) {
    auto data = co_await client.call("GET", "/access/acl");
    if (!data.is_array()) throw core::upstream("Proxmox GET /access/acl: reply is not a list");
    std::vector<AclEntry> out;
    for (const auto& v : data.get_array()) {
        if (!v.is_object()) continue;
        const auto& o = v.get_object();
        AclEntry e{str(o, "path"), str(o, "type"), str(o, "ugid"), str(o, "roleid"), true};
        if (auto it = o.find("propagate"); it != o.end()) e.propagate = truthy(it->value());
        out.push_back(std::move(e));
    }
    co_return out;
}

asio::awaitable<std::map<std::string, bool>> permissions(Client& client, std::string userid,
                                                         std::string path) {
    Params params;
    params.emplace_back("userid", userid);
    params.emplace_back("path", path);
    auto data = co_await client.call("GET", "/access/permissions", params);
    std::map<std::string, bool> out;
    if (!data.is_object()) co_return out;
    auto it = data.get_object().find(path);
    if (it == data.get_object().end() || !it->value().is_object()) co_return out;
    for (const auto& kv : it->value().get_object()) out[std::string(kv.key())] = truthy(kv.value());
    co_return out;
}

}  // namespace np::pve
