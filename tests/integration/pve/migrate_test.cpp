// The simulator's migration (POST .../qemu/{vmid}/migrate) and config edit (PUT .../config) through the
// client, as qemu-server does them: an offline migration moves a stopped VM or template and its local
// disks to the target node as a `qmigrate` task holding the VM's `migrate` lock; the refusals carry
// Proxmox's words.

#include "core/error.hpp"
#include "pve/tasks.hpp"
#include "sim_fixture.hpp"

namespace np::pve {
namespace {

using np::testing::SimFixture;
namespace asio = boost::asio;
using Ms = std::chrono::milliseconds;

pvesim::Profile fast() {
    return pvesim::load_profile("fast");
}

std::optional<Resource> vm_row(const std::vector<Resource>& rows, int vmid) {
    for (const auto& r : rows)
        if (r.type == "qemu" && r.vmid == vmid) return r;
    return std::nullopt;
}

// A clone of VM `from` of pve1 (base VM 100: a full clone on local-lvm) named `name`, made and waited for.
asio::awaitable<void> full_clone(Client& c, int from, int newid, const std::string& name) {
    Client::CloneRequest req;
    req.newid = newid;
    req.name = name;
    TaskWaiter waiter(c);
    co_await waiter.wait_ok(co_await c.clone(GuestKind::qemu, "pve1", from, req), Ms(10'000));
}

// The PVE message of a call that must be refused (or a test failure).
template <class F>
asio::awaitable<std::string> refusal(F call) {
    try {
        co_await call();
    } catch (const ApiError& e) {
        co_return e.fields().empty() ? e.pve_message()
                                     : e.fields().front().path + ": " + e.fields().front().message;
    }
    ADD_FAILURE() << "the call was accepted";
    co_return std::string{};
}

std::string joined_log(const std::vector<TaskLogLine>& lines) {
    std::string out;
    for (const auto& l : lines) out += l.t + "\n";
    return out;
}

TEST(PveMigrate, OfflineMigrationMovesAStoppedVmAndItsLocalDisksUnderTheMigrateLock) {
    auto profile = fast();
    profile.migrate_ms = 300;  // long enough to see the lock while it runs
    SimFixture sim(profile);
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        co_await full_clone(c, 100, 700, "mig-a");
        Client::MigrateRequest m;
        m.target = "pve2";
        m.with_local_disks = true;
        auto upid = co_await c.migrate("pve1", 700, m);
        EXPECT_NE(upid.find(":qmigrate:700:"), std::string::npos) << upid;
        // While it runs the VM is locked: other operations are refused with Proxmox's words.
        auto st = co_await c.guest_status(GuestKind::qemu, "pve1", 700);
        EXPECT_EQ(st.lock, "migrate");
        auto again = co_await refusal([&]() -> asio::awaitable<void> { co_await c.migrate("pve1", 700, m); });
        EXPECT_EQ(again, "VM 700 is locked (migrate)");
        TaskWaiter waiter(c);
        co_await waiter.wait_ok(upid, Ms(10'000));
        auto row = vm_row(co_await c.cluster_resources("vm"), 700);
        EXPECT_TRUE(row && row->node == "pve2" && row->lock.empty());
        EXPECT_EQ((co_await c.storage_content("pve2", "local-lvm", 700)).size(), 1u);
        EXPECT_TRUE((co_await c.storage_content("pve1", "local-lvm", 700)).empty());
        auto log = joined_log(co_await c.task_log(upid, 0, 100));
        EXPECT_NE(log.find("starting migration of VM 700 to node 'pve2'"), std::string::npos) << log;
        EXPECT_NE(log.find("found local disk 'local-lvm:vm-700-disk-0' (attached)"), std::string::npos)
            << log;
        EXPECT_NE(log.find("migration finished successfully"), std::string::npos) << log;
        // It now lives on pve2: its config is read there, and a template made of it clones linked on pve2.
        auto cfg = co_await c.guest_config(GuestKind::qemu, "pve2", 700);
        EXPECT_EQ(cfg.at("name"), "mig-a");
        co_await waiter.wait_ok(co_await c.make_template(GuestKind::qemu, "pve2", 700), Ms(10'000));
        Params rename{{"name", "mig-tpl"}};
        co_await c.set_config(GuestKind::qemu, "pve2", 700, std::move(rename));
        EXPECT_EQ((co_await c.guest_config(GuestKind::qemu, "pve2", 700)).at("name"), "mig-tpl");
        Client::CloneRequest linked;
        linked.newid = 701;
        linked.name = "mig-linked";
        co_await waiter.wait_ok(co_await c.clone(GuestKind::qemu, "pve2", 700, linked), Ms(10'000));
        auto disks = config_disks(co_await c.guest_config(GuestKind::qemu, "pve2", 701));
        EXPECT_EQ(disks.at(0).volume, "local-lvm:base-700-disk-0/vm-701-disk-0");
    });
    EXPECT_EQ(sim.stat("migrations_ok"), 1);
    EXPECT_EQ(sim.stat("orphaned_volumes"), 0);
}

TEST(PveMigrate, RefusalsInProxmoxWords) {
    SimFixture sim(fast());
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c);
        Client::MigrateRequest m;
        m.target = "pve1";
        auto msg = co_await refusal([&]() -> asio::awaitable<void> { co_await c.migrate("pve1", 100, m); });
        EXPECT_EQ(msg, "target: target is local node.");
        m.target = "pve9";
        msg = co_await refusal([&]() -> asio::awaitable<void> { co_await c.migrate("pve1", 100, m); });
        EXPECT_EQ(msg, "no such cluster node 'pve9'");
        m.target = "pve2";
        msg = co_await refusal([&]() -> asio::awaitable<void> { co_await c.migrate("pve3", 100, m); });
        EXPECT_EQ(msg, "Configuration file 'nodes/pve3/qemu-server/100.conf' does not exist");

        // A running VM: not without --online; online, its local disks need with-local-disks (a failed task).
        co_await full_clone(c, 100, 710, "mig-run");
        co_await waiter.wait_ok(co_await c.start(GuestKind::qemu, "pve1", 710), Ms(10'000));
        msg = co_await refusal([&]() -> asio::awaitable<void> { co_await c.migrate("pve1", 710, m); });
        EXPECT_EQ(msg, "can't migrate running VM without --online");
        m.online = true;
        auto upid = co_await c.migrate("pve1", 710, m);
        auto st = co_await waiter.wait(upid, Ms(10'000));
        EXPECT_EQ(st.exitstatus, "migration aborted");
        auto log = joined_log(co_await c.task_log(upid, 0, 100));
        EXPECT_NE(log.find("can't migrate local disk 'local-lvm:vm-710-disk-0': can't live migrate attached "
                           "local disks without with-local-disks option"),
                  std::string::npos)
            << log;
        EXPECT_NE(log.find("Problem found while scanning volumes - can't migrate VM - check log"),
                  std::string::npos)
            << log;
        EXPECT_EQ(vm_row(co_await c.cluster_resources("vm"), 710)->node, "pve1");
        m.with_local_disks = true;  // a live migration with its disks goes, and the VM keeps running
        co_await waiter.wait_ok(co_await c.migrate("pve1", 710, m), Ms(10'000));
        auto moved = vm_row(co_await c.cluster_resources("vm"), 710);
        EXPECT_TRUE(moved && moved->node == "pve2" && moved->status == "running");

        // A linked clone on local storage cannot move, nor can the template its disk is based on.
        Client::CloneRequest linked;
        linked.newid = 720;
        linked.name = "mig-linked";
        co_await waiter.wait_ok(co_await c.clone(GuestKind::qemu, "pve1", 9000, linked), Ms(10'000));
        m.online = false;
        upid = co_await c.migrate("pve1", 720, m);
        EXPECT_EQ((co_await waiter.wait(upid, Ms(10'000))).exitstatus, "migration aborted");
        log = joined_log(co_await c.task_log(upid, 0, 100));
        EXPECT_NE(log.find("can't migrate 'local-lvm:base-9000-disk-0/vm-720-disk-0' as it's a clone of "
                           "'base-9000-disk-0'"),
                  std::string::npos)
            << log;
        upid = co_await c.migrate("pve1", 9000, m);
        EXPECT_EQ((co_await waiter.wait(upid, Ms(10'000))).exitstatus, "migration aborted");
        log = joined_log(co_await c.task_log(upid, 0, 100));
        EXPECT_NE(
            log.find("can't migrate local disk 'local-lvm:base-9000-disk-0': referenced by linked clone(s)"),
            std::string::npos)
            << log;
        // Nothing moved, nothing stays locked.
        auto rows = co_await c.cluster_resources("vm");
        EXPECT_TRUE(vm_row(rows, 720)->node == "pve1" && vm_row(rows, 720)->lock.empty());
        EXPECT_TRUE(vm_row(rows, 9000)->node == "pve1" && vm_row(rows, 9000)->lock.empty());
        // A config edit knows only the keys the simulator models.
        Params bad{{"cores", "4"}};
        msg = co_await refusal([&]() -> asio::awaitable<void> {
            co_await c.set_config(GuestKind::qemu, "pve1", 720, std::move(bad));
        });
        EXPECT_EQ(
            msg,
            "cores: property is not defined in schema and the schema does not allow additional properties");
    });
    EXPECT_EQ(sim.stat("migrations_ok"), 1);
    EXPECT_EQ(sim.stat("migrations_failed"), 3);
}

// A config edit that carries the digest of the config it read is refused once the config changed since
// (Proxmox's "checksum mismatch"): the way two writers of one config serialize. The digest is the config's
// content: reading twice gives the same one, an edit changes it.
TEST(PveMigrate, AConfigEditWithAStaleDigestIsRefusedAsAConflict) {
    SimFixture sim(fast());
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        co_await full_clone(c, 100, 730, "digest-a");
        auto before = co_await c.guest_config(GuestKind::qemu, "pve1", 730);
        auto again = co_await c.guest_config(GuestKind::qemu, "pve1", 730);
        EXPECT_EQ(before.at("digest").size(), 40u);
        EXPECT_EQ(before.at("digest"), again.at("digest"));
        Params first{{"name", "digest-b"}, {"digest", before.at("digest")}};
        co_await c.set_config(GuestKind::qemu, "pve1", 730, std::move(first));
        auto after = co_await c.guest_config(GuestKind::qemu, "pve1", 730);
        EXPECT_EQ(after.at("name"), "digest-b");
        EXPECT_NE(after.at("digest"), before.at("digest"));
        Params stale{{"name", "digest-c"}, {"digest", before.at("digest")}};
        core::Code code = core::Code::internal;
        try {
            co_await c.set_config(GuestKind::qemu, "pve1", 730, std::move(stale));
            ADD_FAILURE() << "a stale digest was accepted";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.pve_message(), "checksum mismatch (file change by other user?)");
            code = e.code();
        }
        EXPECT_EQ(code, core::Code::conflict);
        EXPECT_EQ((co_await c.guest_config(GuestKind::qemu, "pve1", 730)).at("name"), "digest-b");
    });
}

}  // namespace
}  // namespace np::pve
