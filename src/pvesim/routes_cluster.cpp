// Cluster and node routes: /version, /nodes, /nodes/{node}/status, /cluster/resources, /cluster/nextid and
// the resource pools. A non-root user sees only the guests they hold VM.Audit on (pve-manager's resources
// call filters the same way) and the pools they hold Pool.Audit on.
#include <algorithm>
#include <boost/json.hpp>

#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace json = boost::json;

namespace {

using M = http::Method;
using Sim = Simulator::Impl;

http::Response version(Sim&, Call&) {
    return reply(json::object{{"version", "8.4.1"}, {"release", "8.4"}, {"repoid", "2a5fa54a8503f96d"}});
}

http::Response nodes(Sim& sim, Call&) {
    json::array a;
    for (const auto& nd : sim.profile.nodes)
        a.push_back(json::object{{"node", nd.name},
                                 {"status", "online"},
                                 {"cpu", 0.05},
                                 {"maxcpu", nd.maxcpu},
                                 {"mem", sim.node_mem_used(nd.name)},
                                 {"maxmem", nd.maxmem},
                                 {"uptime", 86400},
                                 {"level", ""},
                                 {"ssl_fingerprint", "AA:BB"}});
    return reply(a);
}

http::Response node_status(Sim& sim, Call& c) {
    const auto& node = c.var("node");
    const auto& spec = *std::find_if(sim.profile.nodes.begin(), sim.profile.nodes.end(),
                                     [&](const NodeSpec& x) { return x.name == node; });
    return reply(
        json::object{{"cpu", 0.05},
                     {"uptime", 86400},
                     {"pveversion", "pve-manager/8.4.1"},
                     {"memory", json::object{{"total", spec.maxmem},
                                             {"used", sim.node_mem_used(node)},
                                             {"free", spec.maxmem - sim.node_mem_used(node)}}},
                     {"cpuinfo", json::object{{"cpus", spec.maxcpu}, {"sockets", 1}, {"model", "sim"}}}});
}

void storage_rows(Sim& sim, const std::string& user, json::array& a) {
    for (const auto& nd : sim.profile.nodes)
        for (const auto& st : {sim.profile.local_storage, sim.profile.shared_storage}) {
            if (st.empty()) continue;
            if (!sim.has(user, "/storage/" + st, "Datastore.Audit") &&
                !sim.has(user, "/storage/" + st, "Datastore.AllocateSpace"))
                continue;
            a.push_back(json::object{{"id", "storage/" + nd.name + "/" + st},
                                     {"type", "storage"},
                                     {"node", nd.name},
                                     {"storage", st},
                                     {"status", "available"},
                                     {"shared", sim.is_shared(st) ? 1 : 0},
                                     {"content", "images,rootdir"},
                                     {"plugintype", sim.is_shared(st) ? "rbd" : "lvmthin"}});
        }
}

http::Response resources(Sim& sim, Call& c) {
    std::string type = c.p.count("type") ? c.p["type"] : "";
    if (!type.empty() && type != "vm" && type != "storage" && type != "node" && type != "sdn")
        return param_error(
            {{"type",
              "value '" + type + "' does not have a value in the enumeration 'vm, storage, node, sdn'"}});
    json::array a;
    if (type.empty() || type == "node")
        for (const auto& nd : sim.profile.nodes)
            a.push_back(json::object{{"id", "node/" + nd.name},
                                     {"type", "node"},
                                     {"node", nd.name},
                                     {"status", "online"},
                                     {"maxmem", nd.maxmem},
                                     {"mem", sim.node_mem_used(nd.name)},
                                     {"maxcpu", nd.maxcpu},
                                     {"cpu", 0.05}});
    if (type.empty() || type == "storage") storage_rows(sim, c.user, a);
    if (type.empty() || type == "vm")
        for (const auto& [id, g] : sim.guests)
            if (sim.has_vm(c.user, g, "VM.Audit")) a.push_back(sim.guest_row(g));
    if (type.empty())
        for (const auto& [pid, comment] : sim.pools)
            if (sim.has(c.user, "/pool/" + pid, "Pool.Audit"))
                a.push_back(json::object{{"id", "/pool/" + pid}, {"type", "pool"}, {"pool", pid}});
    return reply(a);
}

http::Response nextid(Sim& sim, Call& c) {
    if (c.p.count("vmid")) {
        int v = 0;
        if (!valid_vmid(c.p["vmid"], v))
            return param_error({{"vmid", "invalid format - value does not look like a valid VM ID"}});
        if (sim.guests.count(v))
            return param_error({{"vmid", "VM " + std::to_string(v) + " already exists"}});
        return reply(json::value(std::to_string(v)));
    }
    int v = 100;
    while (sim.guests.count(v)) ++v;
    return reply(json::value(std::to_string(v)));  // reserves nothing (API.md §6)
}

http::Response list_pools(Sim& sim, Call& c) {
    json::array a;
    for (const auto& [pid, comment] : sim.pools)
        if (sim.has(c.user, "/pool/" + pid, "Pool.Audit"))
            a.push_back(json::object{{"poolid", pid}, {"comment", comment}});
    return reply(a);
}

http::Response create_pool(Sim& sim, Call& c) {
    auto& p = c.p;
    if (!p.count("poolid")) return param_error({{"poolid", "property is missing and it is not optional"}});
    if (auto denied = sim.need(c, "/pool/" + p["poolid"], "Pool.Allocate")) return *denied;
    if (sim.pools.count(p["poolid"]))
        return pve_error(500, "create pool failed: pool '" + p["poolid"] + "' already exists");
    sim.pools[p["poolid"]] = p.count("comment") ? p["comment"] : "";
    return reply(nullptr);
}

http::Response read_pool(Sim& sim, Call& c) {
    const auto& id = c.var("poolid");
    if (auto denied = sim.need(c, "/pool/" + id, "Pool.Audit")) return *denied;
    auto it = sim.pools.find(id);
    if (it == sim.pools.end()) return pve_error(500, "pool '" + id + "' does not exist");
    json::array members;
    for (const auto& [vmid, g] : sim.guests)
        if (g.pool == id) members.push_back(sim.guest_row(g));
    return reply(json::object{{"comment", it->second}, {"members", members}});
}

// PUT /pools/{poolid}: comment, and `vms` to add (or remove with delete=1).
http::Response update_pool(Sim& sim, Call& c) {
    const auto& id = c.var("poolid");
    auto& p = c.p;
    if (auto denied = sim.need(c, "/pool/" + id, "Pool.Allocate")) return *denied;
    auto it = sim.pools.find(id);
    if (it == sim.pools.end()) return pve_error(500, "pool '" + id + "' does not exist");
    if (p.count("comment")) it->second = p["comment"];
    if (!p.count("vms")) return reply(nullptr);
    const auto& list = p["vms"];
    std::size_t pos = 0;
    while (pos < list.size()) {
        auto comma = list.find(',', pos);
        auto item = list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        pos = comma == std::string::npos ? list.size() : comma + 1;
        int v = 0;
        if (!valid_vmid(item, v) || !sim.guests.count(v))
            return pve_error(500, "update pools failed: no such VM " + item);
        auto& g = sim.guests[v];
        if (p.count("delete") && p["delete"] == "1") {
            if (g.pool == id) g.pool.clear();
            continue;
        }
        if (!g.pool.empty() && g.pool != id)
            return pve_error(500, "update pools failed: VM " + item + " is already a pool member");
        g.pool = id;
    }
    return reply(nullptr);
}

http::Response delete_pool(Sim& sim, Call& c) {
    const auto& id = c.var("poolid");
    if (auto denied = sim.need(c, "/pool/" + id, "Pool.Allocate")) return *denied;
    auto it = sim.pools.find(id);
    if (it == sim.pools.end()) return pve_error(500, "pool '" + id + "' does not exist");
    for (const auto& [vmid, g] : sim.guests)
        if (g.pool == id) return pve_error(500, "delete pool failed: pool '" + id + "' is not empty");
    sim.pools.erase(it);
    return reply(nullptr);
}

}  // namespace

void add_cluster_routes(RouteTable& t) {
    t.add({M::get, "/version", version});
    t.add({M::get, "/nodes", nodes});
    t.add({M::get, "/nodes/{node}/status", node_status});
    t.add({M::get, "/cluster/resources", resources});
    t.add({M::get, "/cluster/nextid", nextid});
    t.add({M::get, "/pools", list_pools});
    t.add({M::post, "/pools", create_pool});
    t.add({M::get, "/pools/{poolid}", read_pool});
    t.add({M::put, "/pools/{poolid}", update_pool});
    t.add({M::del, "/pools/{poolid}", delete_pool});
}

}  // namespace np::pvesim
