// labpve::TemplateCopies: an exercise's template on every node its students' VMs go to, when the template's
// disks are on local storage (issue 10 part 3). Proxmox refuses a linked clone to another node from local
// storage ("can't clone VM to node 'pve2' (VM uses local storage)"), so each node that the placement of a
// class (pve::place_clones: free memory across the allowed online nodes) gives VMs to needs a template of
// its own: a full clone of the template on its node, named <template>-copy-<node> while it is made, migrated
// offline with its local disks to that node, converted to a template and renamed like the original, where
// pve::clone_batch finds it (a template of the same name on the node). Copies are made once and reused by
// every later class; shared storage needs none (clones go cross-node from the one template).
// Each copy moves by what Proxmox shows (the VM's node, template flag, name, lock), one step per round for
// all nodes at once, so a copy a crash left half-made (a <template>-copy-<node> VM) is finished where it
// stopped, and a lost reply is settled by looking. A node whose copy fails gets none: its VMs go to the
// nodes that have one; the failure is logged, told and counted, and the half-made VM removed.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "pve/client.hpp"
#include "pve/workloads.hpp"

namespace np::labpve {

struct CopyOptions {
    std::vector<std::string> nodes;  // pve.nodes: where VMs may go (empty: every online node)
    int vmid_low = 10000, vmid_high = 99999;
    pve::WorkloadLimits limits;
    std::chrono::milliseconds poll_interval{500};
};

struct TemplateCopyStats {
    std::uint64_t made = 0;     // copies completed by this process (resumed ones included)
    std::uint64_t resumed = 0;  // half-made copies found and finished
    std::uint64_t failed = 0;   // copies that failed (their node got none)
};

// The name of a copy of `tpl` for `node` until it is complete.
std::string copy_name(const std::string& tpl, const std::string& node);

// The nodes that need a copy of template `tpl` for `count` new VMs: where pve::place_clones puts them
// among the allowed online nodes (those holding the template first, so a tie keeps VMs there) that hold no
// template of that name yet. `rows` is /cluster/resources (nodes and VMs).
std::vector<std::string> nodes_needing_copy(const std::vector<pve::Resource>& rows, const std::string& tpl,
                                            std::size_t count, const std::vector<std::string>& allowed);

// Told each step ("copying template to node pve2", "template copied to node pve2").
using CopyStep = std::function<boost::asio::awaitable<void>(std::string text)>;

class TemplateCopies {
 public:
    TemplateCopies(pve::Client& client, CopyOptions options);

    // Makes sure template `tpl` has a copy on every node the VMs of `envs` (those that have none yet) are
    // placed on, when its disks are on local storage, and finishes copies a crash left half-made. One run per
    // template at a time in this process (a concurrent call waits, then finds the copies made).
    boost::asio::awaitable<void> ensure(const std::string& tpl, const std::vector<std::string>& envs,
                                        CopyStep step);
    const TemplateCopyStats& stats() const { return stats_; }

 private:
    struct Copy;
    boost::asio::awaitable<void> run(const std::string& tpl, const std::vector<std::string>& envs,
                                     const CopyStep& step);
    boost::asio::awaitable<bool> on_local_storage(const pve::Resource& tpl,
                                                  const std::vector<pve::Resource>& rows);
    boost::asio::awaitable<void> clone_missing(const pve::Resource& source, const std::string& tpl,
                                               std::vector<Copy>& copies);
    boost::asio::awaitable<std::vector<pve::Resource>> settled_rows(const std::vector<Copy>& copies);
    boost::asio::awaitable<void> remove_duplicates(const std::string& tpl, const std::vector<Copy>& copies);
    boost::asio::awaitable<void> advance(const std::string& tpl, std::vector<Copy>& copies);
    void step_failed(Copy& copy, const core::Error& error);
    boost::asio::awaitable<void> give_up(Copy& copy, const CopyStep& step);

    pve::Client& client_;
    CopyOptions options_;
    TemplateCopyStats stats_;
    std::set<std::string> busy_;  // templates being copied by this process
};

}  // namespace np::labpve
