// Proxmox permissions per student, as the proxmox provider applies them (issue 10 part 5): a student who
// logs in through a `proxmox` realm (lab::LabOwner{realm_kind "proxmox", userid "<user>@<pve realm>"})
// holds netpraxis's least-privilege role (pve::kStudentRole: VM.Audit, VM.Console, VM.PowerMgmt) on
// /vms/{vmid} of their own VM only; students of other realms get nothing. Granted on create, revoked before
// a destroy (and so before reset's re-clone, re-granted after on the new VMID).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "lab/provider.hpp"
#include "pve/client.hpp"

namespace np::labpve {

// The Proxmox userid to grant a VM to, or "" when `owner` does not log in through Proxmox.
std::string proxmox_student(const lab::LabOwner& owner);

class StudentAccess {
 public:
    explicit StudentAccess(pve::Client& client) : client_(client) {}
    // Grants the student role on /vms/{vmid} to `userid` (the role made or corrected once per process).
    boost::asio::awaitable<void> grant(const std::string& userid, int vmid);
    // The users holding the student role on /vms/{vmid}.
    boost::asio::awaitable<std::vector<std::string>> holders(int vmid);
    // Revokes the student role of every holder on /vms/{vmid}; returns how many were revoked.
    boost::asio::awaitable<std::size_t> revoke_all(int vmid);

 private:
    pve::Client& client_;
    bool role_ready_ = false;
};

}  // namespace np::labpve
