// Storage routes: /nodes/{node}/storage, .../storage/{storage}/content (volumes, filtered by vmid) and the
// deletion of one volume (an imgdel task). Privileges as pve-storage checks them: Datastore.Audit or
// Datastore.AllocateSpace on /storage/{storage} to list, Datastore.Allocate to delete.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using M = http::Method;
using Sim = Simulator::Impl;

bool may_list(const Sim& sim, const std::string& user, const std::string& storage) {
    return sim.has(user, "/storage/" + storage, "Datastore.Audit") ||
           sim.has(user, "/storage/" + storage, "Datastore.AllocateSpace");
}

http::Response list_storage(Sim& sim, Call& c) {
    json::array a;
    for (const auto& st : {sim.profile.local_storage, sim.profile.shared_storage})
        if (!st.empty() && may_list(sim, c.user, st)) a.push_back(sim.storage_row(c.var("node"), st));
    return reply(a);
}

bool known_storage(const Sim& sim, const std::string& storage) {
    return storage == sim.profile.local_storage || storage == sim.profile.shared_storage;
}

http::Response list_content(Sim& sim, Call& c) {
    const auto& node = c.var("node");
    const auto& storage = c.var("storage");
    if (!may_list(sim, c.user, storage)) {
        ++sim.permission_denials;
        return perm_error("/storage/" + storage, "Datastore.Audit|Datastore.AllocateSpace");
    }
    if (!known_storage(sim, storage)) return pve_error(500, "storage '" + storage + "' does not exist");
    std::string vmid = c.p.count("vmid") ? c.p["vmid"] : "";
    json::array a;
    for (const auto& v : sim.volumes) {
        if (v.storage != storage || (!v.node.empty() && v.node != node)) continue;
        if (!vmid.empty() && std::to_string(v.vmid) != vmid) continue;
        json::object o{{"volid", v.volid},
                       {"content", "images"},
                       {"format", "raw"},
                       {"size", v.size},
                       {"vmid", std::to_string(v.vmid)},
                       {"ctime", v.ctime}};
        if (!v.parent.empty()) o["parent"] = v.parent;
        a.push_back(o);
    }
    return reply(a);
}

http::Response delete_content(Sim& sim, Call& c) {
    const auto& storage = c.var("storage");
    if (auto denied = sim.need(c, "/storage/" + storage, "Datastore.Allocate")) return *denied;
    if (!known_storage(sim, storage)) return pve_error(500, "storage '" + storage + "' does not exist");
    return sim.op_delete_volume(c.var("node"), storage, c.var("volid"), c.user);
}

}  // namespace

http::Response Simulator::Impl::op_delete_volume(const std::string& node, const std::string& storage,
                                                 const std::string& volid, const std::string& user) {
    auto it = std::find_if(volumes.begin(), volumes.end(), [&](const Volume& v) {
        return v.volid == volid && v.storage == storage && (v.node.empty() || v.node == node);
    });
    if (it == volumes.end()) return pve_error(500, "volume '" + volid + "' does not exist");
    if (auto g = guests.find(it->vmid);
        g != guests.end() && !g->second.foreign &&
        g->second.disk_value.find(volid.substr(volid.find(':') + 1)) != std::string::npos)
        return pve_error(500, "unable to delete '" + volid + "' - volume is still in use (VM " +
                                  std::to_string(it->vmid) + ")");
    auto& task = new_task(node, "imgdel", "", user);  // PVE forks imgdel with no id
    auto upid = task.upid;
    asio::co_spawn(executor, volume_delete_worker(upid, volid, storage, node), asio::detached);
    return reply(json::value(upid));
}

asio::awaitable<void> Simulator::Impl::volume_delete_worker(std::string upid, std::string volid,
                                                            std::string storage, std::string node) {
    auto self = shared_from_this();
    co_await sleep(profile.volume_delete_ms);
    std::erase_if(volumes, [&](const Volume& v) {
        return v.volid == volid && v.storage == storage && (v.node.empty() || v.node == node);
    });
    end_task(upid, "OK");
}

void add_storage_routes(RouteTable& t) {
    t.add({M::get, "/nodes/{node}/storage", list_storage});
    t.add({M::get, "/nodes/{node}/storage/{storage}/content", list_content});
    t.add({M::del, "/nodes/{node}/storage/{storage}/content/{volid}", delete_content});
}

}  // namespace np::pvesim
