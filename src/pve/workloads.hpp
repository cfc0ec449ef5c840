// The class-scale workloads: batch linked/full clones with placement across nodes, verified batch delete
// (leftover volumes removed and counted), and template builds (clone base, boot, wait for the guest-agent
// IP, optional project import, shut down, convert). Each runs its items concurrently under the client's
// per-node and per-storage adaptive limits and converges when re-run (items that already exist or are
// already gone count as done).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "pve/client.hpp"
#include "pve/tasks.hpp"
#include "pve/vmid.hpp"

namespace np::pve {

// Called after each finished item: (done, total, what happened).
using Progress = std::function<void(std::size_t done, std::size_t total, const std::string& item)>;

struct Summary {
    std::size_t ok = 0;
    std::size_t failed = 0;
    double seconds = 0;
    std::uint64_t retries = 0;          // item-level retries plus the client's request retries
    std::uint64_t orphans_cleaned = 0;  // leftover volumes found after a delete or failed clone and removed
    std::uint64_t vmid_collisions = 0;
    std::uint64_t api_calls = 0;
    std::vector<int> vmids;           // created (clone, template) or deleted
    std::vector<std::string> errors;  // one line per failed item
    int vmid = 0;                     // template: the new template
    std::string node;                 // template: its node
};

struct WorkloadLimits {
    std::chrono::milliseconds task_timeout{15 * 60 * 1000};
    std::chrono::milliseconds agent_timeout{10 * 60 * 1000};
    int max_attempts = 12;  // per item
    PollOptions poll;
};

struct CloneBatch {
    int template_vmid = 0;
    std::size_t count = 0;
    std::string prefix = "np";
    bool full = false;
    std::vector<std::string> nodes;  // allowed nodes; empty: all that can hold a clone
    std::string pool;
    int vmid_low = 10000, vmid_high = 99999;
    std::size_t first_index = 1;     // names are <prefix>-<index, 3 digits>
    std::string exact_name;          // with count 1: this name instead (a lab provider's environment VM)
    std::vector<std::string> names;  // non-empty: exactly these names, count = names.size() (a class's VMs)
    WorkloadLimits limits;
    // Told as soon as item `index` exists (cloned now, or already there), with its VMID and node, before
    // the batch ends: a caller may start it while the others are still being cloned. Empty: nothing told.
    std::function<void(std::size_t index, int vmid, const std::string& node)> on_cloned;
};

struct DeleteBatch {
    std::string prefix;      // every qemu/LXC guest named <prefix>-* (templates excluded)
    std::vector<int> vmids;  // or exactly these
    WorkloadLimits limits;
};

struct TemplateBuild {
    int base_vmid = 0;
    std::string name;
    std::size_t count = 1;  // >1: builds <name>-1..n (benchmarks)
    int vmid_low = 10000, vmid_high = 99999;
    // The seam for the GNS3 project import (src/gns3 arrives later): called with the VM's IP once the
    // guest agent reports one; empty: no import.
    std::function<boost::asio::awaitable<void>(const std::string& ip, int vmid)> import_project;
    // Told each step as it begins ("cloning base VM", "starting the VM", "waiting for guest agent",
    // "importing project", "shutting down", "converting to template"); empty: nothing told.
    std::function<boost::asio::awaitable<void>(std::string step)> on_step;
    WorkloadLimits limits;
};

boost::asio::awaitable<Summary> clone_batch(Client& client, CloneBatch batch, Progress progress = {});
boost::asio::awaitable<Summary> delete_batch(Client& client, DeleteBatch batch, Progress progress = {});
boost::asio::awaitable<Summary> build_template(Client& client, TemplateBuild build, Progress progress = {});

// Placement: which node gets each of `count` clones, by free memory minus what this batch already put there.
struct PlacementNode {
    std::string node;
    std::int64_t free_mem = 0;
};
std::vector<std::string> place_clones(const std::vector<PlacementNode>& nodes, std::size_t count,
                                      std::int64_t vm_mem);

}  // namespace np::pve
