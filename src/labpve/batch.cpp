// ProxmoxProvider at class scale (issue 10 part 4): a class's VMs are cloned as ONE pve::clone_batch per
// template (the client's adaptive per-node/per-storage limits, idempotent retries, lost replies settled by
// looking), and a class start runs in waves, each bounded by what the nodes can take now (free memory, vCPUs
// under pve.cpu_overcommit) and by pve.start_wave.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
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

// Runs fn(i) for i in [0, n) concurrently on `ex` and waits for all (fn catches its own errors).
template <class Fn>
asio::awaitable<void> all_of(asio::any_io_executor ex, std::size_t n, Fn fn) {
    if (n == 0) co_return;
    auto remaining = std::make_shared<std::size_t>(n);
    auto timer = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    for (std::size_t i = 0; i < n; ++i)
        asio::co_spawn(ex, fn(i), [remaining, timer](const std::exception_ptr&) {
            if (--*remaining == 0) timer->cancel();
        });
    while (*remaining > 0) co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string error_for(const std::vector<std::string>& errors, const std::string& name) {
    for (const auto& e : errors)
        if (e.starts_with(name + ": ")) return e.substr(name.size() + 2);
    return "";
}

}  // namespace

asio::awaitable<std::vector<lab::BatchItem>> ProxmoxProvider::create_batch(
    const std::vector<lab::LabRequest>& requests, lab::BatchProgress progress) {
    std::vector<lab::BatchItem> items(requests.size());
    std::map<std::string, std::vector<std::size_t>> by_template;  // template name -> request indexes
    for (std::size_t i = 0; i < requests.size(); ++i) {
        items[i].env = requests[i].env;
        try {
            check_request(requests[i]);
            by_template[template_for(requests[i])].push_back(i);
        } catch (const core::Error& e) {
            items[i].error = core::public_message(e);
        }
    }
    const auto& o = options();
    std::size_t done = 0;
    std::vector<std::string> names;
    for (const auto& [tpl_name, indexes] : by_template)
        for (auto i : indexes) names.push_back(requests[i].env);
    co_await claim(names);  // a student's own start waits for the batch instead of cloning beside it
    for (const auto& entry : by_template) {
        const auto& tpl_name = entry.first;  // (named, not a structured binding: the lambda captures them)
        const auto& indexes = entry.second;
        auto fail_all = [&](const std::string& why) {
            for (auto i : indexes) items[i].error = why;
        };
        try {
            co_await ensure_template(requests[indexes.front()]);  // built once, reused by every student
            std::vector<std::string> envs;
            for (auto i : indexes) envs.push_back(requests[i].env);
            co_await copy_template(tpl_name, envs, progress);  // local storage: one on each node VMs go to
            std::optional<pve::Resource> tpl;
            for (const auto& r : co_await client().cluster_resources("vm"))
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
            auto before = done;
            auto summary = co_await pve::clone_batch(
                client(), b, [&](std::size_t n, std::size_t, const std::string& what) {
                    done = before + n;
                    if (progress) progress(what.substr(0, what.find(' ')), what, done, requests.size());
                });
            for (auto i : indexes) {
                items[i].error = error_for(summary.errors, requests[i].env);
                items[i].ok = items[i].error.empty();
                if (!items[i].ok) continue;
                try {
                    co_await grant_owner(requests[i]);  // the student's role on their own VM, as create does
                } catch (const core::Error& e) {
                    items[i].ok = false;
                    items[i].error = core::public_message(e);
                }
            }
            log::info("labpve.batch_cloned", {{"template", tpl_name},
                                              {"ok", summary.ok},
                                              {"failed", summary.failed},
                                              {"seconds", summary.seconds},
                                              {"retries", summary.retries}});
        } catch (const core::Error& e) {
            fail_all(core::public_message(e));
        } catch (const std::exception& e) {
            fail_all(e.what());
        }
    }
    release(names);
    co_return items;
}

asio::awaitable<std::vector<lab::BatchItem>> ProxmoxProvider::start_batch(
    const std::vector<std::string>& envs, lab::BatchProgress progress) {
    std::vector<lab::BatchItem> items(envs.size());
    for (std::size_t i = 0; i < envs.size(); ++i) items[i].env = envs[i];
    std::vector<std::size_t> pending(envs.size());
    for (std::size_t i = 0; i < envs.size(); ++i) pending[i] = i;
    const auto& o = options();
    std::size_t done = 0;
    int wave_no = 0;
    while (!pending.empty()) {
        auto rows = co_await client().cluster_resources();
        auto rooms = node_rooms(rows, o.cpu_overcommit);
        std::map<std::string, pve::Resource> vms;
        for (const auto& r : rows)
            if (r.type == "qemu" && !r.is_template) vms[r.name] = r;
        std::vector<std::size_t> wave, later;
        for (auto i : pending) {
            if (static_cast<int>(wave.size()) >= o.start_wave) {
                later.push_back(i);
                continue;
            }
            auto vm = vms.find(envs[i]);
            // No VM (start says so) or already running: it takes no room.
            if (vm == vms.end() || vm->second.status == "running") {
                wave.push_back(i);
                continue;
            }
            auto room = rooms.find(vm->second.node);
            auto cpus = static_cast<double>(std::max<std::int64_t>(vm->second.maxcpu, 1));
            if (room == rooms.end() || room->second.free_mem < vm->second.maxmem ||
                room->second.free_vcpus < cpus) {
                later.push_back(i);
                continue;
            }
            room->second.free_mem -= vm->second.maxmem;
            room->second.free_vcpus -= cpus;
            wave.push_back(i);
        }
        if (wave.empty()) {  // nothing fits and nothing of this batch is starting: it never will
            auto why = "the cluster has no room to start this VM now (" + room_text(rooms) + ")";
            for (auto i : later) items[i].error = why;
            break;
        }
        ++wave_no;
        log::info("labpve.start_wave", {{"wave", wave_no}, {"size", wave.size()}, {"left", later.size()}});
        co_await all_of(client().executor(), wave.size(), [&](std::size_t k) -> asio::awaitable<void> {
            auto i = wave[k];
            try {
                co_await start(envs[i]);
                items[i].ok = true;
            } catch (const core::Error& e) {
                items[i].error = core::public_message(e);
            } catch (const std::exception& e) {
                items[i].error = e.what();
            }
            ++done;
            if (progress)
                progress(envs[i],
                         items[i].ok ? "started (wave " + std::to_string(wave_no) + ")" : items[i].error,
                         done, envs.size());
        });
        pending = std::move(later);
    }
    co_return items;
}

}  // namespace np::labpve
