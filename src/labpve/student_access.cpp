#include "labpve/student_access.hpp"

#include "pve/access.hpp"

namespace np::labpve {

namespace asio = boost::asio;

std::string proxmox_student(const lab::LabOwner& owner) {
    if (owner.realm_kind != "proxmox" || owner.userid.find('@') == std::string::npos) return {};
    return owner.userid;
}

asio::awaitable<void> StudentAccess::grant(const std::string& userid, int vmid) {
    if (!role_ready_) {
        co_await pve::ensure_student_role(client_);
        role_ready_ = true;
    }
    co_await pve::grant_vm_role(client_, userid, vmid);
}

asio::awaitable<std::vector<std::string>> StudentAccess::holders(int vmid) {
    const auto path = "/vms/" + std::to_string(vmid);
    std::vector<std::string> out;
    for (const auto& e : co_await pve::read_acl(client_))
        if (e.path == path && e.type == "user" && e.roleid == pve::kStudentRole) out.push_back(e.ugid);
    co_return out;
}

asio::awaitable<std::size_t> StudentAccess::revoke_all(int vmid) {
    auto users = co_await holders(vmid);
    for (const auto& u : users) co_await pve::revoke_vm_role(client_, u, vmid);
    co_return users.size();
}

}  // namespace np::labpve
