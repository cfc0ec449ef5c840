#include "pvesim/simulator.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "pvesim/gns3_guests.hpp"  // GNS3 guests hook

namespace np::pvesim {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

namespace {

std::string b64(const unsigned char* data, std::size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::string hmac(const std::string& key, const std::string& msg) {
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

// Parses application/x-www-form-urlencoded text (or a query string) into a map; the last value wins.
std::map<std::string, std::string> parse_form(std::string_view text) {
    std::map<std::string, std::string> out;
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

http::Response reply(json::value data, int status = 200) {
    json::object o;
    o["data"] = std::move(data);
    return http::json_response(status, json::serialize(o));
}

// PVE 8.3+ error body: data null plus the message; the status line carries the first line (TLS listener).
http::Response pve_error(int status, const std::string& message) {
    json::object o;
    o["data"] = nullptr;
    o["message"] = message + "\n";
    auto r = http::json_response(status, json::serialize(o));
    r.header("x-pve-reason", message.substr(0, message.find('\n')));
    return r;
}

http::Response param_error(const std::map<std::string, std::string>& errors) {
    json::object o, e;
    o["data"] = nullptr;
    for (const auto& [k, v] : errors) e[k] = v;
    o["errors"] = std::move(e);
    o["message"] = "Parameter verification failed.\n";
    auto r = http::json_response(400, json::serialize(o));
    r.header("x-pve-reason", "Parameter verification failed.");
    return r;
}

struct Semaphore {
    struct Waiter {
        explicit Waiter(asio::any_io_executor ex) : timer(ex) {}
        asio::steady_timer timer;
        bool admitted = false;
    };
    int capacity;
    int in_use = 0;
    int peak = 0;
    std::deque<std::shared_ptr<Waiter>> waiters;

    explicit Semaphore(int cap) : capacity(std::max(1, cap)) {}

    // Waits at most `timeout` (negative: forever) for a slot.
    asio::awaitable<bool> acquire(asio::any_io_executor ex, Ms timeout) {
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
    void release() {
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

}  // namespace

struct Simulator::Impl : std::enable_shared_from_this<Simulator::Impl> {
    asio::any_io_executor executor;
    Profile profile;
    std::mt19937_64 rng;
    std::string ticket_key = core::random_hex(32), csrf_key = core::random_hex(32);
    std::int64_t clock_offset = 0;
    std::map<int, Guest> guests;
    std::vector<Volume> volumes;
    std::map<std::string, Task> tasks;
    std::map<std::string, std::vector<std::string>> node_tasks;  // node -> upids in start order
    std::map<std::string, std::string> pools;                    // poolid -> comment
    std::map<std::string, std::unique_ptr<Semaphore>> storage_locks;
    Semaphore workers;
    std::uint32_t next_pid = 0x1000;
    // Counters for /sim/stats.
    std::uint64_t requests = 0, faults_5xx = 0, faults_drop = 0, faults_silent_delete = 0, vmid_races = 0,
                  vmid_collisions = 0, lock_timeouts = 0, clones_ok = 0, clones_failed = 0, destroys_ok = 0,
                  tasks_started = 0, auth_failures = 0, locked_refusals = 0;
    std::map<std::string, std::uint64_t> created_names;  // name -> clones created under it (ever)
    std::shared_ptr<Gns3Guests> gns3;                    // GNS3 guests hook: set by attach_gns3_guests

    Impl(asio::any_io_executor ex, Profile p, std::uint64_t seed)
        : executor(std::move(ex)), profile(std::move(p)), rng(seed), workers(profile.max_in_flight) {
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
            volumes.push_back({g.storage + ":" + vol, g.storage, is_shared(g.storage) ? "" : g.node, "",
                               g.vmid, g.disk_bytes, now_unix()});
            guests[g.vmid] = guest;
        }
    }

    std::int64_t now_unix() const { return core::unix_now() + clock_offset; }
    bool is_shared(const std::string& storage) const { return storage == profile.shared_storage; }
    bool node_exists(const std::string& n) const {
        return std::any_of(profile.nodes.begin(), profile.nodes.end(),
                           [&](const NodeSpec& s) { return s.name == n; });
    }
    double chance() { return std::uniform_real_distribution<double>(0, 1)(rng); }

    Semaphore& storage_lock(const std::string& node, const std::string& storage) {
        auto key = is_shared(storage) ? storage : node + "/" + storage;
        auto& s = storage_locks[key];
        if (!s) s = std::make_unique<Semaphore>(profile.storage_slots);
        return *s;
    }

    asio::awaitable<void> sleep(int ms) {
        if (ms <= 0) co_return;
        asio::steady_timer t(executor, Ms(ms));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }

    // ---- auth ----
    std::string make_ticket(const std::string& user) {
        auto data = "PVE:" + user + ":" + hex8(now_unix());
        return data + "::" + hmac(ticket_key, data);
    }
    std::string make_csrf(const std::string& user) {
        auto ts = hex8(now_unix());
        return ts + ":" + hmac(csrf_key, ts + ":" + user);
    }
    // The user of a valid ticket, or nullopt.
    std::optional<std::string> check_ticket(const std::string& ticket) {
        auto sep = ticket.find("::");
        if (ticket.rfind("PVE:", 0) != 0 || sep == std::string::npos) return std::nullopt;
        auto data = ticket.substr(0, sep);
        if (hmac(ticket_key, data) != ticket.substr(sep + 2)) return std::nullopt;
        auto colon = data.rfind(':');
        auto user = data.substr(4, colon - 4);
        std::int64_t ts = std::stoll(data.substr(colon + 1), nullptr, 16);
        if (now_unix() - ts > profile.ticket_lifetime_s || ts - now_unix() > 300) return std::nullopt;
        return user;
    }
    bool check_csrf(const std::string& token, const std::string& user) {
        auto colon = token.find(':');
        if (colon == std::string::npos) return false;
        auto ts = token.substr(0, colon);
        return hmac(csrf_key, ts + ":" + user) == token.substr(colon + 1);
    }
    bool known_realm(const std::string& user) {
        auto at = user.rfind('@');
        if (at == std::string::npos) return false;
        auto realm = user.substr(at + 1);
        return realm == "pam" || realm == "pve" || realm == "teachers" || realm == "students";
    }

    // ---- tasks ----
    Task& new_task(const std::string& node, const std::string& type, const std::string& id,
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
    void end_task(const std::string& upid, const std::string& exitstatus) {
        auto& t = tasks.at(upid);
        t.running = false;
        t.endtime = std::max(now_unix(), t.starttime);
        t.exitstatus = exitstatus;
        if (exitstatus == "OK")
            t.log.push_back("TASK OK");
        else
            t.log.push_back("TASK ERROR: " + exitstatus);
    }
    std::string lock_timeout_message(const std::string& storage) {
        ++lock_timeouts;
        return "can't lock file '/var/lock/pve-manager/pve-storage-" + storage + "' - got timeout";
    }

    // ---- /cluster/resources etc. ----
    json::object guest_row(const Guest& g) {
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
    std::int64_t node_mem_used(const std::string& node) {
        std::int64_t used = 4LL << 30;
        for (const auto& [id, g] : guests)
            if (g.node == node && g.status == "running") used += g.maxmem;
        return used;
    }
    json::object storage_row(const std::string& node, const std::string& storage) {
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
    json::object config_of(const Guest& g) {
        json::object o;
        o["name"] = g.name;
        if (g.kind == "qemu") {
            o["scsi0"] = g.disk_value;
            o["memory"] = std::to_string(g.maxmem >> 20);
            o["cores"] = 2;
            o["net0"] = "virtio=BC:24:11:" + hex8(g.vmid).substr(2, 2) + ":" + hex8(g.vmid).substr(4, 2) +
                        ":" + hex8(g.vmid).substr(6, 2) + ",bridge=vmbr0";
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
        o["digest"] = core::random_hex(20);
        return o;
    }

    std::string missing_config(const std::string& node, const std::string& kind, int vmid) {
        return "Configuration file 'nodes/" + node + "/" + (kind == "qemu" ? "qemu-server" : "lxc") + "/" +
               std::to_string(vmid) + ".conf' does not exist";
    }
    std::string who(const std::string& kind) { return kind == "qemu" ? "VM" : "CT"; }

    // ---- operations that start tasks ----
    http::Response op_clone(const std::string& node, const std::string& kind, int vmid,
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
        std::string name = p.count(kind == "qemu" ? "name" : "hostname")
                               ? p[kind == "qemu" ? "name" : "hostname"]
                               : "Copy-of-VM-" + src.name;
        std::string pool = p.count("pool") ? p["pool"] : "";
        asio::co_spawn(executor, clone_worker(upid, src, newid, dest, name, full, pool), asio::detached);
        return reply(json::value(upid));
    }

    asio::awaitable<void> clone_worker(std::string upid, Guest src, int newid, std::string dest,
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
        git->second.disk_value = src.storage + ":" + (full ? vol : base + "/" + vol) +
                                 ",size=" + std::to_string(src.disk >> 30) + "G";
        volumes.push_back({src.storage + ":" + vol, src.storage, is_shared(src.storage) ? "" : dest,
                           full ? "" : base + "@__base__", newid, src.disk, now_unix()});
        git->second.lock.clear();
        if (gns3) gns3->cloned(src.vmid, newid);  // GNS3 guests hook: clone copies the projects
        ++clones_ok;
        ++created_names[name];
        end_task(upid, "OK");
    }

    http::Response op_destroy(const std::string& node, const std::string& kind, int vmid,
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

    asio::awaitable<void> destroy_worker(std::string upid, int vmid, std::string node, std::string storage,
                                         bool unreferenced) {
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

    http::Response op_status_change(const std::string& node, const std::string& kind, int vmid,
                                    const std::string& action, const std::string& user) {
        auto it = guests.find(vmid);
        if (it == guests.end() || it->second.node != node || it->second.kind != kind)
            return pve_error(500, missing_config(node, kind, vmid));
        auto& g = it->second;
        if (!g.lock.empty()) {
            ++locked_refusals;
            return pve_error(500, who(kind) + " " + std::to_string(vmid) + " is locked (" + g.lock + ")");
        }
        if (action == "start" && g.is_template)
            return pve_error(500, "you can't start a vm if it's a template");
        std::string prefix = kind == "qemu" ? "qm" : "vz";
        auto& task = new_task(node, prefix + action, std::to_string(vmid), user);
        asio::co_spawn(executor, status_worker(task.upid, vmid, action), asio::detached);
        return reply(json::value(task.upid));
    }

    asio::awaitable<void> status_worker(std::string upid, int vmid, std::string action) {
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

    http::Response op_template(const std::string& node, const std::string& kind, int vmid,
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

    void to_template(Guest& g) {
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

    asio::awaitable<void> template_worker(std::string upid, int vmid) {
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

    http::Response op_delete_volume(const std::string& node, const std::string& storage,
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

    asio::awaitable<void> volume_delete_worker(std::string upid, std::string volid, std::string storage,
                                               std::string node) {
        auto self = shared_from_this();
        co_await sleep(profile.volume_delete_ms);
        std::erase_if(volumes, [&](const Volume& v) {
            return v.volid == volid && v.storage == storage && (v.node.empty() || v.node == node);
        });
        end_task(upid, "OK");
    }

    json::value agent_interfaces(const Guest& g) {
        json::array result;
        json::object lo{{"name", "lo"}, {"hardware-address", "00:00:00:00:00:00"}};
        lo["ip-addresses"] = json::array{
            json::object{{"ip-address", "127.0.0.1"}, {"ip-address-type", "ipv4"}, {"prefix", 8}}};
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

    std::string stats_json() const {
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
        for (const auto& [id, g] : guests) {
            if (g.foreign)
                ++foreign;
            else
                ++own;
            ++names[g.name];
        }
        std::uint64_t duplicate_names = 0;
        for (const auto& [n, c] : names)
            if (c > 1 && n.rfind("tpl-", 0) != 0) duplicate_names += static_cast<std::uint64_t>(c - 1);
        std::uint64_t created_twice = 0;
        for (const auto& [n, c] : created_names)
            if (c > 1) created_twice += c - 1;
        std::uint64_t orphans = 0;
        for (const auto& v : volumes)
            if (!guests.count(v.vmid)) ++orphans;
        o["vms"] = own;
        o["foreign_vms"] = foreign;
        o["volumes"] = volumes.size();
        o["orphaned_volumes"] = orphans;
        o["vmid_collisions"] = vmid_collisions;
        o["duplicate_names"] = duplicate_names;
        o["names_created_twice"] = created_twice;
        o["clones_ok"] = clones_ok;
        o["clones_failed"] = clones_failed;
        o["destroys_ok"] = destroys_ok;
        o["lock_timeouts"] = lock_timeouts;
        o["locked_refusals"] = locked_refusals;
        o["tasks_started"] = tasks_started;
        o["auth_failures"] = auth_failures;
        o["peak_in_flight"] = workers.peak;
        int peak_storage = 0;
        for (const auto& [k, s] : storage_locks) peak_storage = std::max(peak_storage, s->peak);
        o["peak_storage_ops"] = peak_storage;
        o["storage_slots"] = profile.storage_slots;
        return json::serialize(o);
    }

    asio::awaitable<http::Response> handle(http::Request& req);
    http::Response route(http::Request& req, const std::vector<std::string>& seg,
                         std::map<std::string, std::string>& p, const std::string& user);
};

http::Response Simulator::Impl::route(http::Request& req, const std::vector<std::string>& s,
                                      std::map<std::string, std::string>& p, const std::string& user) {
    auto m = req.method;
    using M = http::Method;
    auto n = s.size();
    auto not_impl = [&] {
        return pve_error(
            501, "Method '" + std::string(http::method_name(m)) + " /" + [&] {
                std::string j;
                for (const auto& x : s) j += (j.empty() ? "" : "/") + x;
                return j;
            }() + "' not implemented");
    };
    if (n == 1 && s[0] == "version" && m == M::get) {
        json::object o{{"version", "8.4.1"}, {"release", "8.4"}, {"repoid", "2a5fa54a8503f96d"}};
        return reply(o);
    }
    if (n == 1 && s[0] == "nodes" && m == M::get) {
        json::array a;
        for (const auto& nd : profile.nodes) {
            json::object o{{"node", nd.name},
                           {"status", "online"},
                           {"cpu", 0.05},
                           {"maxcpu", nd.maxcpu},
                           {"mem", node_mem_used(nd.name)},
                           {"maxmem", nd.maxmem},
                           {"uptime", 86400},
                           {"level", ""},
                           {"ssl_fingerprint", "AA:BB"}};
            a.push_back(o);
        }
        return reply(a);
    }
    if (n == 2 && s[0] == "cluster" && s[1] == "resources" && m == M::get) {
        std::string type = p.count("type") ? p["type"] : "";
        if (!type.empty() && type != "vm" && type != "storage" && type != "node" && type != "sdn")
            return param_error(
                {{"type",
                  "value '" + type + "' does not have a value in the enumeration 'vm, storage, node, sdn'"}});
        json::array a;
        if (type.empty() || type == "node")
            for (const auto& nd : profile.nodes)
                a.push_back(json::object{{"id", "node/" + nd.name},
                                         {"type", "node"},
                                         {"node", nd.name},
                                         {"status", "online"},
                                         {"maxmem", nd.maxmem},
                                         {"mem", node_mem_used(nd.name)},
                                         {"maxcpu", nd.maxcpu},
                                         {"cpu", 0.05}});
        if (type.empty() || type == "storage")
            for (const auto& nd : profile.nodes)
                for (const auto& st : {profile.local_storage, profile.shared_storage}) {
                    if (st.empty()) continue;
                    a.push_back(json::object{{"id", "storage/" + nd.name + "/" + st},
                                             {"type", "storage"},
                                             {"node", nd.name},
                                             {"storage", st},
                                             {"status", "available"},
                                             {"shared", is_shared(st) ? 1 : 0},
                                             {"content", "images,rootdir"},
                                             {"plugintype", is_shared(st) ? "rbd" : "lvmthin"}});
                }
        if (type.empty() || type == "vm")
            for (const auto& [id, g] : guests) a.push_back(guest_row(g));
        if (type.empty())
            for (const auto& [pid, c] : pools)
                a.push_back(json::object{{"id", "/pool/" + pid}, {"type", "pool"}, {"pool", pid}});
        return reply(a);
    }
    if (n == 2 && s[0] == "cluster" && s[1] == "nextid" && m == M::get) {
        if (p.count("vmid")) {
            int v = 0;
            if (!valid_vmid(p["vmid"], v))
                return param_error({{"vmid", "invalid format - value does not look like a valid VM ID"}});
            if (guests.count(v))
                return param_error({{"vmid", "VM " + std::to_string(v) + " already exists"}});
            return reply(json::value(std::to_string(v)));
        }
        int v = 100;
        while (guests.count(v)) ++v;
        return reply(json::value(std::to_string(v)));  // reserves nothing (API.md §6)
    }
    if (n >= 1 && s[0] == "pools") {
        if (n == 1 && m == M::get) {
            json::array a;
            for (const auto& [pid, c] : pools) a.push_back(json::object{{"poolid", pid}, {"comment", c}});
            return reply(a);
        }
        if (n == 1 && m == M::post) {
            if (!p.count("poolid"))
                return param_error({{"poolid", "property is missing and it is not optional"}});
            if (pools.count(p["poolid"]))
                return pve_error(500, "create pool failed: pool '" + p["poolid"] + "' already exists");
            pools[p["poolid"]] = p.count("comment") ? p["comment"] : "";
            return reply(nullptr);
        }
        if (n == 2) {
            auto it = pools.find(s[1]);
            if (it == pools.end()) return pve_error(500, "pool '" + s[1] + "' does not exist");
            if (m == M::get) {
                json::array members;
                for (const auto& [id, g] : guests)
                    if (g.pool == s[1]) members.push_back(guest_row(g));
                return reply(json::object{{"comment", it->second}, {"members", members}});
            }
            if (m == M::put) {
                if (p.count("comment")) it->second = p["comment"];
                if (p.count("vms")) {
                    auto list = p["vms"];
                    std::size_t pos = 0;
                    while (pos < list.size()) {
                        auto comma = list.find(',', pos);
                        auto item =
                            list.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
                        pos = comma == std::string::npos ? list.size() : comma + 1;
                        int v = 0;
                        if (!valid_vmid(item, v) || !guests.count(v))
                            return pve_error(500, "update pools failed: no such VM " + item);
                        auto& g = guests[v];
                        if (p.count("delete") && p["delete"] == "1") {
                            if (g.pool == s[1]) g.pool.clear();
                            continue;
                        }
                        if (!g.pool.empty() && g.pool != s[1])
                            return pve_error(500,
                                             "update pools failed: VM " + item + " is already a pool member");
                        g.pool = s[1];
                    }
                }
                return reply(nullptr);
            }
            if (m == M::del) {
                for (const auto& [id, g] : guests)
                    if (g.pool == s[1])
                        return pve_error(500, "delete pool failed: pool '" + s[1] + "' is not empty");
                pools.erase(it);
                return reply(nullptr);
            }
        }
        return not_impl();
    }
    if (n >= 2 && s[0] == "nodes") {
        const auto& node = s[1];
        if (!node_exists(node))
            return pve_error(500, "hostname lookup '" + node + "' failed - failed to get address info for: " +
                                      node + ": Name or service not known");
        if (n == 3 && s[2] == "status" && m == M::get) {
            const auto& spec = *std::find_if(profile.nodes.begin(), profile.nodes.end(),
                                             [&](const NodeSpec& x) { return x.name == node; });
            return reply(json::object{
                {"cpu", 0.05},
                {"uptime", 86400},
                {"pveversion", "pve-manager/8.4.1"},
                {"memory", json::object{{"total", spec.maxmem},
                                        {"used", node_mem_used(node)},
                                        {"free", spec.maxmem - node_mem_used(node)}}},
                {"cpuinfo", json::object{{"cpus", spec.maxcpu}, {"sockets", 1}, {"model", "sim"}}}});
        }
        if (n >= 3 && s[2] == "tasks") {
            if (n == 3 && m == M::get) {
                std::string source = p.count("source") ? p["source"] : "archive";
                std::int64_t since = p.count("since") ? std::stoll(p["since"]) : 0;
                std::size_t limit = p.count("limit") ? std::stoul(p["limit"]) : 50;
                std::size_t start = p.count("start") ? std::stoul(p["start"]) : 0;
                std::string vmid = p.count("vmid") ? p["vmid"] : "";
                std::string typefilter = p.count("typefilter") ? p["typefilter"] : "";
                std::string userfilter = p.count("userfilter") ? p["userfilter"] : "";
                json::array a;
                std::size_t skipped = 0, total = 0;
                auto& list = node_tasks[node];
                for (auto it = list.rbegin(); it != list.rend(); ++it) {  // newest first
                    const auto& t = tasks.at(*it);
                    if (source == "active" && !t.running) continue;
                    if (source == "archive" && t.running) continue;
                    if (since && t.starttime < since) continue;
                    if (!vmid.empty() && t.id != vmid) continue;
                    if (!typefilter.empty() && t.type != typefilter) continue;
                    if (!userfilter.empty() && t.user.find(userfilter) == std::string::npos) continue;
                    ++total;
                    if (skipped < start) {
                        ++skipped;
                        continue;
                    }
                    if (a.size() >= limit) continue;
                    json::object o{
                        {"upid", t.upid},           {"node", t.node}, {"pid", t.pid}, {"pstart", t.pstart},
                        {"starttime", t.starttime}, {"type", t.type}, {"id", t.id},   {"user", t.user}};
                    if (!t.running) {
                        o["status"] = t.exitstatus;
                        o["endtime"] = t.endtime;
                    }
                    a.push_back(o);
                }
                json::object out{{"data", a}, {"total", total}};
                return http::json_response(200, json::serialize(out));
            }
            if (n >= 4) {
                auto it = tasks.find(s[3]);
                if (it == tasks.end() || it->second.node != node) return pve_error(500, "no such task");
                const auto& t = it->second;
                if (n == 5 && s[4] == "status" && m == M::get) {
                    json::object o{{"upid", t.upid},
                                   {"node", t.node},
                                   {"pid", t.pid},
                                   {"pstart", t.pstart},
                                   {"starttime", t.starttime},
                                   {"type", t.type},
                                   {"id", t.id},
                                   {"user", t.user},
                                   {"status", t.running ? "running" : "stopped"}};
                    if (!t.running) o["exitstatus"] = t.exitstatus;
                    return reply(o);
                }
                if (n == 5 && s[4] == "log" && m == M::get) {
                    std::size_t start = p.count("start") ? std::stoul(p["start"]) : 0;
                    std::size_t limit = p.count("limit") ? std::stoul(p["limit"]) : 50;
                    json::array a;
                    for (std::size_t i = start; i < t.log.size() && a.size() < limit; ++i)
                        a.push_back(json::object{{"n", i + 1}, {"t", t.log[i]}});
                    json::object out{{"data", a}, {"total", t.log.size()}};
                    return http::json_response(200, json::serialize(out));
                }
            }
            return not_impl();
        }
        if (n >= 3 && s[2] == "storage") {
            if (n == 3 && m == M::get) {
                json::array a;
                for (const auto& st : {profile.local_storage, profile.shared_storage})
                    if (!st.empty()) a.push_back(storage_row(node, st));
                return reply(a);
            }
            if (n >= 5 && s[4] == "content") {
                const auto& storage = s[3];
                if (storage != profile.local_storage && storage != profile.shared_storage)
                    return pve_error(500, "storage '" + storage + "' does not exist");
                if (n == 5 && m == M::get) {
                    std::string vmid = p.count("vmid") ? p["vmid"] : "";
                    json::array a;
                    for (const auto& v : volumes) {
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
                if (n == 6 && m == M::del) return op_delete_volume(node, storage, s[5], user);
            }
            return not_impl();
        }
        if (n >= 3 && (s[2] == "qemu" || s[2] == "lxc")) {
            const auto& kind = s[2];
            if (n == 3 && m == M::get) {
                json::array a;
                for (const auto& [id, g] : guests) {
                    if (g.node != node || g.kind != kind) continue;
                    json::object o{{"vmid", g.vmid},     {"name", g.name}, {"status", g.status},
                                   {"maxmem", g.maxmem}, {"mem", 0},       {"maxdisk", g.disk},
                                   {"uptime", 0},        {"cpus", 2}};
                    if (g.is_template) o["template"] = 1;
                    if (!g.lock.empty()) o["lock"] = g.lock;
                    a.push_back(o);
                }
                return reply(a);
            }
            int vmid = 0;
            if (n >= 4 && !valid_vmid(s[3], vmid))
                return param_error({{"vmid", "invalid format - value does not look like a valid VM ID"}});
            if (n == 4 && m == M::del) return op_destroy(node, kind, vmid, p, user);
            auto found = guests.find(vmid);
            bool exists = found != guests.end() && found->second.node == node && found->second.kind == kind;
            if (n == 5 && s[4] == "config" && m == M::get) {
                if (!exists) return pve_error(500, missing_config(node, kind, vmid));
                return reply(config_of(found->second));
            }
            if (n == 5 && s[4] == "clone" && m == M::post) return op_clone(node, kind, vmid, p, user);
            if (n == 5 && s[4] == "template" && m == M::post) return op_template(node, kind, vmid, user);
            if (n == 6 && s[4] == "status") {
                if (s[5] == "current" && m == M::get) {
                    if (!exists) return pve_error(500, missing_config(node, kind, vmid));
                    const auto& g = found->second;
                    json::object o{{"vmid", g.vmid},
                                   {"name", g.name},
                                   {"status", g.status},
                                   {"cpus", 2},
                                   {"maxmem", g.maxmem},
                                   {"maxdisk", g.disk},
                                   {"uptime", g.status == "running" ? now_unix() - g.started_unix : 0}};
                    if (kind == "qemu") {
                        o["qmpstatus"] = g.status;
                        o["agent"] = g.agent ? 1 : 0;
                    }
                    if (g.is_template) o["template"] = 1;
                    if (!g.lock.empty()) o["lock"] = g.lock;
                    return reply(o);
                }
                if (m == M::post && (s[5] == "start" || s[5] == "stop" || s[5] == "shutdown"))
                    return op_status_change(node, kind, vmid, s[5], user);
            }
            if (kind == "qemu" && n == 6 && s[4] == "agent" &&
                (s[5] == "network-get-interfaces" || s[5] == "ping")) {
                if (!exists) return pve_error(500, missing_config(node, kind, vmid));
                const auto& g = found->second;
                if (g.status != "running")
                    return pve_error(500, "VM " + std::to_string(vmid) + " is not running");
                if (!g.agent) return pve_error(500, "No QEMU guest agent configured");
                if (Clock::now() < g.agent_ready) return pve_error(500, "QEMU guest agent is not running");
                if (s[5] == "ping") return reply(json::object{{"result", json::object{}}});
                return reply(agent_interfaces(g));
            }
        }
    }
    return not_impl();
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

    // Realms need no auth; login is /access/ticket.
    if (seg.size() == 2 && seg[0] == "access" && seg[1] == "domains" && req.method == http::Method::get) {
        json::array a{
            json::object{{"realm", "pam"}, {"type", "pam"}, {"comment", "Linux PAM standard authentication"}},
            json::object{{"realm", "pve"}, {"type", "pve"}, {"comment", "Proxmox VE authentication server"}},
            json::object{{"realm", "teachers"}, {"type", "ldap"}, {"comment", "Teachers (LDAP)"}},
            json::object{{"realm", "students"}, {"type", "ldap"}, {"comment", "Students (LDAP)"}}};
        co_return reply(a);
    }
    if (seg.size() == 2 && seg[0] == "access" && seg[1] == "ticket" && req.method == http::Method::post) {
        std::map<std::string, std::string> errs;
        if (!params.count("username")) errs["username"] = "property is missing and it is not optional";
        if (!params.count("password")) errs["password"] = "property is missing and it is not optional";
        if (!errs.empty()) co_return param_error(errs);
        auto user = params["username"];
        if (params.count("realm") && user.find('@') == std::string::npos) user += "@" + params["realm"];
        bool ok = false;
        for (const auto& u : profile.users)
            if (u.userid == user && u.password == params["password"]) ok = true;
        if (!ok && known_realm(user)) {
            auto t = check_ticket(params["password"]);  // renewal: a valid ticket as the password
            ok = t && *t == user;
        }
        if (!ok) {
            ++auth_failures;
            co_await sleep(profile.auth_failure_delay_ms);
            co_return pve_error(401, "authentication failure");
        }
        json::object cap{{"vms", json::object{{"VM.Allocate", 1}, {"VM.Clone", 1}}}};
        json::object o{{"username", user},
                       {"ticket", make_ticket(user)},
                       {"CSRFPreventionToken", make_csrf(user)},
                       {"cap", cap},
                       {"clustername", "sim"}};
        co_return reply(o);
    }

    // Everything else needs a ticket (plus CSRF on writes) or an API token.
    std::string user;
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
    } else {
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
        if (req.method != http::Method::get &&
            !check_csrf(std::string(req.header("csrfpreventiontoken")), user))
            co_return pve_error(401, "Permission denied - invalid csrf token");
    }

    // Faults, after auth as in a real proxy hop.
    if (profile.p_transient_5xx > 0 && chance() < profile.p_transient_5xx) {
        ++faults_5xx;
        auto pick = rng() % 3;
        if (pick == 0) co_return pve_error(596, "Connection timed out");
        if (pick == 1) co_return pve_error(595, "Connection refused");
        co_return pve_error(500, "cluster not ready - no quorum?");
    }
    bool drop = profile.p_drop > 0 && chance() < profile.p_drop;
    bool drop_after = drop && (rng() & 1);
    if (drop && !drop_after) {
        ++faults_drop;
        http::Response r;
        r.header("x-sim-drop", "1");
        co_return r;
    }
    auto res = route(req, seg, params, user);
    if (drop_after) {
        // The request was carried out but its reply is lost.
        ++faults_drop;
        res.header("x-sim-drop", "1");
    }
    co_return res;
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
    auto impl = impl_;
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
