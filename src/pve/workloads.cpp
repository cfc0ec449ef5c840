#include "pve/workloads.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/log.hpp"

namespace np::pve {

namespace asio = boost::asio;
using Ms = std::chrono::milliseconds;

std::vector<std::string> place_clones(const std::vector<PlacementNode>& nodes, std::size_t count,
                                      std::int64_t vm_mem) {
    std::vector<std::string> out;
    if (nodes.empty()) return out;
    std::vector<std::int64_t> free;
    std::vector<std::size_t> assigned(nodes.size(), 0);
    for (const auto& n : nodes) free.push_back(n.free_mem);
    for (std::size_t i = 0; i < count; ++i) {
        std::size_t best = 0;
        for (std::size_t j = 1; j < nodes.size(); ++j) {
            if (free[j] > free[best] || (free[j] == free[best] && assigned[j] < assigned[best])) best = j;
        }
        out.push_back(nodes[best].node);
        free[best] -= std::max<std::int64_t>(vm_mem, 1);
        ++assigned[best];
    }
    return out;
}

namespace {

template <class Make>
asio::awaitable<void> run_all(asio::any_io_executor ex, std::size_t n, Make make) {
    if (n == 0) co_return;
    auto remaining = std::make_shared<std::size_t>(n);
    auto timer = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < n; ++i) {
        asio::co_spawn(ex, make(i), [remaining, timer](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex2) {
                    log::error("pve.workload_item_crashed", {{"error", ex2.what()}});
                }
            }
            if (--*remaining == 0) timer->cancel();
        });
    }
    while (*remaining > 0) co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string item_name(const std::string& prefix, std::size_t index) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%03zu", index);
    return prefix + "-" + buf;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// State shared by the items of one workload run.
struct Run {
    Client& client;
    TaskWaiter waiter;
    WorkloadLimits limits;
    Summary summary;
    Progress progress;
    std::size_t total = 0, done = 0;
    std::map<std::string, std::vector<StorageInfo>> storages;  // per node, listed once
    std::uint64_t calls_before = 0, retries_before = 0;

    Run(Client& c, WorkloadLimits l, Progress p)
        : client(c), waiter(c, l.poll), limits(l), progress(std::move(p)) {
        calls_before = c.stats().calls;
        retries_before = c.stats().retries;
    }

    void finished(const std::string& what, bool ok) {
        ++done;
        if (ok)
            ++summary.ok;
        else
            ++summary.failed;
        if (progress) progress(done, total, what);
    }

    void close(std::chrono::steady_clock::time_point started) {
        summary.seconds = seconds_since(started);
        summary.api_calls = client.stats().calls - calls_before;
        summary.retries += client.stats().retries - retries_before;
    }

    asio::awaitable<void> backoff(int attempt) {
        ++summary.retries;
        co_await client.sleep(net::backoff_delay(client.retry_policy(), attempt, client.random()));
    }

    asio::awaitable<std::vector<StorageInfo>> node_storages(const std::string& node) {
        auto it = storages.find(node);
        if (it == storages.end()) {
            auto list = co_await client.node_storage(node);
            it = storages.emplace(node, std::move(list)).first;
        }
        co_return it->second;
    }

    // Removes every volume owned by `vmid` on the node's image storages; returns how many it removed.
    // Only call when no guest `vmid` exists any more.
    asio::awaitable<std::size_t> remove_leftovers(const std::string& node, int vmid) {
        std::size_t removed = 0;
        auto list = co_await node_storages(node);
        for (const auto& s : list) {
            if (!s.enabled || (s.content.find("images") == std::string::npos &&
                               s.content.find("rootdir") == std::string::npos))
                continue;
            auto volumes = co_await client.storage_content(node, s.storage, vmid);
            for (const auto& v : volumes) {
                if (v.vmid != vmid) continue;
                std::string upid;
                try {
                    upid = co_await client.delete_volume(node, s.storage, v.volid);
                } catch (const core::Error& e) {
                    // Gone already: an earlier attempt whose reply was lost removed it.
                    if (e.code() != core::Code::not_found) throw;
                }
                if (!upid.empty()) co_await waiter.wait_ok(upid, limits.task_timeout);
                log::info("pve.orphan_removed", {{"node", node}, {"volid", v.volid}, {"vmid", vmid}});
                ++removed;
            }
        }
        summary.orphans_cleaned += removed;
        co_return removed;
    }

    // Leftover volumes of `vmid` still listed anywhere on the node (after removal: must be none).
    asio::awaitable<std::size_t> count_leftovers(const std::string& node, int vmid) {
        std::size_t n = 0;
        auto list = co_await node_storages(node);
        for (const auto& s : list) {
            if (!s.enabled || (s.content.find("images") == std::string::npos &&
                               s.content.find("rootdir") == std::string::npos))
                continue;
            for (const auto& v : co_await client.storage_content(node, s.storage, vmid))
                if (v.vmid == vmid) ++n;
        }
        co_return n;
    }
};

std::optional<Resource> find_guest(const std::vector<Resource>& rows, int vmid) {
    for (const auto& r : rows)
        if ((r.type == "qemu" || r.type == "lxc") && r.vmid == vmid) return r;
    return std::nullopt;
}

// One clone source: the template (or its copy) and where the clone goes.
struct Source {
    std::string node;  // where the template copy lives (the API path's node)
    int vmid = 0;
    std::string target;  // clone target node when it differs (shared storage only)
    std::string storage_key;
};

enum class Settled { created, absent, foreign };

// Clones one VM named `name` from `src` with collision, lock-timeout and lost-reply handling. Returns the
// new VMID, or throws core::Error when the item failed for good.
asio::awaitable<int> clone_one(Run& run, VmidAllocator& alloc, const Source& src, const std::string& name,
                               bool full, const std::string& pool, GuestKind kind = GuestKind::qemu) {
    auto& client = run.client;
    std::string dest_node = src.target.empty() ? src.node : src.target;
    int vmid = 0;
    std::string last_error;
    for (int attempt = 0; attempt < run.limits.max_attempts; ++attempt) {
        if (vmid == 0) vmid = alloc.allocate();
        auto node_permit = co_await client.limiter(dest_node, false).acquire();
        auto storage_permit = co_await client.limiter(src.storage_key, true).acquire();
        bool settle = false, cleanup = false;
        try {
            Client::CloneRequest req;
            req.newid = vmid;
            req.name = name;
            req.full = full;
            req.target = src.target;
            req.pool = pool;
            auto upid = co_await client.clone(kind, src.node, src.vmid, req);
            auto status = co_await run.waiter.wait(upid, run.limits.task_timeout);
            if (status.succeeded()) {
                node_permit.done(net::Outcome::success);
                storage_permit.done(net::Outcome::success);
                co_return vmid;
            }
            last_error = task_failure_text(status);
            if (is_vmid_collision(status.exitstatus)) {
                ++run.summary.vmid_collisions;
                log::info("pve.vmid_collision", {{"vmid", vmid}, {"detail", status.exitstatus}});
                vmid = 0;  // stays marked used
                continue;
            }
            bool lock = is_lock_timeout(status.exitstatus);
            node_permit.done(lock ? net::Outcome::overload : net::Outcome::neutral);
            storage_permit.done(lock ? net::Outcome::overload : net::Outcome::neutral);
            // A failed clone may leave disks behind (API.md §6): remove them before trying again.
            auto rows = co_await client.cluster_resources("vm");
            if (!find_guest(rows, vmid))
                cleanup = true;
            else
                settle = true;
        } catch (const OutcomeUnknown& e) {
            last_error = e.what();
            settle = true;
        } catch (const ApiError& e) {
            last_error = e.what();
            if (e.code() == core::Code::conflict && is_vmid_collision(e.pve_message())) {
                ++run.summary.vmid_collisions;
                log::info("pve.vmid_collision", {{"vmid", vmid}, {"detail", e.pve_message()}});
                vmid = 0;
                continue;
            }
            if (!e.retryable()) throw;
            node_permit.done(net::Outcome::overload);
            storage_permit.done(net::Outcome::overload);
        } catch (const core::Error& e) {
            last_error = e.what();
            if (e.code() != core::Code::timeout && !e.retryable()) throw;
            settle = true;
        }
        node_permit.done(net::Outcome::neutral);
        storage_permit.done(net::Outcome::neutral);
        if (cleanup) co_await run.remove_leftovers(dest_node, vmid);
        if (settle) {
            // Proxmox may have acted on the request: look before cloning again.
            Settled state = Settled::absent;
            for (int look = 0; look < run.limits.max_attempts * 4; ++look) {
                std::optional<Resource> row;
                bool look_failed = false;
                try {
                    row = find_guest(co_await client.cluster_resources("vm"), vmid);
                } catch (const core::Error& e) {
                    last_error = e.what();
                    look_failed = true;
                }
                if (look_failed) {
                    co_await run.backoff(look);
                    continue;
                }
                if (!row) {
                    state = Settled::absent;
                    break;
                }
                if (row->name != name) {
                    state = Settled::foreign;
                    break;
                }
                if (row->lock.empty()) {
                    state = Settled::created;
                    break;
                }
                co_await client.sleep(std::min<Ms>(Ms(2000), run.limits.poll.min * (look + 1)));
            }
            if (state == Settled::created) {
                log::info("pve.clone_adopted", {{"vmid", vmid}, {"name", name}});
                co_return vmid;
            }
            if (state == Settled::foreign) {
                ++run.summary.vmid_collisions;
                vmid = 0;
                continue;
            }
        }
        co_await run.backoff(attempt);
    }
    throw core::upstream("clone '" + name + "' failed after " + std::to_string(run.limits.max_attempts) +
                         " attempts: " + last_error);
}

struct TemplateInfo {
    Resource row;
    GuestConfig config;
    std::vector<std::string> storages;
    bool all_shared = true;
};

asio::awaitable<TemplateInfo> inspect_template(Client& client, const std::vector<Resource>& rows, int vmid) {
    auto row = find_guest(rows, vmid);
    if (!row) throw core::not_found("VM " + std::to_string(vmid) + " does not exist in the cluster");
    TemplateInfo info;
    info.row = *row;
    info.config =
        co_await client.guest_config(row->type == "lxc" ? GuestKind::lxc : GuestKind::qemu, row->node, vmid);
    std::set<std::string> names;
    for (const auto& d : config_disks(info.config)) names.insert(d.storage);
    info.storages.assign(names.begin(), names.end());
    for (const auto& s : info.storages) {
        bool shared = false;
        for (const auto& r : rows)
            if (r.type == "storage" && r.storage == s && r.shared) shared = true;
        if (!shared) info.all_shared = false;
    }
    co_return info;
}

}  // namespace

asio::awaitable<Summary> clone_batch(Client& client, CloneBatch batch, Progress progress) {
    auto started = std::chrono::steady_clock::now();
    if (!batch.names.empty()) batch.count = batch.names.size();
    if (batch.count == 0) throw core::invalid("--count must be at least 1");
    Run run(client, batch.limits, std::move(progress));
    run.total = batch.count;
    auto rows = co_await client.cluster_resources();
    auto tpl = co_await inspect_template(client, rows, batch.template_vmid);
    if (!tpl.row.is_template)
        throw core::invalid("VM " + std::to_string(batch.template_vmid) +
                            " is not a template (convert it first)");
    if (tpl.storages.empty())
        throw core::invalid("template " + std::to_string(batch.template_vmid) + " has no disks to clone");

    VmidAllocator alloc(batch.vmid_low, batch.vmid_high);
    std::map<std::string, Resource> existing;  // name -> guest already there (a re-run converges)
    for (const auto& r : rows) {
        if (r.type == "qemu" || r.type == "lxc") {
            alloc.mark_used(r.vmid);
            existing[r.name] = r;
        }
    }
    // Where can a clone go? Shared storage: any online node. Local storage: only nodes holding a copy of the
    // template (a template with the same name on that node), since Proxmox refuses "can't clone VM to node
    // '<n>' (VM uses local storage)".
    std::map<std::string, Source> sources;
    std::vector<PlacementNode> candidates;
    std::set<std::string> allowed(batch.nodes.begin(), batch.nodes.end());
    for (const auto& r : rows) {
        if (r.type != "node" || (r.status != "online" && !r.status.empty())) continue;
        if (!allowed.empty() && !allowed.count(r.node)) continue;
        Source src;
        if (tpl.all_shared) {
            src = {tpl.row.node, tpl.row.vmid, r.node == tpl.row.node ? "" : r.node, tpl.storages.front()};
        } else {
            int copy = 0;
            if (r.node == tpl.row.node) copy = tpl.row.vmid;
            for (const auto& g : rows)
                if (!copy && g.type == tpl.row.type && g.is_template && g.node == r.node &&
                    g.name == tpl.row.name)
                    copy = g.vmid;
            if (!copy) continue;
            src = {r.node, copy, "", r.node + "/" + tpl.storages.front()};
        }
        sources[r.node] = src;
        candidates.push_back({r.node, r.maxmem - r.mem});
    }
    if (candidates.empty()) {
        std::string why = tpl.all_shared
                              ? "no allowed node is online"
                              : "template " + std::to_string(batch.template_vmid) +
                                    " is on local storage of node " + tpl.row.node +
                                    " and no allowed node holds a copy of it (make a copy per node "
                                    "or use shared storage)";
        throw core::invalid("cannot place clones: " + why);
    }
    auto placement = place_clones(candidates, batch.count, tpl.row.maxmem);
    run.summary.vmids.assign(batch.count, 0);
    auto kind = tpl.row.type == "lxc" ? GuestKind::lxc : GuestKind::qemu;

    co_await run_all(client.executor(), batch.count, [&](std::size_t i) -> asio::awaitable<void> {
        auto name = !batch.names.empty() ? batch.names[i]
                    : batch.count == 1 && !batch.exact_name.empty()
                        ? batch.exact_name
                        : item_name(batch.prefix, batch.first_index + i);
        if (auto it = existing.find(name); it != existing.end()) {
            run.summary.vmids[i] = it->second.vmid;
            run.finished(name + " (already there)", true);
            if (batch.on_cloned) batch.on_cloned(i, it->second.vmid, it->second.node);
            co_return;
        }
        try {
            int vmid =
                co_await clone_one(run, alloc, sources.at(placement[i]), name, batch.full, batch.pool, kind);
            run.summary.vmids[i] = vmid;
            run.finished(name, true);
            if (batch.on_cloned) batch.on_cloned(i, vmid, placement[i]);
        } catch (const std::exception& e) {
            run.summary.errors.push_back(name + ": " + e.what());
            log::warn("pve.clone_failed", {{"name", name}, {"error", e.what()}});
            run.finished(name, false);
        }
    });
    std::erase(run.summary.vmids, 0);
    run.close(started);
    co_return run.summary;
}

asio::awaitable<Summary> delete_batch(Client& client, DeleteBatch batch, Progress progress) {
    auto started = std::chrono::steady_clock::now();
    if (batch.prefix.empty() && batch.vmids.empty()) throw core::invalid("give --prefix or --vmids");
    Run run(client, batch.limits, std::move(progress));
    auto rows = co_await client.cluster_resources("vm");
    struct Target {
        int vmid;
        std::string node, name;
        GuestKind kind;
        bool present;
        bool running = false;  // as the listing said: the first attempt trusts it, retries ask again
    };
    std::vector<Target> targets;
    if (!batch.prefix.empty()) {
        for (const auto& r : rows)
            if (r.vmid && !r.is_template && r.name.rfind(batch.prefix + "-", 0) == 0)
                targets.push_back({r.vmid, r.node, r.name, r.type == "lxc" ? GuestKind::lxc : GuestKind::qemu,
                                   true, r.status == "running"});
    }
    for (int v : batch.vmids) {
        auto r = find_guest(rows, v);
        if (r && r->is_template)
            throw core::invalid("VM " + std::to_string(v) +
                                " is a template: netpraxis does not batch-delete templates");
        if (r)
            targets.push_back({v, r->node, r->name, r->type == "lxc" ? GuestKind::lxc : GuestKind::qemu, true,
                               r->status == "running"});
        else
            targets.push_back({v, "", "", GuestKind::qemu, false});
    }
    run.total = targets.size();

    co_await run_all(client.executor(), targets.size(), [&](std::size_t i) -> asio::awaitable<void> {
        auto t = targets[i];
        auto label = t.name.empty() ? "VM " + std::to_string(t.vmid) : t.name;
        if (!t.present) {
            // Already gone: nothing to verify without a node (counted as done).
            run.finished(label + " (not found)", true);
            co_return;
        }
        std::string last_error;
        try {
            std::string storage_key = t.node;
            try {
                auto cfg = co_await client.guest_config(t.kind, t.node, t.vmid);
                auto disks = config_disks(cfg);
                if (!disks.empty()) storage_key = t.node + "/" + disks.front().storage;
            } catch (const core::Error& e) {
                if (e.code() != core::Code::not_found) throw;
            }
            bool gone = false;
            for (int attempt = 0; attempt < run.limits.max_attempts && !gone; ++attempt) {
                auto node_permit = co_await client.limiter(t.node, false).acquire();
                auto storage_permit = co_await client.limiter(storage_key, true).acquire();
                try {
                    // The listing's status serves the first attempt (one call less per VM); a retry, or a
                    // guest started since ("VM is running - destroy failed"), asks for the current one.
                    bool running = t.running;
                    if (attempt > 0)
                        running = (co_await client.guest_status(t.kind, t.node, t.vmid)).status == "running";
                    if (running) {
                        auto up = co_await client.stop(t.kind, t.node, t.vmid);
                        co_await run.waiter.wait_ok(up, run.limits.task_timeout);
                    }
                    auto upid = co_await client.destroy(t.kind, t.node, t.vmid, true, true);
                    auto s = co_await run.waiter.wait(upid, run.limits.task_timeout);
                    if (s.succeeded()) {
                        node_permit.done(net::Outcome::success);
                        storage_permit.done(net::Outcome::success);
                        gone = true;
                        break;
                    }
                    last_error = task_failure_text(s);
                    if (is_not_found(s.exitstatus)) {
                        gone = true;
                        break;
                    }
                    bool lock = is_lock_timeout(s.exitstatus);
                    node_permit.done(lock ? net::Outcome::overload : net::Outcome::neutral);
                    storage_permit.done(lock ? net::Outcome::overload : net::Outcome::neutral);
                } catch (const core::Error& e) {
                    last_error = e.what();
                    if (e.code() == core::Code::not_found) {
                        gone = true;  // deleted by an earlier attempt whose reply was lost
                        break;
                    }
                    if (last_error.find("is running - destroy failed") != std::string::npos) {
                        t.running = true;  // started since the listing: stop it first, at once
                        node_permit.done(net::Outcome::neutral);
                        storage_permit.done(net::Outcome::neutral);
                        continue;
                    }
                    if (!e.retryable() && e.code() != core::Code::timeout) throw;
                    node_permit.done(net::Outcome::overload);
                    storage_permit.done(net::Outcome::overload);
                }
                node_permit.done(net::Outcome::neutral);
                storage_permit.done(net::Outcome::neutral);
                co_await run.backoff(attempt);
            }
            if (!gone) throw core::upstream("delete failed after retries: " + last_error);
            // Verify: Proxmox can report the destroy task OK and leave disks listed (DESIGN.md).
            // The listing that finds nothing to remove is the check; after a removal, list again.
            std::size_t removed = co_await run.remove_leftovers(t.node, t.vmid);
            std::size_t left = 0;
            if (removed > 0) left = co_await run.count_leftovers(t.node, t.vmid);
            if (left > 0)
                throw core::upstream(std::to_string(left) + " volume(s) of VM " + std::to_string(t.vmid) +
                                     " are still listed after removal");
            run.summary.vmids.push_back(t.vmid);
            run.finished(label, true);
        } catch (const std::exception& e) {
            run.summary.errors.push_back(label + ": " + e.what());
            log::warn("pve.delete_failed", {{"vmid", t.vmid}, {"error", e.what()}});
            run.finished(label, false);
        }
    });
    run.close(started);
    co_return run.summary;
}

asio::awaitable<Summary> build_template(Client& client, TemplateBuild build, Progress progress) {
    auto started = std::chrono::steady_clock::now();
    if (build.name.empty()) throw core::invalid("--name is required");
    if (build.count == 0) build.count = 1;
    Run run(client, build.limits, std::move(progress));
    run.total = build.count;
    auto rows = co_await client.cluster_resources();
    auto base = co_await inspect_template(client, rows, build.base_vmid);
    if (base.row.type != "qemu") throw core::invalid("the base of a template must be a QEMU VM");
    VmidAllocator alloc(build.vmid_low, build.vmid_high);
    std::set<std::string> names;
    for (const auto& r : rows) {
        if (r.vmid) alloc.mark_used(r.vmid);
        if (r.vmid) names.insert(r.name);
    }
    Source src{base.row.node, base.row.vmid, "", base.row.node + "/" + base.storages.front()};

    co_await run_all(client.executor(), build.count, [&](std::size_t i) -> asio::awaitable<void> {
        auto name = build.count == 1 ? build.name : build.name + "-" + std::to_string(i + 1);
        try {
            if (names.count(name)) throw core::conflict("a guest named '" + name + "' already exists");
            // A full clone of the base: the template must not depend on the base's disks.
            if (build.on_step) co_await build.on_step("cloning base VM");
            int vmid = co_await clone_one(run, alloc, src, name, true, "");
            const auto& node = base.row.node;
            if (build.on_step) co_await build.on_step("starting the VM");
            auto start_upid = co_await client.start(GuestKind::qemu, node, vmid);
            co_await run.waiter.wait_ok(start_upid, run.limits.task_timeout);
            // Poll the guest agent: it answers only after boot, and may first report only lo (API.md §6).
            if (build.on_step) co_await build.on_step("waiting for guest agent");
            std::optional<std::string> ip;
            auto deadline = client.clock().now() + run.limits.agent_timeout;
            PollSchedule schedule(run.limits.poll);
            bool first = true;
            while (!ip) {
                try {
                    ip = first_ipv4(co_await client.agent_interfaces(node, vmid));
                } catch (const core::Error& e) {
                    if (e.code() == core::Code::invalid || e.code() == core::Code::forbidden) throw;
                }
                if (ip) break;
                if (client.clock().now() >= deadline)
                    throw core::timeout("VM " + std::to_string(vmid) +
                                        " reported no IPv4 address via its guest agent");
                co_await client.sleep(schedule.next(first));
                first = false;
            }
            log::info("pve.template_ip", {{"vmid", vmid}, {"ip", *ip}});
            if (build.import_project) {
                if (build.on_step) co_await build.on_step("importing project");
                co_await build.import_project(*ip, vmid);
            }
            if (build.on_step) co_await build.on_step("shutting down");
            auto down = co_await client.shutdown(GuestKind::qemu, node, vmid, 120, true);
            co_await run.waiter.wait_ok(down, run.limits.task_timeout);
            if (build.on_step) co_await build.on_step("converting to template");
            auto tpl = co_await client.make_template(GuestKind::qemu, node, vmid);
            if (!tpl.empty()) co_await run.waiter.wait_ok(tpl, run.limits.task_timeout);
            run.summary.vmids.push_back(vmid);
            if (build.count == 1) {
                run.summary.vmid = vmid;
                run.summary.node = node;
            }
            run.finished(name, true);
        } catch (const std::exception& e) {
            run.summary.errors.push_back(name + ": " + e.what());
            log::warn("pve.template_failed", {{"name", name}, {"error", e.what()}});
            run.finished(name, false);
        }
    });
    run.close(started);
    co_return run.summary;
}

}  // namespace np::pve
