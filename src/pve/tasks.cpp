#include "pve/tasks.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/error.hpp"
#include "core/log.hpp"
#include "pve/client.hpp"

namespace np::pve {

namespace asio = boost::asio;

std::chrono::milliseconds PollSchedule::next(bool progress) {
    if (progress) {
        auto fifth = std::chrono::milliseconds(static_cast<std::int64_t>(std::max(0.0, typical_ms_) / 5));
        current_ = std::clamp(fifth, options_.min, std::max(options_.min, options_.max));
    } else {
        auto grown = std::chrono::milliseconds(
            static_cast<std::int64_t>(static_cast<double>(current_.count()) * options_.growth));
        current_ = std::min(options_.max, std::max(grown, current_ + std::chrono::milliseconds(1)));
    }
    return current_;
}

void PollSchedule::observe(std::chrono::milliseconds duration) {
    auto ms = static_cast<double>(duration.count());
    typical_ms_ = typical_ms_ < 0 ? ms : 0.8 * typical_ms_ + 0.2 * ms;
}

bool TaskBook::add(const std::string& upid, TimePoint deadline, TimePoint now) {
    auto u = parse_upid(upid);
    if (!u) return false;
    pending_[upid] = Entry{*u, deadline, now, 0};
    return true;
}

void TaskBook::remove(const std::string& upid) {
    pending_.erase(upid);
}

std::int64_t TaskBook::earliest_start() const {
    std::int64_t earliest = 0;
    for (const auto& [k, e] : pending_)
        if (earliest == 0 || e.upid.starttime < earliest) earliest = e.upid.starttime;
    return earliest;
}

std::vector<TaskBook::Finished> TaskBook::apply(const std::vector<TaskListItem>& listed) {
    std::vector<Finished> done;
    std::set<std::string> seen;
    for (const auto& item : listed) {
        auto it = pending_.find(item.upid);
        if (it == pending_.end()) continue;
        seen.insert(item.upid);
        it->second.misses = 0;
        if (!item.finished()) continue;
        TaskStatus s;
        s.upid = item.upid;
        s.node = item.node.empty() ? it->second.upid.node : item.node;
        s.type = item.type;
        s.id = item.id;
        s.user = item.user;
        s.status = "stopped";
        s.exitstatus = item.status;
        done.push_back({item.upid, std::move(s), it->second.added});
        pending_.erase(it);
    }
    for (auto& [k, e] : pending_)
        if (!seen.count(k)) ++e.misses;
    return done;
}

std::vector<std::string> TaskBook::missing() const {
    std::vector<std::string> out;
    for (const auto& [k, e] : pending_)
        if (e.misses >= missing_rounds_) out.push_back(k);
    return out;
}

std::vector<std::string> TaskBook::expire(TimePoint now) {
    std::vector<std::string> out;
    for (auto it = pending_.begin(); it != pending_.end();) {
        if (now >= it->second.deadline) {
            out.push_back(it->first);
            it = pending_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::string task_failure_text(const TaskStatus& s) {
    return "Proxmox task " + s.type + " " + s.id + " on " + s.node + " failed: " + s.exitstatus;
}

struct Waiting {
    explicit Waiting(asio::any_io_executor ex) : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    std::optional<TaskStatus> result;
    bool timed_out = false;
    std::string error;
};

struct TaskWaiter::Impl : std::enable_shared_from_this<TaskWaiter::Impl> {
    Client& client;
    PollOptions options;
    struct NodeState {
        TaskBook book;
        std::multimap<std::string, std::shared_ptr<Waiting>> waiters;
        bool polling = false;
        asio::steady_timer* sleeper = nullptr;
        std::optional<PollSchedule> schedule;  // kept across pollers: it remembers the typical duration
    };
    std::map<std::string, NodeState> nodes;
    std::uint64_t list_reads = 0, status_reads = 0;
    bool stopping = false;

    Impl(Client& c, PollOptions o) : client(c), options(o) {}

    void finish(NodeState& ns, const std::string& upid, std::optional<TaskStatus> status, bool timed_out,
                std::string error = {}) {
        auto range = ns.waiters.equal_range(upid);
        for (auto it = range.first; it != range.second; ++it) {
            it->second->result = status;
            it->second->timed_out = timed_out;
            it->second->error = error;
            it->second->timer.cancel();
        }
        ns.waiters.erase(range.first, range.second);
    }

    asio::awaitable<void> poll(std::string node) {
        auto self = shared_from_this();
        auto& ns = nodes.at(node);
        if (!ns.schedule) ns.schedule.emplace(options);
        auto& schedule = *ns.schedule;
        auto delay = options.min;
        while (!ns.book.empty() && !stopping) {
            asio::steady_timer t(client.executor(), delay);
            ns.sleeper = &t;
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            ns.sleeper = nullptr;
            if (stopping) break;
            bool progress = false;
            try {
                Client::TaskQuery q;
                q.source = "all";
                q.since = std::max<std::int64_t>(0, ns.book.earliest_start() - 1);
                q.limit = static_cast<int>(std::max<std::size_t>(500, ns.book.size() * 4));
                auto listed = co_await client.node_tasks(node, q);
                ++list_reads;
                auto read_at = client.clock().now();
                for (auto& f : ns.book.apply(listed)) {
                    progress = true;
                    schedule.observe(
                        std::chrono::duration_cast<std::chrono::milliseconds>(read_at - f.added));
                    finish(ns, f.upid, std::move(f.status), false);
                }
                for (const auto& upid : ns.book.missing()) {
                    // Not in the list (list limit, clock skew): ask for this one directly.
                    ++status_reads;
                    auto s = co_await client.task_status(upid);
                    if (!s.running()) {
                        ns.book.remove(upid);
                        progress = true;
                        finish(ns, upid, std::move(s), false);
                    }
                }
            } catch (const core::Error& e) {
                // A failed read is retried next round (the client already retried transient errors).
                log::warn("pve.task_poll_failed", {{"node", node}, {"error", e.what()}});
            }
            for (const auto& upid : ns.book.expire(client.clock().now()))
                finish(ns, upid, std::nullopt, true);
            delay = schedule.next(progress);
        }
        ns.polling = false;
    }
};

TaskWaiter::TaskWaiter(Client& client, PollOptions options)
    : impl_(std::make_shared<Impl>(client, options)) {}

TaskWaiter::~TaskWaiter() {
    impl_->stopping = true;
    for (auto& [n, ns] : impl_->nodes) {
        if (ns.sleeper) ns.sleeper->cancel();
        for (auto& [u, w] : ns.waiters) w->timer.cancel();
    }
}

std::uint64_t TaskWaiter::list_reads() const {
    return impl_->list_reads;
}
std::uint64_t TaskWaiter::status_reads() const {
    return impl_->status_reads;
}

asio::awaitable<TaskStatus> TaskWaiter::wait(std::string upid, std::chrono::milliseconds timeout) {
    auto impl = impl_;
    auto u = parse_upid(upid);
    if (!u) throw core::upstream("Proxmox returned '" + upid + "', which is not a task id (UPID)");
    auto& ns = impl->nodes[u->node];
    auto now = impl->client.clock().now();
    if (!ns.book.add(upid, now + timeout, now))
        throw core::upstream("Proxmox returned '" + upid + "', which is not a task id (UPID)");
    auto w = std::make_shared<Waiting>(impl->client.executor());
    ns.waiters.emplace(upid, w);
    if (!ns.polling) {
        ns.polling = true;
        asio::co_spawn(impl->client.executor(), impl->poll(u->node), asio::detached);
    } else if (ns.sleeper && ns.book.size() == 1) {
        ns.sleeper->cancel();
    }
    while (!w->result && !w->timed_out) {
        co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (impl->stopping && !w->result)
            throw core::unavailable("task waiter stopped while waiting for " + upid);
    }
    if (w->timed_out)
        throw core::timeout("Proxmox task " + u->type + " " + u->id + " on " + u->node +
                            " did not finish within " + std::to_string(timeout.count() / 1000) + " s");
    co_return *w->result;
}

asio::awaitable<TaskStatus> TaskWaiter::wait_ok(std::string upid, std::chrono::milliseconds timeout) {
    auto s = co_await wait(std::move(upid), timeout);
    if (!s.succeeded()) {
        bool lock = is_lock_timeout(s.exitstatus);
        throw core::Error(core::Code::upstream, task_failure_text(s), lock);
    }
    co_return s;
}

}  // namespace np::pve
