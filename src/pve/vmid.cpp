#include "pve/vmid.hpp"

#include <string>

#include "core/error.hpp"

namespace np::pve {

VmidAllocator::VmidAllocator(int low, int high) : low_(low), high_(high), cursor_(low) {
    if (low < 100 || high > 999'999'999 || low > high)
        throw core::invalid("VMID range " + std::to_string(low) + "-" + std::to_string(high) +
                            " is not valid (Proxmox VM ids are 100..999999999, low <= high)");
}

void VmidAllocator::mark_used(int vmid) {
    used_.insert(vmid);
    released_.erase(vmid);
}

void VmidAllocator::mark_used(const std::vector<int>& vmids) {
    for (int v : vmids) mark_used(v);
}

void VmidAllocator::release(int vmid) {
    if (used_.erase(vmid)) released_.insert(vmid);
}

int VmidAllocator::allocate() {
    if (!released_.empty()) {
        int v = *released_.begin();
        released_.erase(released_.begin());
        used_.insert(v);
        return v;
    }
    long span = static_cast<long>(high_) - low_ + 1;
    for (long i = 0; i < span; ++i) {
        int v = cursor_;
        cursor_ = cursor_ == high_ ? low_ : cursor_ + 1;
        if (!used_.count(v)) {
            used_.insert(v);
            return v;
        }
    }
    throw core::conflict("no free VMID left in the configured range " + std::to_string(low_) + "-" +
                         std::to_string(high_) + " (widen pve.vmid_range)");
}

}  // namespace np::pve
