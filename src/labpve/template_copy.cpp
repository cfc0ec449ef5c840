// The template's copies on the nodes of a class (template_copy.hpp).
#include "labpve/template_copy.hpp"

#include <algorithm>
#include <optional>

#include "core/log.hpp"
#include "labpve/gns3_guest.hpp"
#include "labpve/proxmox_provider.hpp"
#include "pve/tasks.hpp"

namespace np::labpve {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

bool is_guest(const pve::Resource& r) {
    return r.type == "qemu" || r.type == "lxc";
}

std::optional<pve::Resource> guest_by_vmid(const std::vector<pve::Resource>& rows, int vmid) {
    for (const auto& r : rows)
        if (is_guest(r) && r.vmid == vmid) return r;
    return std::nullopt;
}

}  // namespace

struct TemplateCopies::Copy {
    std::string node;  // where the copy goes
    int vmid = 0;      // 0: not cloned yet
    bool resumed = false, done = false, failed = false;
    bool completed_here = false;  // this run took the last step (another instance may have taken it)
    int attempts = 0;             // failed steps
    std::string error;            // the last one
    std::string upid;             // the step running this round
};

std::string copy_name(const std::string& tpl, const std::string& node) {
    return tpl + "-copy-" + node;
}

std::vector<std::string> nodes_needing_copy(const std::vector<pve::Resource>& rows, const std::string& tpl,
                                            std::size_t count, const std::vector<std::string>& allowed) {
    std::set<std::string> holders;
    std::int64_t vm_mem = 0;
    for (const auto& r : rows)
        if (r.type == "qemu" && r.is_template && r.name == tpl) {
            holders.insert(r.node);
            vm_mem = std::max(vm_mem, r.maxmem);
        }
    if (count == 0 || holders.empty()) return {};
    const std::set<std::string> ok(allowed.begin(), allowed.end());
    std::vector<pve::PlacementNode> candidates, others;
    for (const auto& r : rows) {
        if (r.type != "node" || (r.status != "online" && !r.status.empty())) continue;
        if (!ok.empty() && !ok.count(r.node)) continue;
        (holders.count(r.node) ? candidates : others).push_back({r.node, r.maxmem - r.mem});
    }
    candidates.insert(candidates.end(), others.begin(), others.end());
    std::vector<std::string> out;
    for (const auto& n : pve::place_clones(candidates, count, vm_mem))
        if (!holders.count(n) && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    return out;
}

TemplateCopies::TemplateCopies(pve::Client& client, CopyOptions options)
    : client_(client), options_(std::move(options)) {}

asio::awaitable<void> TemplateCopies::ensure(const std::string& tpl, const std::vector<std::string>& envs,
                                             CopyStep step) {
    // One run per template: a concurrent request waits (marked before any co_await), then finds the copies.
    while (busy_.count(tpl)) co_await sleep_for(options_.poll_interval);
    busy_.insert(tpl);
    std::exception_ptr failure;
    try {
        co_await run(tpl, envs, step);
    } catch (...) {
        failure = std::current_exception();
    }
    busy_.erase(tpl);
    if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> TemplateCopies::run(const std::string& tpl, const std::vector<std::string>& envs,
                                          const CopyStep& step) {
    auto rows = co_await client_.cluster_resources();
    std::optional<pve::Resource> source;  // the original: the oldest template of that name
    for (const auto& r : rows)
        if (r.type == "qemu" && r.is_template && r.name == tpl && (!source || r.vmid < source->vmid))
            source = r;
    if (!source) co_return;  // not built: the clone that follows says so
    std::vector<Copy> copies;
    const auto prefix = copy_name(tpl, "");
    for (const auto& r : rows)
        if (r.type == "qemu" && r.name.rfind(prefix, 0) == 0) {  // half-made by an earlier run: finish it
            Copy c;
            c.node = r.name.substr(prefix.size());
            c.vmid = r.vmid;
            c.resumed = true;
            auto same =
                std::find_if(copies.begin(), copies.end(), [&](const Copy& o) { return o.node == c.node; });
            if (same == copies.end())
                copies.push_back(c);
            else if (c.vmid < same->vmid)  // two for a node (two instances): the lowest VMID is the one
                *same = c;
        }
    std::set<std::string> existing;
    for (const auto& r : rows)
        if (is_guest(r)) existing.insert(r.name);
    auto count = static_cast<std::size_t>(
        std::count_if(envs.begin(), envs.end(), [&](const std::string& e) { return !existing.count(e); }));
    bool local = false;
    if (count > 0) local = co_await on_local_storage(*source, rows);
    if (local)
        for (const auto& n : nodes_needing_copy(rows, tpl, count, options_.nodes))
            if (std::none_of(copies.begin(), copies.end(), [&](const Copy& c) { return c.node == n; })) {
                Copy c;
                c.node = n;
                copies.push_back(c);
            }
    if (copies.empty()) co_return;
    for (const auto& c : copies) {
        std::string what =
            c.resumed ? "finishing the copy of the template on node " : "copying template to node ";
        if (step) co_await step(what + c.node);
    }
    co_await clone_missing(*source, tpl, copies);
    co_await remove_duplicates(tpl, copies);
    co_await advance(tpl, copies);
    for (auto& c : copies) {
        if (!c.done) {
            co_await give_up(c, step);
            continue;
        }
        if (c.completed_here) {
            ++stats_.made;
            if (c.resumed) ++stats_.resumed;
        }
        log::info("labpve.template_copied", {{"template", tpl},
                                             {"node", c.node},
                                             {"vmid", c.vmid},
                                             {"resumed", c.resumed},
                                             {"by_another_run", !c.completed_here}});
        if (step) co_await step("template copied to node " + c.node);
    }
}

asio::awaitable<bool> TemplateCopies::on_local_storage(const pve::Resource& tpl,
                                                       const std::vector<pve::Resource>& rows) {
    auto config = co_await client_.guest_config(pve::GuestKind::qemu, tpl.node, tpl.vmid);
    for (const auto& d : pve::config_disks(config)) {
        bool shared = std::any_of(rows.begin(), rows.end(), [&](const pve::Resource& r) {
            return r.type == "storage" && r.storage == d.storage && r.shared;
        });
        if (!shared) co_return true;
    }
    co_return false;
}

// Full clones of the template on its node, one per node that has no copy under way, as one clone batch.
asio::awaitable<void> TemplateCopies::clone_missing(const pve::Resource& source, const std::string& tpl,
                                                    std::vector<Copy>& copies) {
    pve::CloneBatch b;
    for (const auto& c : copies)
        if (c.vmid == 0) b.names.push_back(copy_name(tpl, c.node));
    if (b.names.empty()) co_return;
    b.template_vmid = source.vmid;
    b.full = true;  // the copy must not depend on the original's disks
    b.nodes = {source.node};
    b.vmid_low = options_.vmid_low;
    b.vmid_high = options_.vmid_high;
    b.limits = options_.limits;
    std::string why;
    try {
        auto summary = co_await pve::clone_batch(client_, b, {});
        for (const auto& e : summary.errors) why += (why.empty() ? "" : "; ") + e;
    } catch (const core::Error& e) {
        why = e.what();
    }
    auto rows = co_await client_.cluster_resources("vm");
    for (auto& c : copies) {
        if (c.vmid != 0) continue;
        for (const auto& r : rows)  // the lowest VMID of that name: another instance's clone may be there too
            if (r.type == "qemu" && r.name == copy_name(tpl, c.node) && (c.vmid == 0 || r.vmid < c.vmid))
                c.vmid = r.vmid;
        if (c.vmid == 0) {
            c.failed = true;
            c.error = "the full clone of template " + std::to_string(source.vmid) + " failed: " + why;
        }
    }
}

// Two server instances sharing the cluster can clone a copy for the same node at the same moment (each sees
// none, neither sees the other's run): the copy with the lowest VMID is the one both finish; the others of
// that name are removed here (by whichever instance sees them first; one still locked by its clone is
// waited for by the delete batch, and one already gone is nothing to do).
asio::awaitable<void> TemplateCopies::remove_duplicates(const std::string& tpl,
                                                        const std::vector<Copy>& copies) {
    auto rows = co_await client_.cluster_resources("vm");
    pve::DeleteBatch d;
    for (const auto& c : copies)
        for (const auto& r : rows)
            if (r.type == "qemu" && !r.is_template && r.name == copy_name(tpl, c.node) && r.vmid != c.vmid &&
                c.vmid != 0)
                d.vmids.push_back(r.vmid);
    if (d.vmids.empty()) co_return;
    log::info("labpve.template_copy_duplicates", {{"template", tpl}, {"count", d.vmids.size()}});
    d.limits = options_.limits;
    try {
        co_await pve::delete_batch(client_, d, {});
    } catch (const std::exception& e) {
        log::warn("labpve.template_copy_cleanup_failed", {{"template", tpl}, {"error", e.what()}});
    }
}

// The cluster's VMs once no copy under way is locked (a clone or a migration still running, maybe started
// by a run that crashed), waiting at most one task timeout.
asio::awaitable<std::vector<pve::Resource>> TemplateCopies::settled_rows(const std::vector<Copy>& copies) {
    auto deadline = Clock::now() + options_.limits.task_timeout;
    while (true) {
        auto rows = co_await client_.cluster_resources("vm");
        bool locked = std::any_of(copies.begin(), copies.end(), [&](const Copy& c) {
            auto vm = c.done || c.failed ? std::nullopt : guest_by_vmid(rows, c.vmid);
            return vm && !vm->lock.empty();
        });
        if (!locked || Clock::now() >= deadline) co_return rows;
        co_await sleep_for(options_.poll_interval);
    }
}

void TemplateCopies::step_failed(Copy& copy, const core::Error& error) {
    copy.error = error.what();
    if (error.code() == core::Code::conflict) return;  // another instance took that step: the next look says
    if (error.code() == core::Code::forbidden || error.code() == core::Code::unauthenticated ||
        ++copy.attempts >= 5)
        copy.failed = true;
}

// Moves every copy one step per round, all at once, by what Proxmox shows: migrate to its node (offline,
// with its local disks), convert to a template, take the original's name. A lost reply or a failed step is
// settled by the next round's look.
asio::awaitable<void> TemplateCopies::advance(const std::string& tpl, std::vector<Copy>& copies) {
    pve::TaskWaiter waiter(client_, options_.limits.poll);
    for (int round = 0; round < 12; ++round) {
        auto rows = co_await settled_rows(copies);
        bool acted = false;
        for (auto& c : copies) {
            if (c.done || c.failed) continue;
            auto vm = guest_by_vmid(rows, c.vmid);
            if (!vm) {
                c.failed = true;
                c.error = "its VM " + std::to_string(c.vmid) + " is gone";
                continue;
            }
            acted = true;
            try {
                if (vm->node != c.node) {
                    pve::Client::MigrateRequest m;
                    m.target = c.node;
                    m.with_local_disks = true;
                    c.upid = co_await client_.migrate(vm->node, c.vmid, m);
                } else if (!vm->is_template) {
                    c.upid = co_await client_.make_template(pve::GuestKind::qemu, c.node, c.vmid);
                } else if (vm->name != tpl) {
                    // The last step, taken by one instance only: the rename is of the config just read (its
                    // digest), so of two instances finishing the same copy, the second finds the name taken
                    // or is refused (a conflict), and the next round's look sees the copy done.
                    auto config = co_await client_.guest_config(pve::GuestKind::qemu, c.node, c.vmid);
                    if (auto n = config.find("name"); n != config.end() && n->second == tpl) continue;
                    pve::Params name{{"name", tpl}};  // (a named local: GCC 12 and braced temporaries)
                    if (auto d = config.find("digest"); d != config.end())
                        name.emplace_back("digest", d->second);
                    co_await client_.set_config(pve::GuestKind::qemu, c.node, c.vmid, std::move(name));
                    c.completed_here = true;
                } else {
                    c.done = true;
                }
            } catch (const core::Error& e) {
                step_failed(c, e);
            }
        }
        for (auto& c : copies) {
            if (c.upid.empty()) continue;
            try {
                co_await waiter.wait_ok(c.upid, options_.limits.task_timeout);
            } catch (const core::Error& e) {
                step_failed(c, e);
            }
            c.upid.clear();
        }
        if (!acted) co_return;
    }
    for (auto& c : copies)
        if (!c.done && !c.failed) c.failed = true;
}

// A copy that failed: logged, told, counted, and its VM removed unless it is already a template (then the
// next run only has to rename it).
asio::awaitable<void> TemplateCopies::give_up(Copy& copy, const CopyStep& step) {
    ++stats_.failed;
    log::warn("labpve.template_copy_failed",
              {{"node", copy.node}, {"vmid", copy.vmid}, {"error", copy.error}});
    if (step)
        co_await step("copying template to node " + copy.node +
                      " failed (its VMs go to other nodes): " + copy.error);
    if (copy.vmid == 0) co_return;
    try {
        auto rows = co_await client_.cluster_resources("vm");
        auto vm = guest_by_vmid(rows, copy.vmid);
        if (!vm || vm->is_template) co_return;
        pve::DeleteBatch d;
        d.vmids = {copy.vmid};
        d.limits = options_.limits;
        co_await pve::delete_batch(client_, d, {});
    } catch (const std::exception& e) {
        log::warn("labpve.template_copy_cleanup_failed", {{"vmid", copy.vmid}, {"error", e.what()}});
    }
}

// The provider's hook (create, reset, create_batch): each step told to the environments' progress sinks (a
// single environment's job) and to the class batch's progress (its event stream).
asio::awaitable<void> ProxmoxProvider::copy_template(const std::string& tpl,
                                                     const std::vector<std::string>& envs,
                                                     lab::BatchProgress batch) {
    if (!options().template_copies) co_return;
    co_await template_copies().ensure(tpl, envs,
                                      [this, &envs, &batch](std::string text) -> asio::awaitable<void> {
                                          for (const auto& env : envs) {
                                              co_await progress(env).step(text);
                                              if (batch) batch(env, text, 0, envs.size());
                                          }
                                      });
}

}  // namespace np::labpve
