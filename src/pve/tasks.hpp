// Waiting for Proxmox tasks (UPIDs). One poller per node reads the node's task list once per round
// (GET /nodes/{node}/tasks?source=all&since=...) and completes every waiter whose task has ended, so N
// waiting tasks cost one request per round instead of N. Rounds back off while nothing finishes. A task
// missing from the list for several rounds is asked for by its own status call.
// TaskBook and PollSchedule are the pure logic (unit-tested with an injected clock); TaskWaiter does I/O.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pve/types.hpp"

namespace np::pve {

class Client;

struct PollOptions {
    // The first round comes `min` after a task is added; after a round in which tasks ended, the next one
    // comes after a fifth of the tasks' typical duration on that node (observed: a few ms on an idle
    // cluster, seconds for clones on a busy one), never under `min`: quick tasks are seen quickly without
    // polling a slow cluster that often.
    std::chrono::milliseconds min{20};
    std::chrono::milliseconds max{2000};
    double growth = 1.5;
    int missing_rounds = 3;  // rounds a task may be absent from the list before asking for it directly
};

// The delay before the next poll: after progress, a fifth of the typical task duration observed (`min`
// before any), at least `min`; growing by `growth` up to `max` while nothing finishes.
class PollSchedule {
 public:
    explicit PollSchedule(PollOptions options) : options_(options), current_(options.min) {}
    std::chrono::milliseconds next(bool progress);
    std::chrono::milliseconds current() const { return current_; }
    // A task ended `duration` after it was handed to the waiter (a moving average keeps the typical one).
    void observe(std::chrono::milliseconds duration);

 private:
    PollOptions options_;
    std::chrono::milliseconds current_;
    double typical_ms_ = -1;
};

// The tasks one node's poller waits for.
class TaskBook {
 public:
    using TimePoint = std::chrono::steady_clock::time_point;
    struct Finished {
        std::string upid;
        TaskStatus status;
        TimePoint added;  // when it was added (its observed duration ends at the read that saw it end)
    };

    explicit TaskBook(int missing_rounds = 3) : missing_rounds_(missing_rounds) {}
    // Adds a task; returns false for a malformed UPID.
    bool add(const std::string& upid, TimePoint deadline, TimePoint now = {});
    void remove(const std::string& upid);
    bool empty() const { return pending_.empty(); }
    std::size_t size() const { return pending_.size(); }
    // The `since` value for the list call: the earliest start time of a pending task (Unix seconds).
    std::int64_t earliest_start() const;
    // Applies one task-list read: returns the tasks that ended (and forgets them); counts misses.
    std::vector<Finished> apply(const std::vector<TaskListItem>& listed);
    // Tasks absent from `missing_rounds` list reads in a row (ask for their status directly).
    std::vector<std::string> missing() const;
    // Tasks past their deadline (and forgets them).
    std::vector<std::string> expire(TimePoint now);

 private:
    struct Entry {
        Upid upid;
        TimePoint deadline;
        TimePoint added;
        int misses = 0;
    };
    int missing_rounds_;
    std::map<std::string, Entry> pending_;
};

class TaskWaiter {
 public:
    TaskWaiter(Client& client, PollOptions options = {});
    ~TaskWaiter();
    TaskWaiter(const TaskWaiter&) = delete;
    TaskWaiter& operator=(const TaskWaiter&) = delete;

    // Waits until the task stops; returns its final status (check succeeded()). Throws core::timeout when it
    // has not stopped within `timeout`.
    boost::asio::awaitable<TaskStatus> wait(std::string upid, std::chrono::milliseconds timeout);
    // Waits and throws core::Error(upstream) with the task's exit status when it did not succeed.
    boost::asio::awaitable<TaskStatus> wait_ok(std::string upid, std::chrono::milliseconds timeout);

    std::uint64_t list_reads() const;
    std::uint64_t status_reads() const;

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

// Thrown by wait_ok: carries the task's exit status text.
std::string task_failure_text(const TaskStatus& status);

}  // namespace np::pve
