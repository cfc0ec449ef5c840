// VMIDs handed out by netpraxis from a configured range (never via /cluster/nextid, which reserves nothing
// and races: API.md §6). Ids seen in use or lost to a collision are never handed out again by this
// allocator; a cursor walks the range so a retry after a collision moves on. Pure logic.
#pragma once

#include <set>
#include <vector>

namespace np::pve {

class VmidAllocator {
 public:
    // Throws core::Error(invalid) when the range is empty or outside 100..999999999.
    VmidAllocator(int low, int high);
    // Marks ids as taken (from /cluster/resources).
    void mark_used(int vmid);
    void mark_used(const std::vector<int>& vmids);
    // Gives an id back (its clone was refused before creating anything).
    void release(int vmid);
    // The next free id; throws core::Error(conflict) when the range is exhausted.
    int allocate();
    bool in_range(int vmid) const { return vmid >= low_ && vmid <= high_; }
    std::size_t used() const { return used_.size(); }

 private:
    int low_, high_, cursor_;
    std::set<int> used_;
    std::set<int> released_;
};

}  // namespace np::pve
