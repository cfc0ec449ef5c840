// ProxmoxProvider at class scale (issue 10 part 4): a class's VMs are cloned as ONE pve::clone_batch per
// template (the client's adaptive per-node/per-storage limits, idempotent retries, lost replies settled by
// looking), and a class start is bounded by what the nodes can take (free memory, vCPUs under
// pve.cpu_overcommit) and by pve.start_wave VMs starting at once. A class start creates the VMs that do not
// exist yet (the same clone batch) and starts each one as soon as its clone is done, while the others are
// still being cloned.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "labpve/proxmox_provider.hpp"
#include "pve/workloads.hpp"

namespace np::labpve {

namespace asio = boost::asio;

namespace {

// What a node can still take: free memory and vCPUs (maxcpu x overcommit minus the running guests').
struct Room {
    std::int64_t free_mem = 0;
    double free_vcpus = 0;
};

std::map<std::string, Room> node_rooms(const std::vector<pve::Resource>& rows, double overcommit) {
    std::map<std::string, Room> out;
    for (const auto& r : rows)
        if (r.type == "node" && (r.status == "online" || r.status.empty()))
            out[r.node] = {r.maxmem - r.mem, static_cast<double>(r.maxcpu) * overcommit};
    for (const auto& r : rows)
        if ((r.type == "qemu" || r.type == "lxc") && r.status == "running")
            if (auto it = out.find(r.node); it != out.end())
                it->second.free_vcpus -= static_cast<double>(std::max<std::int64_t>(r.maxcpu, 1));
    return out;
}

std::string room_text(const std::map<std::string, Room>& rooms) {
    std::string out;
    for (const auto& [node, room] : rooms)
        out += (out.empty() ? "" : ", ") + node + ": " + std::to_string(room.free_mem >> 20) + " MiB free, " +
               std::to_string(static_cast<long>(room.free_vcpus)) + " vCPUs free";
    return out.empty() ? "no node online" : out;
}

std::string error_for(const std::vector<std::string>& errors, const std::string& name) {
    for (const auto& e : errors)
        if (e.starts_with(name + ": ")) return e.substr(name.size() + 2);
    return "";
}

// Wakes the coroutine of a class start when one of its helpers finished something. One executor: no locks.
class Wakeup {
 public:
    explicit Wakeup(asio::any_io_executor ex) : timer_(ex, asio::steady_timer::time_point::max()) {}
    void notify() {
        ++count_;
        timer_.cancel();
    }
    std::size_t count() const { return count_; }
    // Returns once notify() was called since count() was `seen`.
    asio::awaitable<void> wait_past(std::size_t seen) {
        while (count_ == seen) {
            timer_.expires_at(asio::steady_timer::time_point::max());
            co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

 private:
    asio::steady_timer timer_;
    std::size_t count_ = 0;
};

// Requests grouped by the template their VMs are cloned from; a request the provider refuses gets its error.
std::map<std::string, std::vector<std::size_t>> by_template(ProxmoxProvider& p,
                                                            const std::vector<lab::LabRequest>& requests,
                                                            const std::vector<std::size_t>& which,
                                                            std::vector<lab::BatchItem>& items) {
    std::map<std::string, std::vector<std::size_t>> out;
    for (auto i : which) {
        try {
            p.check_request(requests[i]);
            out[p.template_for(requests[i])].push_back(i);
        } catch (const core::Error& e) {
            items[i].error = core::public_message(e);
        }
    }
    return out;
}

// Told when request `i`'s VM exists (its row: node, VMID, size), before its batch ends.
using Cloned = std::function<void(std::size_t i, const pve::Resource& vm)>;
// Told after each clone finished: what happened ("<name>", "<name> (already there)").
using Told = std::function<void(const std::string& what)>;
// Request index -> why its VM was not made.
using Failures = std::map<std::size_t, std::string>;

std::vector<std::string> names_of(const std::vector<lab::LabRequest>& requests, const Failures& failed) {
    std::vector<std::string> out;
    for (const auto& f : failed) out.push_back(requests[f.first].env);
    return out;
}

// One template's share of a class: the template made sure of (built once, reused by every student), then its
// VMs as ONE pve::clone_batch. Each VM, once it exists, is released from the batch's claim and given to
// `cloned`; returns the items that failed (a failure of the whole group: each of its items). On local storage
// the template is first copied to the nodes the VMs go to, each step told to `copying`.
asio::awaitable<Failures> clone_group(ProxmoxProvider& p, const std::vector<lab::LabRequest>& requests,
                                      const std::string& tpl_name, const std::vector<std::size_t>& indexes,
                                      Cloned cloned, Told told, lab::BatchProgress copying) {
    const auto& o = p.options();
    Failures failed;
    std::string why;
    try {
        co_await p.ensure_template(requests[indexes.front()]);
        std::vector<std::string> envs;
        for (auto i : indexes) envs.push_back(requests[i].env);
        co_await p.copy_template(tpl_name, envs, copying);  // local storage: one on each node the VMs go to
        std::optional<pve::Resource> tpl;
        for (const auto& r : co_await p.client().cluster_resources("vm"))
            if (r.type == "qemu" && r.is_template && r.name == tpl_name) tpl = r;
        if (!tpl) throw core::conflict("template " + tpl_name + " is missing on Proxmox after its build");
        pve::CloneBatch b;
        b.template_vmid = tpl->vmid;
        for (auto i : indexes) b.names.push_back(requests[i].env);
        b.full = o.full_clone;
        b.nodes = o.nodes;
        b.pool = o.pool;
        b.vmid_low = o.vmid_low;
        b.vmid_high = o.vmid_high;
        b.limits.task_timeout = o.task_timeout;
        b.limits.agent_timeout = o.boot_timeout;
        b.on_cloned = [&](std::size_t k, int vmid, const std::string& node) {
            const std::vector<std::string> one{requests[indexes[k]].env};
            p.release(one);           // a start of it no longer waits for the whole batch
            pve::Resource vm = *tpl;  // a clone has its template's size
            vm.vmid = vmid;
            vm.node = node;
            vm.name = one.front();
            vm.is_template = false;
            vm.status = "stopped";
            if (cloned) cloned(indexes[k], vm);
        };
        pve::Progress each = [&](std::size_t, std::size_t, const std::string& what) {
            if (told) told(what);
        };
        auto summary = co_await pve::clone_batch(p.client(), std::move(b), each);
        for (auto i : indexes)
            if (auto e = error_for(summary.errors, requests[i].env); !e.empty()) failed[i] = e;
        log::info("labpve.batch_cloned", {{"template", tpl_name},
                                          {"ok", summary.ok},
                                          {"failed", summary.failed},
                                          {"seconds", summary.seconds},
                                          {"retries", summary.retries}});
        co_return failed;
    } catch (const core::Error& e) {
        why = core::public_message(e);
    } catch (const std::exception& e) {
        why = e.what();
    }
    for (auto i : indexes) failed[i] = why;
    co_return failed;
}

}  // namespace

asio::awaitable<std::vector<lab::BatchItem>> ProxmoxProvider::create_batch(
    const std::vector<lab::LabRequest>& requests, lab::BatchProgress progress) {
    std::vector<lab::BatchItem> items(requests.size());
    std::vector<std::size_t> all(requests.size());
    for (std::size_t i = 0; i < requests.size(); ++i) {
        items[i].env = requests[i].env;
        all[i] = i;
    }
    auto groups = by_template(*this, requests, all, items);
    std::vector<std::string> names;
    for (const auto& [tpl_name, indexes] : groups)
        for (auto i : indexes) names.push_back(requests[i].env);
    co_await claim(names);  // a student's own start waits for its VM's clone instead of cloning beside it
    std::size_t done = 0;
    const Cloned none;
    const Told told = [&](const std::string& what) {
        ++done;
        if (progress) progress(what.substr(0, what.find(' ')), what, done, requests.size());
    };
    for (const auto& group : groups) {
        const auto& indexes = group.second;
        auto failed = co_await clone_group(*this, requests, group.first, indexes, none, told, progress);
        release(names_of(requests, failed));  // (the others were released as soon as they existed)
        for (auto i : indexes) {
            if (auto f = failed.find(i); f != failed.end()) {
                items[i].error = f->second;
                continue;
            }
            try {
                co_await grant_owner(requests[i]);  // the student's role on their own VM, as create does
                items[i].ok = true;
            } catch (const core::Error& e) {
                items[i].error = core::public_message(e);
            }
        }
    }
    co_return items;
}

namespace {

// A class start: VMs become ready (they exist, or their clone is done) and are started as soon as they fit:
// at most pve.start_wave starting at once, each taking its memory and vCPUs from its node's room. The rooms
// are read from the cluster again only when something does not fit and nothing is starting (what runs is then
// counted by Proxmox itself); what does not fit even then never will, and fails naming the rooms.
struct ClassStart {
    ProxmoxProvider& p;
    const std::vector<lab::LabRequest>& requests;
    lab::BatchProgress progress;
    std::vector<lab::BatchItem> items;
    Wakeup wake;
    std::deque<std::pair<std::size_t, pve::Resource>> ready;  // request index, its VM
    std::map<std::string, Room> rooms;
    bool rooms_fresh = true;  // read with nothing starting since
    std::size_t starting = 0, finished = 0, started = 0;
    bool cloning = false;
    int wave = 0;

    ClassStart(ProxmoxProvider& provider, const std::vector<lab::LabRequest>& r, lab::BatchProgress pr)
        : p(provider),
          requests(r),
          progress(std::move(pr)),
          items(r.size()),
          wake(provider.client().executor()) {
        for (std::size_t i = 0; i < r.size(); ++i) items[i].env = r[i].env;
    }

    void finish(std::size_t i, const std::string& what) {
        ++finished;
        if (progress) progress(items[i].env, what, started, requests.size());
        wake.notify();
    }

    // A wave: the rooms as the cluster reports them, which the starts that follow take from.
    void set_rooms(const std::vector<pve::Resource>& rows) {
        rooms = node_rooms(rows, p.options().cpu_overcommit);
        rooms_fresh = true;
        log::info("labpve.start_wave",
                  {{"wave", ++wave}, {"ready", ready.size()}, {"left", requests.size() - finished}});
    }
    asio::awaitable<void> read_rooms() { set_rooms(co_await p.client().cluster_resources()); }

    // Takes the VM's share of its node's room; false when it does not fit (a running VM takes none).
    bool reserve(const pve::Resource& vm) {
        if (vm.status == "running") return true;
        auto room = rooms.find(vm.node);
        auto cpus = static_cast<double>(std::max<std::int64_t>(vm.maxcpu, 1));
        if (room == rooms.end() || room->second.free_mem < vm.maxmem || room->second.free_vcpus < cpus)
            return false;
        room->second.free_mem -= vm.maxmem;
        room->second.free_vcpus -= cpus;
        return true;
    }

    // Starts request i's lab (the student's role granted first when its VM was just cloned).
    asio::awaitable<void> start_one(std::size_t i, bool grant) {
        try {
            if (grant) co_await p.grant_owner(requests[i]);
            co_await p.start(requests[i].env);
            items[i].ok = true;
        } catch (const core::Error& e) {
            items[i].error = core::public_message(e);
        } catch (const std::exception& e) {
            items[i].error = e.what();
        }
        --starting;
        if (items[i].ok) ++started;
        rooms_fresh = false;
        finish(i, items[i].ok ? "started" : items[i].error);
    }

    // Starts what is ready and fits; false when the first one waiting does not fit.
    bool launch(std::map<std::size_t, bool>& cloned_now) {
        while (!ready.empty() && static_cast<int>(starting) < p.options().start_wave) {
            auto [i, vm] = ready.front();
            if (!reserve(vm)) return false;
            ready.pop_front();
            ++starting;
            rooms_fresh = false;
            asio::co_spawn(p.client().executor(), start_one(i, cloned_now[i]), asio::detached);
        }
        return true;
    }

    // Clones the VMs of `groups` (template -> request indexes); each goes to `ready` as soon as it exists.
    asio::awaitable<void> clone_missing(const std::map<std::string, std::vector<std::size_t>>& groups,
                                        std::map<std::size_t, bool>& cloned_now) {
        const Cloned on_cloned = [&](std::size_t i, const pve::Resource& vm) {
            cloned_now[i] = true;
            ready.emplace_back(i, vm);
            if (progress) progress(items[i].env, "cloned", started, requests.size());
            wake.notify();
        };
        const Told told;
        for (const auto& group : groups) {
            auto failed =
                co_await clone_group(p, requests, group.first, group.second, on_cloned, told, progress);
            p.release(names_of(requests, failed));
            for (const auto& [i, why] : failed) {
                if (cloned_now.count(i)) continue;  // (made, then failed: cannot happen; started anyway)
                items[i].error = why;
                finish(i, why);
            }
        }
        cloning = false;
        wake.notify();
    }

    asio::awaitable<void> run(std::map<std::size_t, bool>& cloned_now) {
        while (finished < requests.size() || cloning) {
            auto seen = wake.count();
            if (!launch(cloned_now) && starting == 0) {
                if (!rooms_fresh) {
                    co_await read_rooms();
                    continue;
                }
                auto why = "the cluster has no room to start this VM now (" + room_text(rooms) + ")";
                for (const auto& [i, vm] : ready) {
                    items[i].error = why;
                    finish(i, why);
                }
                ready.clear();
                continue;
            }
            co_await wake.wait_past(seen);
        }
    }
};

}  // namespace

asio::awaitable<std::vector<lab::BatchItem>> ProxmoxProvider::start_batch(
    const std::vector<lab::LabRequest>& requests, lab::BatchProgress progress) {
    ClassStart s(*this, requests, std::move(progress));
    auto rows = co_await client().cluster_resources();
    std::map<std::string, pve::Resource> vms;
    for (const auto& r : rows)
        if (r.type == "qemu" && !r.is_template) vms[r.name] = r;
    std::vector<std::size_t> missing;
    std::map<std::size_t, bool> cloned_now;  // request index -> its VM made by this start (grant its role)
    for (std::size_t i = 0; i < requests.size(); ++i) {
        if (auto vm = vms.find(requests[i].env); vm != vms.end())
            s.ready.emplace_back(i, vm->second);
        else
            missing.push_back(i);
    }
    s.set_rooms(rows);
    // The VMs that do not exist yet are cloned beside the starts, each started as soon as it is there.
    auto groups = by_template(*this, requests, missing, s.items);
    for (auto i : missing)
        if (!s.items[i].error.empty()) s.finish(i, s.items[i].error);
    std::vector<std::string> names;
    for (const auto& [tpl_name, indexes] : groups)
        for (auto i : indexes) names.push_back(requests[i].env);
    if (!names.empty()) {
        co_await claim(names);
        s.cloning = true;
        asio::co_spawn(client().executor(), s.clone_missing(groups, cloned_now), asio::detached);
    }
    co_await s.run(cloned_now);
    co_return s.items;
}

}  // namespace np::labpve
