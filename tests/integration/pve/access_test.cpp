// Proxmox permissions per student (issue 10 part 5) on the simulator: a role on /vms/{vmid} lets a student,
// logged in with their own ticket, see, power and open the console of their own VM and nothing else;
// revoked, nothing. The simulator enforces privileges as Proxmox does (403 "Permission check failed (path,
// privilege)"), so this is the isolation a class gets from Proxmox itself.
#include "pve/access.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "pve/tasks.hpp"
#include "pvesim/profile.hpp"
#include "sim_fixture.hpp"

namespace np::pve {
namespace {

using testing::SimFixture;
namespace asio = boost::asio;

constexpr int kVm1 = 4001, kVm2 = 4002;

// The error of a call that must fail, or a test failure.
template <class F>
asio::awaitable<std::string> refused(F call, core::Code code) {
    try {
        co_await call();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        co_return std::string(e.what());
    }
    ADD_FAILURE() << "the call succeeded";
    co_return std::string{};
}

bool lists(const std::vector<Resource>& rows, int vmid) {
    return std::any_of(rows.begin(), rows.end(), [&](const Resource& r) { return r.vmid == vmid; });
}

Params user_params(const char* user, const char* password) {
    return Params{{"userid", user}, {"password", password}};
}

Params bad_path_params() {
    return Params{{"path", "/vms/abc"}, {"users", "student9@students"}, {"roles", "PVEVMUser"}};
}

// Two students, a VM each, cloned by root; each student holds netpraxis's role on their own VM.
asio::awaitable<void> set_up_class(Client& root) {
    CallOptions once;
    once.idempotent = false;
    // (named locals, not braced temporaries inside co_await: GCC 12 miscompiles those)
    Params one = user_params("student1@pve", "pw-one"), two = user_params("student2@pve", "pw-two");
    co_await root.call("POST", "/access/users", one, once);
    co_await root.call("POST", "/access/users", two, once);
    co_await ensure_student_role(root);
    co_await ensure_student_role(root);  // idempotent
    TaskWaiter waiter(root);
    for (int vmid = kVm1; vmid <= kVm2; ++vmid) {
        Client::CloneRequest r;
        r.newid = vmid;
        r.name = "lab-" + std::to_string(vmid);
        auto upid = co_await root.clone(GuestKind::qemu, "pve1", 9000, r);
        co_await waiter.wait_ok(upid, std::chrono::seconds(10));
    }
    co_await grant_vm_role(root, "student1@pve", kVm1);
    co_await grant_vm_role(root, "student2@pve", kVm2);
    co_await grant_vm_role(root, "student2@pve", kVm2);  // idempotent: still one entry
}

TEST(PveAccess, AStudentSeesAndPowersOnlyTheirOwnVmUntilRevoked) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        Client root(sim.io.get_executor(), sim.options());
        co_await set_up_class(root);
        auto acl = co_await read_acl(root);
        EXPECT_EQ(std::count_if(acl.begin(), acl.end(),
                                [](const AclEntry& e) {
                                    return e.path == "/vms/4002" && e.ugid == "student2@pve" &&
                                           e.roleid == kStudentRole && e.type == "user" && e.propagate;
                                }),
                  1);
        auto perms = co_await permissions(root, "student1@pve", "/vms/4001");
        EXPECT_EQ(perms.size(), 3u);
        for (const auto& p : student_role_privileges()) EXPECT_TRUE(perms.count(p)) << p;

        auto s1 = root.as_user("student1@pve", "pw-one");
        // Sees their own VM only (no templates, not the other student's).
        auto rows = co_await s1.cluster_resources("vm");
        EXPECT_TRUE(lists(rows, kVm1));
        EXPECT_FALSE(lists(rows, kVm2));
        EXPECT_FALSE(lists(rows, 9000));
        auto own_list = co_await s1.list_guests(GuestKind::qemu, "pve1");
        EXPECT_EQ(own_list.size(), 1u);
        // Neither sees nor powers nor opens the console of student2's VM.
        auto why = co_await refused(
            [&]() -> asio::awaitable<void> { co_await s1.guest_status(GuestKind::qemu, "pve1", kVm2); },
            core::Code::forbidden);
        EXPECT_NE(why.find("Permission check failed (/vms/4002, VM.Audit)"), std::string::npos) << why;
        why = co_await refused(
            [&]() -> asio::awaitable<void> { co_await s1.start(GuestKind::qemu, "pve1", kVm2); },
            core::Code::forbidden);
        EXPECT_NE(why.find("(/vms/4002, VM.PowerMgmt)"), std::string::npos) << why;
        why = co_await refused(
            [&]() -> asio::awaitable<void> { co_await s1.call("POST", "/nodes/pve1/qemu/4002/vncproxy"); },
            core::Code::forbidden);
        EXPECT_NE(why.find("(/vms/4002, VM.Console)"), std::string::npos) << why;
        // A VM that does not exist answers the same: no existence leaks.
        co_await refused([&]() -> asio::awaitable<void> { co_await s1.start(GuestKind::qemu, "pve1", 4999); },
                         core::Code::forbidden);
        // Nor can they hand themselves a role, nor delete their own VM.
        why = co_await refused(
            [&]() -> asio::awaitable<void> { co_await grant_vm_role(s1, "student1@pve", kVm2); },
            core::Code::forbidden);
        EXPECT_NE(why.find("Permissions.Modify"), std::string::npos) << why;
        co_await refused(
            [&]() -> asio::awaitable<void> { co_await s1.destroy(GuestKind::qemu, "pve1", kVm1); },
            core::Code::forbidden);

        // Powers their own VM and opens its console.
        TaskWaiter waiter(s1);
        auto started = co_await s1.start(GuestKind::qemu, "pve1", kVm1);
        co_await waiter.wait_ok(started, std::chrono::seconds(10));
        auto status = co_await s1.guest_status(GuestKind::qemu, "pve1", kVm1);
        EXPECT_EQ(status.status, "running");
        auto console = co_await s1.call("POST", "/nodes/pve1/qemu/4001/vncproxy");
        EXPECT_TRUE(console.as_object().contains("ticket"));
        // student2 does not see student1's task.
        auto s2 = root.as_user("student2@pve", "pw-two");
        Client::TaskQuery all_tasks;
        auto tasks = co_await s2.node_tasks("pve1", all_tasks);
        EXPECT_TRUE(std::none_of(tasks.begin(), tasks.end(),
                                 [](const TaskListItem& t) { return t.user == "student1@pve"; }));

        // Revoked: nothing any more (and revoking again is fine).
        co_await revoke_vm_role(root, "student1@pve", kVm1);
        co_await revoke_vm_role(root, "student1@pve", kVm1);
        co_await refused([&]() -> asio::awaitable<void> { co_await s1.stop(GuestKind::qemu, "pve1", kVm1); },
                         core::Code::forbidden);
        auto after = co_await s1.cluster_resources("vm");
        EXPECT_FALSE(lists(after, kVm1));
        auto none = co_await permissions(root, "student1@pve", "/vms/4001");
        EXPECT_TRUE(none.empty());
        // student2 kept theirs.
        auto theirs = co_await s2.cluster_resources("vm");
        EXPECT_TRUE(lists(theirs, kVm2));
        EXPECT_GT(sim.stat("permission_denials"), 0);
    });
}

TEST(PveAccess, BadGrantsAreRefusedAndNothingIsStored) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        Client root(sim.io.get_executor(), sim.options());
        co_await ensure_student_role(root);
        auto why = co_await refused(
            [&]() -> asio::awaitable<void> { co_await grant_vm_role(root, "nobody@pve", 4001); },
            core::Code::not_found);
        EXPECT_NE(why.find("ACL update failed: user 'nobody@pve' does not exist"), std::string::npos) << why;
        co_await ensure_user(root, "student9@students");
        co_await ensure_user(root, "student9@students");  // idempotent
        why = co_await refused(
            [&]() -> asio::awaitable<void> {
                co_await grant_vm_role(root, "student9@students", 4001, "NoSuchRole");
            },
            core::Code::not_found);
        EXPECT_NE(why.find("role 'NoSuchRole' does not exist"), std::string::npos) << why;
        Params bad = bad_path_params();
        why = co_await refused(
            [&]() -> asio::awaitable<void> { co_await root.call("PUT", "/access/acl", bad); },
            core::Code::invalid);
        EXPECT_NE(why.find("invalid ACL path '/vms/abc'"), std::string::npos) << why;
        co_await refused([&]() -> asio::awaitable<void> { co_await grant_vm_role(root, "no-realm", 4001); },
                         core::Code::invalid);
        auto entries = co_await read_acl(root);
        EXPECT_EQ(entries.size(), 4u);  // the profile's teacher entries only
        // Proxmox's own role works as well, and a destroyed VM takes its ACL with it.
        co_await grant_vm_role(root, "student9@students", 9001, "PVEVMUser");
        auto perms = co_await permissions(root, "student9@students", "/vms/9001");
        std::vector<std::string> expected{"VM.Audit", "VM.Console", "VM.PowerMgmt", "VM.Backup",
                                          "VM.Config.CDROM"};
        for (const auto& p : expected) EXPECT_TRUE(perms.count(p)) << p;
        EXPECT_FALSE(perms.count("VM.Allocate"));
        TaskWaiter waiter(root);
        co_await waiter.wait_ok(co_await root.destroy(GuestKind::qemu, "pve2", 9001),
                                std::chrono::seconds(10));
        auto acl = co_await read_acl(root);
        EXPECT_TRUE(
            std::none_of(acl.begin(), acl.end(), [](const AclEntry& e) { return e.path == "/vms/9001"; }));
    });
}

// Proxmox's defaults: a token is privilege-separated (it holds only what ACL entries on the token grant,
// within its user's privileges), root@pam's included; --privsep 0 gives it its user's privileges.
TEST(PveAccess, TokensArePrivilegeSeparatedByDefault) {
    auto profile = pvesim::load_profile("fast");
    profile.tokens.push_back({"alice@teachers!sep", "11111111-2222-3333-4444-555555555555"});
    profile.tokens.push_back({"alice@teachers!full", "66666666-7777-8888-9999-000000000000", false});
    profile.tokens.push_back({"root@pam!sep", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"});
    SimFixture sim(profile);
    sim.run([&]() -> asio::awaitable<void> {
        Client root(sim.io.get_executor(), sim.options());
        auto as_token = [&](const char* id, const char* secret) {
            auto o = sim.options();
            o.credentials.user.clear();
            o.credentials.password.clear();
            o.credentials.token_id = id;
            o.credentials.token_secret = secret;
            return Client(sim.io.get_executor(), o);
        };
        auto sep = as_token("alice@teachers!sep", "11111111-2222-3333-4444-555555555555");
        auto full = as_token("alice@teachers!full", "66666666-7777-8888-9999-000000000000");
        auto root_sep = as_token("root@pam!sep", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
        EXPECT_TRUE((co_await sep.cluster_resources("vm")).empty());  // no ACL on the token: nothing
        EXPECT_TRUE((co_await root_sep.cluster_resources("vm")).empty());
        EXPECT_FALSE((co_await full.cluster_resources("vm")).empty());  // alice's PVEVMAdmin on /vms
        co_await refused([&]() -> asio::awaitable<void> { co_await sep.start(GuestKind::qemu, "pve1", 100); },
                         core::Code::forbidden);
        // An entry on the token gives it what both it and alice hold: VM.Audit, not VM.PowerMgmt.
        Params grant{{"path", "/vms/100"}, {"tokens", "alice@teachers!sep"}, {"roles", "PVEAuditor"}};
        co_await root.call("PUT", "/access/acl", grant);
        auto rows = co_await sep.cluster_resources("vm");
        EXPECT_TRUE(lists(rows, 100));
        EXPECT_FALSE(lists(rows, 9000));
        co_await refused([&]() -> asio::awaitable<void> { co_await sep.start(GuestKind::qemu, "pve1", 100); },
                         core::Code::forbidden);
    });
}

// ensure_role puts an existing role back to exactly netpraxis's privileges (PUT /access/roles/{roleid}).
TEST(PveAccess, EnsureRoleCorrectsARoleWhosePrivilegesDiffer) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        Client root(sim.io.get_executor(), sim.options());
        Params made{{"roleid", kStudentRole}, {"privs", "VM.Audit,VM.Allocate"}};
        CallOptions once;
        once.idempotent = false;
        co_await root.call("POST", "/access/roles", made, once);
        co_await ensure_student_role(root);
        auto role = co_await root.call("GET", std::string("/access/roles/") + kStudentRole);
        std::set<std::string> privs;
        for (const auto& kv : role.as_object()) privs.insert(std::string(kv.key()));
        auto want = student_role_privileges();
        EXPECT_EQ(privs, std::set<std::string>(want.begin(), want.end()));
        co_await ensure_student_role(root);  // equal now: nothing to do
        auto why = co_await refused(
            [&]() -> asio::awaitable<void> {
                std::vector<std::string> audit{"VM.Audit"};
                co_await ensure_role(root, "PVEVMUser", audit);
            },
            core::Code::upstream);
        EXPECT_NE(why.find("cannot be modified"), std::string::npos) << why;
    });
}

}  // namespace
}  // namespace np::pve
