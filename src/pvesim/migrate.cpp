// Migration and config edits: POST /nodes/{node}/qemu/{vmid}/migrate (qemu-server's migrate_vm: the API's
// early checks answer at once, the rest runs as a `qmigrate` task that locks the VM `migrate`, copies its
// local disks to the target node for the profile's time and moves the guest there) and PUT
// /nodes/{node}/{qemu,lxc}/{vmid}/config (the synchronous update: name/hostname and description).
// Refusals are worded as qemu-server and pve-guest-common word them: target is the local node, unknown
// node, VM locked, running VM without --online, running VM with local disks without with-local-disks,
// a linked clone on local storage, a template whose base disk linked clones use.
#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <cstdio>

#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using M = http::Method;
using Sim = Simulator::Impl;

bool flag(Params& p, const char* key) {
    auto it = p.find(key);
    return it != p.end() && (it->second == "1" || it->second == "true");
}

std::string duration_text(Clock::duration d) {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>((s / 60) % 60), static_cast<long long>(s % 60));
    return buf;
}

// The volume name without its storage ("base-9000-disk-0/vm-101-disk-0").
std::string volname(const std::string& volid) {
    return volid.substr(volid.find(':') + 1);
}

}  // namespace

http::Response Simulator::Impl::op_migrate(const std::string& node, int vmid, Params& p,
                                           const std::string& user) {
    if (!p.count("target") || p["target"].empty())
        return param_error({{"target", "property is missing and it is not optional"}});
    const std::string target = p["target"];
    if (target == node) return param_error({{"target", "target is local node."}});
    if (!node_exists(target)) return pve_error(500, "no such cluster node '" + target + "'");
    auto* g = find_guest(node, "qemu", vmid);
    if (!g) return pve_error(500, missing_config(node, "qemu", vmid));
    std::string storage = p.count("targetstorage") && p["targetstorage"] != "1" ? p["targetstorage"] : "";
    if (!storage.empty() && storage != profile.local_storage && storage != profile.shared_storage)
        return pve_error(500, "storage '" + storage + "' does not exist");
    if (!g->lock.empty()) {
        ++locked_refusals;
        return pve_error(500, "VM " + std::to_string(vmid) + " is locked (" + g->lock + ")");
    }
    bool online = g->status == "running";
    if (online && !flag(p, "online")) return pve_error(500, "can't migrate running VM without --online");
    auto& task = new_task(node, "qmigrate", std::to_string(vmid), user);
    g->lock = "migrate";  // phase 1 sets it first thing; others see the VM locked from now on
    MigrateJob job{task.upid,
                   vmid,
                   node,
                   target,
                   storage.empty() ? g->storage : storage,
                   online,
                   flag(p, "with-local-disks")};
    asio::co_spawn(executor, migrate_worker(std::move(job)), asio::detached);
    return reply(json::value(task.upid));
}

// Why the volumes of `vmid` cannot move (qemu-server's scan_local_volumes), or "".
std::string Simulator::Impl::migrate_blocker(const MigrateJob& job, std::vector<std::string>& log) {
    std::string blocker;
    for (const auto& v : volumes) {
        if (v.vmid != job.vmid || is_shared(v.storage)) continue;
        if (!v.parent.empty()) {  // a linked clone on local storage (named as its config names it)
            auto base = v.parent.substr(0, v.parent.find('@'));
            return "can't migrate '" + v.storage + ":" + base + "/" + volname(v.volid) +
                   "' as it's a clone of '" + base + "'";
        }
        bool used = std::any_of(volumes.begin(), volumes.end(), [&](const Volume& o) {
            return o.parent == volname(v.volid) + "@__base__" && o.node == v.node;
        });
        if (used) {
            log.push_back("can't migrate local disk '" + v.volid + "': referenced by linked clone(s)");
            blocker = "can't migrate VM - check log";
        } else if (job.online && !job.with_local_disks) {
            log.push_back("can't migrate local disk '" + v.volid +
                          "': can't live migrate attached local disks without with-local-disks option");
            blocker = "can't migrate VM - check log";
        } else {
            log.push_back("found local disk '" + v.volid + "' (attached)");
        }
    }
    return blocker;
}

asio::awaitable<void> Simulator::Impl::migrate_worker(MigrateJob job) {
    auto self = shared_from_this();
    auto started = Clock::now();
    auto& g = guests.at(job.vmid);  // locked: nothing removes it meanwhile
    std::size_t node_index = 1;
    for (std::size_t i = 0; i < profile.nodes.size(); ++i)
        if (profile.nodes[i].name == job.target) node_index = i + 1;
    tasks.at(job.upid).log.push_back("starting migration of VM " + std::to_string(job.vmid) + " to node '" +
                                     job.target + "' (10.0.0." + std::to_string(node_index) + ")");
    auto fail = [&](const std::string& why) {
        g.lock.clear();
        ++migrations_failed;
        tasks.at(job.upid).log.push_back("migration aborted (duration " +
                                         duration_text(Clock::now() - started) + "): " + why);
        end_task(job.upid, "migration aborted");
    };
    std::vector<std::string> lines;
    auto blocker = migrate_blocker(job, lines);
    for (auto& l : lines) tasks.at(job.upid).log.push_back(std::move(l));
    if (!blocker.empty()) {
        fail("Problem found while scanning volumes - " + blocker);
        co_return;
    }
    bool local = !is_shared(g.storage);
    int ms = profile.migrate_ms;
    if (local) {  // the disks are copied over the network: time grows with their size
        ms += static_cast<int>(static_cast<double>(profile.migrate_ms_per_gib) * static_cast<double>(g.disk) /
                               static_cast<double>(1LL << 30));
        tasks.at(job.upid).log.push_back("copying local disk images");
    }
    auto& lock = storage_lock(job.source, g.storage);
    if (!co_await lock.acquire(executor, Ms(profile.storage_lock_timeout_ms))) {
        fail(lock_timeout_message(g.storage));
        co_return;
    }
    co_await sleep(ms);
    lock.release();
    for (auto& v : volumes) {
        if (v.vmid != job.vmid || is_shared(v.storage)) continue;
        auto moved = job.storage + ":" + volname(v.volid);
        tasks.at(job.upid).log.push_back("volume '" + v.volid + "' is '" + moved + "' on the target");
        v.node = job.target;
        v.storage = job.storage;
        v.volid = moved;
    }
    if (local && job.storage != g.storage) {
        g.disk_value = job.storage + g.disk_value.substr(g.disk_value.find(':'));
        g.storage = job.storage;
    }
    g.node = job.target;
    g.lock.clear();
    ++migrations_ok;
    tasks.at(job.upid).log.push_back("migration finished successfully (duration " +
                                     duration_text(Clock::now() - started) + ")");
    end_task(job.upid, "OK");
}

http::Response Simulator::Impl::op_set_config(const std::string& node, const std::string& kind, int vmid,
                                              Params& p) {
    const std::string name_key = kind == "qemu" ? "name" : "hostname";
    std::map<std::string, std::string> errs;
    for (const auto& kv : p)
        if (kv.first != name_key && kv.first != "description" && kv.first != "digest")
            errs[kv.first] =
                "property is not defined in schema and the schema does not allow additional properties";
    if (!errs.empty()) return param_error(errs);
    auto* g = find_guest(node, kind, vmid);
    if (!g) return pve_error(500, missing_config(node, kind, vmid));
    // A `digest` that is not the config's any more: refused before anything else (qemu-server's
    // update_vm_api, pve-container's assert_if_modified), so two writers of one config serialize on it.
    if (auto d = p.find("digest"); d != p.end() && !d->second.empty() &&
                                   d->second != json::value_to<std::string>(config_of(*g).at("digest")))
        return pve_error(500, kind == "qemu" ? "checksum mismatch (file change by other user?)"
                                             : "detected modified configuration - file changed by other "
                                               "user? Try again.");
    if (!g->lock.empty()) {
        ++locked_refusals;
        return pve_error(500, who(kind) + " " + std::to_string(vmid) + " is locked (" + g->lock + ")");
    }
    if (auto it = p.find(name_key); it != p.end()) {
        if (it->second.empty()) return param_error({{name_key, "value does not look like a valid DNS name"}});
        g->name = it->second;
    }
    return reply(nullptr);
}

namespace {

http::Response migrate(Sim& sim, Call& c) {
    int vmid = std::stoi(c.var("vmid"));
    if (auto denied = sim.need_vm(c, vmid, "VM.Migrate")) return *denied;
    return sim.op_migrate(c.var("node"), vmid, c.p, c.user);
}

http::Response set_config(Sim& sim, Call& c) {
    int vmid = std::stoi(c.var("vmid"));
    if (auto denied = sim.need_vm(c, vmid, "VM.Config.Options")) return *denied;
    return sim.op_set_config(c.var("node"), c.kind, vmid, c.p);
}

}  // namespace

void add_migrate_routes(RouteTable& t) {
    t.add({M::post, "/nodes/{node}/qemu/{vmid}/migrate", migrate, true, "qemu"});
    for (const char* kind : {"qemu", "lxc"})
        t.add({M::put, std::string("/nodes/{node}/") + kind + "/{vmid}/config", set_config, true, kind});
}

}  // namespace np::pvesim
