// The guest lifecycle: one operation per function, each an HTTP part (checks, then a task) and its task
// worker: clone (op_clone, clone_worker), destroy (op_destroy, destroy_worker), start/stop/shutdown
// (op_status_change, status_worker), template (op_template, template_worker). The routes check the
// privileges PVE's API schema names first (VM.Clone and VM.Allocate on the new id, VM.Allocate,
// VM.PowerMgmt): a user without them gets 403 whether the guest exists or not.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace asio = boost::asio;
namespace json = boost::json;

http::Response Simulator::Impl::op_clone(const std::string& node, const std::string& kind, int vmid,
                                         std::map<std::string, std::string>& p, const std::string& user) {
    std::map<std::string, std::string> errs;
    int newid = 0;
    if (!p.count("newid"))
        errs["newid"] = "property is missing and it is not optional";
    else if (!valid_vmid(p["newid"], newid))
        errs["newid"] = "invalid format - value does not look like a valid VM ID";
    if (!errs.empty()) return param_error(errs);
    auto it = guests.find(vmid);
    if (it == guests.end() || it->second.node != node || it->second.kind != kind)
        return pve_error(500, missing_config(node, kind, vmid));
    Guest src = it->second;
    bool full = p.count("full") ? p["full"] == "1" : !src.is_template;
    if (!src.is_template) full = true;
    std::string target = p.count("target") ? p["target"] : "";
    if (!target.empty() && !node_exists(target))
        return pve_error(500, "no such cluster node '" + target + "'");
    if (!target.empty() && target != node && !is_shared(src.storage))
        return pve_error(500, "can't clone VM to node '" + target + "' (VM uses local storage)");
    if (!src.lock.empty()) {
        ++locked_refusals;
        return pve_error(500, who(kind) + " " + std::to_string(vmid) + " is locked (" + src.lock + ")");
    }
    // Fault: another client takes the id just now (the /cluster/nextid race of API.md §6).
    if (!guests.count(newid) && profile.p_vmid_race > 0 && chance() < profile.p_vmid_race) {
        ++vmid_races;
        Guest g;
        g.vmid = newid;
        g.node = profile.nodes[static_cast<std::size_t>(rng() % profile.nodes.size())].name;
        g.name = "someone-else-" + std::to_string(newid);
        g.foreign = true;
        g.storage = profile.local_storage;
        g.disk_value = g.storage + ":vm-" + std::to_string(newid) + "-disk-0,size=8G";
        volumes.push_back({g.storage + ":vm-" + std::to_string(newid) + "-disk-0", g.storage, g.node, "",
                           newid, 8LL << 30, now_unix()});
        guests[newid] = g;
    }
    std::string dest = target.empty() ? node : target;
    if (auto ex = guests.find(newid); ex != guests.end() && ex->second.node == dest) {
        ++vmid_collisions;
        return pve_error(500,
                         "unable to create VM " + std::to_string(newid) + ": config file already exists");
    }
    auto& task = new_task(node, kind == "qemu" ? "qmclone" : "vzclone", std::to_string(vmid), user);
    task.log.push_back("create " + std::string(full ? "full" : "linked") + " clone of drive scsi0 (" +
                       src.disk_value.substr(0, src.disk_value.find(',')) + ")");
    auto upid = task.upid;
    std::string name = p.count(kind == "qemu" ? "name" : "hostname") ? p[kind == "qemu" ? "name" : "hostname"]
                                                                     : "Copy-of-VM-" + src.name;
    std::string pool = p.count("pool") ? p["pool"] : "";
    asio::co_spawn(executor, clone_worker(upid, src, newid, dest, name, full, pool), asio::detached);
    return reply(json::value(upid));
}

asio::awaitable<void> Simulator::Impl::clone_worker(std::string upid, Guest src, int newid, std::string dest,
                                                    std::string name, bool full, std::string pool) {
    auto self = shared_from_this();
    // The new id on another node: the placeholder config write fails inside the worker (API.md §3).
    if (auto ex = guests.find(newid); ex != guests.end()) {
        ++vmid_collisions;
        ++clones_failed;
        end_task(upid, "clone failed: unable to create VM " + std::to_string(newid) + " - VM " +
                           std::to_string(newid) + " already exists on node '" + ex->second.node + "'");
        co_return;
    }
    Guest g;
    g.vmid = newid;
    g.kind = src.kind;
    g.node = dest;
    g.name = name;
    g.lock = "clone";
    g.storage = src.storage;
    g.agent = src.agent;
    g.maxmem = src.maxmem;
    g.disk = src.disk;
    g.pool = pool;
    guests[newid] = g;
    auto& lock = storage_lock(src.node, src.storage);
    bool got = co_await lock.acquire(executor, Ms(profile.storage_lock_timeout_ms));
    if (!got) {
        guests.erase(newid);
        ++clones_failed;
        end_task(upid, lock_timeout_message(src.storage));
        co_return;
    }
    co_await sleep(full ? profile.clone_full_ms : profile.clone_linked_ms);
    lock.release();
    auto git = guests.find(newid);
    if (git == guests.end() || git->second.lock != "clone") {
        ++clones_failed;
        end_task(upid, "clone failed: VM " + std::to_string(newid) + " vanished during clone");
        co_return;
    }
    auto vol = "vm-" + std::to_string(newid) + "-disk-0";
    std::string base = src.disk_value.substr(src.disk_value.find(':') + 1);
    base = base.substr(0, base.find(','));
    git->second.disk_value =
        src.storage + ":" + (full ? vol : base + "/" + vol) + ",size=" + std::to_string(src.disk >> 30) + "G";
    volumes.push_back({src.storage + ":" + vol, src.storage, is_shared(src.storage) ? "" : dest,
                       full ? "" : base + "@__base__", newid, src.disk, now_unix()});
    git->second.lock.clear();
    if (gns3) gns3->cloned(src.vmid, newid);  // GNS3 guests hook: clone copies the projects
    ++clones_ok;
    ++created_names[name];
    end_task(upid, "OK");
}

http::Response Simulator::Impl::op_destroy(const std::string& node, const std::string& kind, int vmid,
                                           std::map<std::string, std::string>& p, const std::string& user) {
    auto it = guests.find(vmid);
    if (it == guests.end() || it->second.node != node || it->second.kind != kind)
        return pve_error(500, missing_config(node, kind, vmid));
    auto& g = it->second;
    if (!g.lock.empty()) {
        ++locked_refusals;
        return pve_error(500, who(kind) + " " + std::to_string(vmid) + " is locked (" + g.lock + ")");
    }
    if (g.status == "running") return pve_error(500, who(kind) + " is running - destroy failed");
    bool unreferenced = p.count("destroy-unreferenced-disks") && p["destroy-unreferenced-disks"] == "1";
    auto& task = new_task(node, kind == "qemu" ? "qmdestroy" : "vzdestroy", std::to_string(vmid), user);
    g.lock = "destroyed";  // PVE keeps others off a guest being destroyed
    asio::co_spawn(executor, destroy_worker(task.upid, vmid, g.node, g.storage, unreferenced),
                   asio::detached);
    return reply(json::value(task.upid));
}

asio::awaitable<void> Simulator::Impl::destroy_worker(std::string upid, int vmid, std::string node,
                                                      std::string storage, bool unreferenced) {
    auto self = shared_from_this();
    auto& lock = storage_lock(node, storage);
    bool got = co_await lock.acquire(executor, Ms(profile.storage_lock_timeout_ms));
    if (!got) {
        if (auto it = guests.find(vmid); it != guests.end()) it->second.lock.clear();
        end_task(upid, lock_timeout_message(storage));
        co_return;
    }
    co_await sleep(profile.destroy_ms);
    lock.release();
    guests.erase(vmid);
    if (gns3) co_await gns3->destroyed(vmid);  // GNS3 guests hook: VM destroyed
    forget_vm_acl(vmid);
    // Fault: the task reports OK but the disk stays listed (ZFS "dataset is busy" and friends).
    bool silent = profile.p_silent_delete_failure > 0 && chance() < profile.p_silent_delete_failure;
    if (silent) {
        ++faults_silent_delete;
        tasks.at(upid).log.push_back("Could not remove disk '" + storage + ":vm-" + std::to_string(vmid) +
                                     "-disk-0', check manually: dataset is busy");
    } else {
        std::erase_if(volumes, [&](const Volume& v) {
            return v.vmid == vmid && (v.node.empty() || v.node == node) &&
                   (unreferenced ||
                    v.volid.find("vm-" + std::to_string(vmid) + "-disk-0") != std::string::npos);
        });
    }
    ++destroys_ok;
    end_task(upid, "OK");
}

http::Response Simulator::Impl::op_status_change(const std::string& node, const std::string& kind, int vmid,
                                                 const std::string& action, const std::string& user) {
    auto it = guests.find(vmid);
    if (it == guests.end() || it->second.node != node || it->second.kind != kind)
        return pve_error(500, missing_config(node, kind, vmid));
    auto& g = it->second;
    if (!g.lock.empty()) {
        ++locked_refusals;
        return pve_error(500, who(kind) + " " + std::to_string(vmid) + " is locked (" + g.lock + ")");
    }
    if (action == "start" && g.is_template) return pve_error(500, "you can't start a vm if it's a template");
    std::string prefix = kind == "qemu" ? "qm" : "vz";
    auto& task = new_task(node, prefix + action, std::to_string(vmid), user);
    asio::co_spawn(executor, status_worker(task.upid, vmid, action), asio::detached);
    return reply(json::value(task.upid));
}

asio::awaitable<void> Simulator::Impl::status_worker(std::string upid, int vmid, std::string action) {
    auto self = shared_from_this();
    int ms = action == "start"      ? profile.start_ms
             : action == "shutdown" ? profile.shutdown_ms
                                    : profile.stop_ms;
    co_await sleep(ms);
    if (gns3 && action != "start") co_await gns3->stopped(vmid);  // GNS3 guests hook: VM stopped
    auto it = guests.find(vmid);
    if (it == guests.end()) {
        end_task(upid, "VM " + std::to_string(vmid) + " does not exist");
        co_return;
    }
    auto& g = it->second;
    if (action == "start") {
        if (g.status == "running") {
            end_task(upid, "VM " + std::to_string(vmid) + " already running");
            co_return;
        }
        g.status = "running";
        g.started_unix = now_unix();
        g.agent_ready = Clock::now() + Ms(profile.boot_ms);
        if (gns3 && g.kind == "qemu") gns3->started(vmid);  // GNS3 guests hook: VM started
    } else {
        g.status = "stopped";
    }
    end_task(upid, "OK");
}

http::Response Simulator::Impl::op_template(const std::string& node, const std::string& kind, int vmid,
                                            const std::string& user) {
    auto it = guests.find(vmid);
    if (it == guests.end() || it->second.node != node || it->second.kind != kind)
        return pve_error(500, missing_config(node, kind, vmid));
    auto& g = it->second;
    if (!g.lock.empty())
        return pve_error(500, who(kind) + " " + std::to_string(vmid) + " is locked (" + g.lock + ")");
    if (g.status == "running") return pve_error(500, "you can't convert a running VM to a template");
    if (kind == "lxc") {
        to_template(g);
        return reply(nullptr);  // LXC template is synchronous (API.md §4)
    }
    auto& task = new_task(node, "qmtemplate", std::to_string(vmid), user);
    asio::co_spawn(executor, template_worker(task.upid, vmid), asio::detached);
    return reply(json::value(task.upid));
}

void Simulator::Impl::to_template(Guest& g) {
    g.is_template = true;
    auto from = "vm-" + std::to_string(g.vmid) + "-disk-0";
    auto to = "base-" + std::to_string(g.vmid) + "-disk-0";
    if (auto pos = g.disk_value.find(from); pos != std::string::npos)
        g.disk_value.replace(pos, from.size(), to);
    for (auto& v : volumes)
        if (v.vmid == g.vmid)
            if (auto pos = v.volid.find(from); pos != std::string::npos)
                v.volid.replace(pos, from.size(), to);
}

asio::awaitable<void> Simulator::Impl::template_worker(std::string upid, int vmid) {
    auto self = shared_from_this();
    co_await sleep(profile.template_ms);
    auto it = guests.find(vmid);
    if (it == guests.end()) {
        end_task(upid, "VM " + std::to_string(vmid) + " does not exist");
        co_return;
    }
    to_template(it->second);
    end_task(upid, "OK");
}

namespace {

using M = http::Method;
using Sim = Simulator::Impl;

http::Response clone(Sim& sim, Call& c) {
    int vmid = std::stoi(c.var("vmid"));
    if (auto denied = sim.need_vm(c, vmid, "VM.Clone")) return *denied;
    int newid = 0;
    if (c.p.count("newid") && valid_vmid(c.p["newid"], newid) && !sim.is_root(c.user)) {
        auto pool = c.p.count("pool") ? c.p["pool"] : "";
        bool may = sim.has(c.user, "/vms/" + std::to_string(newid), "VM.Allocate") ||
                   (!pool.empty() && sim.has(c.user, "/pool/" + pool, "VM.Allocate"));
        if (!may) {
            ++sim.permission_denials;
            return perm_error("/vms/" + std::to_string(newid), "VM.Allocate");
        }
    }
    return sim.op_clone(c.var("node"), c.kind, vmid, c.p, c.user);
}

http::Response destroy(Sim& sim, Call& c) {
    int vmid = std::stoi(c.var("vmid"));
    if (auto denied = sim.need_vm(c, vmid, "VM.Allocate")) return *denied;
    return sim.op_destroy(c.var("node"), c.kind, vmid, c.p, c.user);
}

http::Response make_template(Sim& sim, Call& c) {
    int vmid = std::stoi(c.var("vmid"));
    if (auto denied = sim.need_vm(c, vmid, "VM.Allocate")) return *denied;
    return sim.op_template(c.var("node"), c.kind, vmid, c.user);
}

http::Response status_change(Sim& sim, Call& c, const char* action) {
    int vmid = std::stoi(c.var("vmid"));
    if (auto denied = sim.need_vm(c, vmid, "VM.PowerMgmt")) return *denied;
    return sim.op_status_change(c.var("node"), c.kind, vmid, action, c.user);
}

}  // namespace

void add_lifecycle_routes(RouteTable& t) {
    for (const char* kind : {"qemu", "lxc"}) {
        std::string base = std::string("/nodes/{node}/") + kind + "/{vmid}";
        t.add({M::del, base, destroy, true, kind});
        t.add({M::post, base + "/clone", clone, true, kind});
        t.add({M::post, base + "/template", make_template, true, kind});
        t.add({M::post, base + "/status/start", [](Sim& s, Call& c) { return status_change(s, c, "start"); },
               true, kind});
        t.add({M::post, base + "/status/stop", [](Sim& s, Call& c) { return status_change(s, c, "stop"); },
               true, kind});
        t.add({M::post, base + "/status/shutdown",
               [](Sim& s, Call& c) { return status_change(s, c, "shutdown"); }, true, kind});
    }
}

}  // namespace np::pvesim
