// Proxmox permissions per student (issue 10 part 5): a role on /vms/{vmid} for one user, granted when a
// student's environment is created and revoked when it is destroyed, through PUT /access/acl (with
// delete=1 to revoke). The user must exist in Proxmox's user.cfg (a realm sync, or ensure_user); the role
// may be Proxmox's PVEVMUser or netpraxis's own least-privilege role (ensure_student_role). All calls are
// idempotent: granting twice or revoking what is not there succeeds.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <string>
#include <vector>

#include "pve/client.hpp"

namespace np::pve {

// netpraxis's role for a student on their own VM: see it, open its console, power it.
inline constexpr const char* kStudentRole = "NetpraxisStudent";
std::vector<std::string> student_role_privileges();  // VM.Audit, VM.Console, VM.PowerMgmt

struct AclEntry {
    std::string path, type, ugid, roleid;  // type: user | group | token
    bool propagate = true;
};

// Creates the role with these privileges when it does not exist yet; an existing one with other
// privileges gets exactly these (PUT /access/roles/{roleid}).
boost::asio::awaitable<void> ensure_role(Client& client, std::string roleid,
                                         std::vector<std::string> privileges);
// Creates netpraxis's student role (kStudentRole) when missing.
boost::asio::awaitable<void> ensure_student_role(Client& client);
// Adds a user to user.cfg when missing (for an LDAP/AD realm: no password; Proxmox checks it in the
// directory).
boost::asio::awaitable<void> ensure_user(Client& client, std::string userid);

// Grants `roleid` to `userid` on /vms/{vmid} (propagate=1, as Proxmox's default).
boost::asio::awaitable<void> grant_vm_role(Client& client, std::string userid, int vmid,
                                           std::string roleid = kStudentRole);
// Removes that entry (PUT /access/acl delete=1); nothing to remove is not an error.
boost::asio::awaitable<void> revoke_vm_role(Client& client, std::string userid, int vmid,
                                            std::string roleid = kStudentRole);

boost::asio::awaitable<std::vector<AclEntry>> read_acl(Client& client);
// Effective privileges of a user on a path (GET /access/permissions): privilege -> propagates.
boost::asio::awaitable<std::map<std::string, bool>> permissions(Client& client, std::string userid,
                                                                std::string path);

}  // namespace np::pve
