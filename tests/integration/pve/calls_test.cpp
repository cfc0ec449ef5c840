// Every typed call and the failure modes of the Proxmox API, against the in-process simulator.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/error.hpp"
#include "pve/tasks.hpp"
#include "sim_fixture.hpp"

namespace np::pve {
namespace {

using namespace std::chrono_literals;
using np::testing::SimFixture;
namespace asio = boost::asio;

pvesim::Profile fast() {
    return pvesim::load_profile("fast");
}

TEST(PveCalls, ReadCallsReturnTypedData) {
    SimFixture sim(fast());
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        auto v = co_await c.version();
        EXPECT_EQ(v.version, "8.4.1");
        auto nodes = co_await c.nodes();
        EXPECT_EQ(nodes.size(), 3u);
        EXPECT_EQ(nodes.at(0).status, "online");
        EXPECT_GT(nodes.at(0).maxmem, 0);
        auto all = co_await c.cluster_resources();
        auto vms = co_await c.cluster_resources("vm");
        EXPECT_GT(all.size(), vms.size());
        bool found_template = false;
        for (const auto& r : vms)
            if (r.vmid == 9000 && r.is_template && r.node == "pve1") found_template = true;
        EXPECT_TRUE(found_template);
        auto storages = co_await c.cluster_resources("storage");
        EXPECT_TRUE(
            std::any_of(storages.begin(), storages.end(), [](const Resource& r) { return r.shared; }));
        auto qemu = co_await c.list_guests(GuestKind::qemu, "pve2");
        EXPECT_EQ(qemu.size(), 1u);
        EXPECT_EQ(qemu.at(0).vmid, 9001);
        auto lxc = co_await c.list_guests(GuestKind::lxc, "pve1");
        EXPECT_EQ(lxc.size(), 1u);
        EXPECT_EQ(lxc.at(0).vmid, 9500);
        auto cfg = co_await c.guest_config(GuestKind::qemu, "pve1", 9000);
        EXPECT_EQ(cfg.at("template"), "1");
        EXPECT_EQ(config_disks(cfg).at(0).storage, "local-lvm");
        auto st = co_await c.guest_status(GuestKind::qemu, "pve1", 100);
        EXPECT_EQ(st.status, "stopped");
        EXPECT_TRUE(st.agent);
        auto ns = co_await c.node_storage("pve1");
        EXPECT_EQ(ns.size(), 2u);
        auto vols = co_await c.storage_content("pve1", "local-lvm", 9000);
        EXPECT_EQ(vols.size(), 1u);
        EXPECT_EQ(vols.at(0).volid, "local-lvm:base-9000-disk-0");
        EXPECT_EQ(vols.at(0).vmid, 9000);  // sent as a string, parsed leniently
    });
}

TEST(PveCalls, CloneStartAgentShutdownTemplateDestroyAndTasks) {
    auto p = fast();
    p.clone_linked_ms = 300;  // long enough to see the clone lock
    SimFixture sim(p);
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c, {5ms, 50ms, 1.5, 3});
        Client::CloneRequest req;
        req.newid = 500;
        req.name = "student-1";
        auto upid = co_await c.clone(GuestKind::qemu, "pve1", 9000, req);
        auto u = parse_upid(upid);
        EXPECT_TRUE(u);
        EXPECT_EQ(u.value().type, "qmclone");
        EXPECT_EQ(u.value().id, "9000");
        EXPECT_EQ(u.value().user, "root@pam");
        // While the clone runs the new VM carries the config lock.
        auto during = co_await c.guest_status(GuestKind::qemu, "pve1", 500);
        EXPECT_EQ(during.lock, "clone");
        bool locked_refused = false;
        try {
            co_await c.start(GuestKind::qemu, "pve1", 500);
        } catch (const ApiError& e) {
            locked_refused = e.pve_message() == "VM 500 is locked (clone)";
        }
        EXPECT_TRUE(locked_refused);
        auto done = co_await waiter.wait_ok(upid, 10s);
        EXPECT_EQ(done.exitstatus, "OK");
        auto cfg = co_await c.guest_config(GuestKind::qemu, "pve1", 500);
        EXPECT_EQ(cfg.at("name"), "student-1");
        EXPECT_NE(cfg.at("scsi0").find("base-9000-disk-0/vm-500-disk-0"), std::string::npos);  // linked
        EXPECT_EQ(cfg.count("lock"), 0u);
        auto log = co_await c.task_log(upid);
        EXPECT_FALSE(log.empty());
        EXPECT_EQ(log.back().t, "TASK OK");
        auto status = co_await c.task_status(upid);
        EXPECT_EQ(status.status, "stopped");

        // The agent answers only after boot.
        co_await waiter.wait_ok(co_await c.start(GuestKind::qemu, "pve1", 500), 10s);
        bool not_yet = false;
        try {
            co_await c.agent_interfaces("pve1", 500);
        } catch (const ApiError& e) {
            not_yet = e.pve_message() == "QEMU guest agent is not running";
        }
        EXPECT_TRUE(not_yet);
        co_await c.sleep(100ms);
        auto ifs = co_await c.agent_interfaces("pve1", 500);
        EXPECT_TRUE(first_ipv4(ifs).has_value());

        // Destroying a running VM is refused; shutdown, convert, then destroy.
        EXPECT_THROW(co_await c.destroy(GuestKind::qemu, "pve1", 500), ApiError);
        co_await waiter.wait_ok(co_await c.shutdown(GuestKind::qemu, "pve1", 500), 10s);
        co_await waiter.wait_ok(co_await c.make_template(GuestKind::qemu, "pve1", 500), 10s);
        EXPECT_TRUE((co_await c.guest_status(GuestKind::qemu, "pve1", 500)).is_template);
        co_await waiter.wait_ok(co_await c.destroy(GuestKind::qemu, "pve1", 500), 10s);
        bool gone = false;
        try {
            co_await c.guest_config(GuestKind::qemu, "pve1", 500);
        } catch (const core::Error& e) {
            gone = e.code() == core::Code::not_found;
        }
        EXPECT_TRUE(gone);
        EXPECT_TRUE((co_await c.storage_content("pve1", "local-lvm", 500)).empty());
    });
}

TEST(PveCalls, LxcCloneStartStopDelete) {
    SimFixture sim(fast());
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c, {5ms, 50ms, 1.5, 3});
        Client::CloneRequest req;
        req.newid = 700;
        req.name = "ct-1";
        auto upid = co_await c.clone(GuestKind::lxc, "pve1", 9500, req);
        EXPECT_EQ(parse_upid(upid)->type, "vzclone");
        co_await waiter.wait_ok(upid, 10s);
        auto cfg = co_await c.guest_config(GuestKind::lxc, "pve1", 700);
        EXPECT_EQ(cfg.at("hostname"), "ct-1");
        co_await waiter.wait_ok(co_await c.start(GuestKind::lxc, "pve1", 700), 10s);
        EXPECT_EQ((co_await c.guest_status(GuestKind::lxc, "pve1", 700)).status, "running");
        auto stop = co_await c.stop(GuestKind::lxc, "pve1", 700);
        EXPECT_EQ(parse_upid(stop)->type, "vzstop");
        co_await waiter.wait_ok(stop, 10s);
        auto del = co_await c.destroy(GuestKind::lxc, "pve1", 700);
        EXPECT_EQ(parse_upid(del)->type, "vzdestroy");
        co_await waiter.wait_ok(del, 10s);
        EXPECT_TRUE((co_await c.list_guests(GuestKind::lxc, "pve1")).size() == 1u);
    });
}

TEST(PveCalls, PoolsAndVolumes) {
    SimFixture sim(fast());
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c, {5ms, 50ms, 1.5, 3});
        co_await c.create_pool("class-a", "term 1");
        auto pools = co_await c.pools();
        EXPECT_EQ(pools.size(), 1u);
        EXPECT_EQ(pools.at(0).poolid, "class-a");
        std::vector<int> members{100};
        co_await c.add_to_pool("class-a", members);
        auto p = co_await c.pool("class-a");
        EXPECT_EQ(p.members.size(), 1u);
        EXPECT_EQ(p.members.at(0).vmid, 100);
        bool not_empty = false;
        try {
            co_await c.delete_pool("class-a");
        } catch (const ApiError& e) {
            not_empty = e.status() == 500;
        }
        EXPECT_TRUE(not_empty);
        // A referenced volume cannot be deleted.
        bool in_use = false;
        try {
            co_await c.delete_volume("pve1", "local-lvm", "local-lvm:vm-100-disk-0");
        } catch (const ApiError& e) {
            in_use = e.pve_message().find("in use") != std::string::npos;
        }
        EXPECT_TRUE(in_use);
    });
}

TEST(PveErrors, CollisionsLocalStorageParamsAndUnknownPaths) {
    SimFixture sim(fast());
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c, {5ms, 50ms, 1.5, 3});
        Client::CloneRequest req;
        req.newid = 100;  // exists on the same node
        try {
            co_await c.clone(GuestKind::qemu, "pve1", 9000, req);
            ADD_FAILURE() << "no collision";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.code(), core::Code::conflict);
            EXPECT_EQ(e.pve_message(), "unable to create VM 100: config file already exists");
        }
        req.newid = 9001;  // exists on another node: the worker fails
        auto s = co_await waiter.wait(co_await c.clone(GuestKind::qemu, "pve1", 9000, req), 10s);
        EXPECT_FALSE(s.succeeded());
        EXPECT_TRUE(is_vmid_collision(s.exitstatus)) << s.exitstatus;

        req.newid = 800;
        req.target = "pve2";
        try {
            co_await c.clone(GuestKind::qemu, "pve1", 9000, req);
            ADD_FAILURE() << "cross-node clone from local storage accepted";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.pve_message(), "can't clone VM to node 'pve2' (VM uses local storage)");
        }
        // From shared storage it works.
        co_await waiter.wait_ok(co_await c.clone(GuestKind::qemu, "pve1", 9100, req), 10s);
        EXPECT_EQ((co_await c.guest_status(GuestKind::qemu, "pve2", 800)).status, "stopped");

        try {
            co_await c.call("POST", "/nodes/pve1/qemu/9000/clone", {}, {.idempotent = false});
            ADD_FAILURE();
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status(), 400);
            EXPECT_EQ(e.fields().size(), 1u);
            EXPECT_EQ(e.fields()[0].path, "newid");
            EXPECT_EQ(e.fields()[0].message, "property is missing and it is not optional");
        }
        try {
            co_await c.call("GET", "/nodes/pve1/nonsense");
            ADD_FAILURE();
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status(), 501);
            EXPECT_EQ(e.pve_message(), "Method 'GET /nodes/pve1/nonsense' not implemented");
        }
        try {
            co_await c.guest_config(GuestKind::qemu, "pve1", 4242);
            ADD_FAILURE();
        } catch (const ApiError& e) {
            EXPECT_EQ(e.code(), core::Code::not_found);
            EXPECT_EQ(e.pve_message(),
                      "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist");
        }
        try {
            co_await c.nodes();
            co_await c.call("GET", "/nodes/pve9/qemu");
            ADD_FAILURE();
        } catch (const ApiError& e) {
            EXPECT_NE(e.pve_message().find("hostname lookup 'pve9' failed"), std::string::npos);
        }
        // nextid reserves nothing: two callers get the same id (API.md §6).
        auto a = co_await c.call("GET", "/cluster/nextid");
        auto b = co_await c.call("GET", "/cluster/nextid");
        EXPECT_EQ(a, b);
    });
    EXPECT_GE(sim.stat("vmid_collisions"), 2);
}

TEST(PveErrors, GetWithBodyIsRefused) {
    SimFixture sim(fast());
    sim.run([&]() -> asio::awaitable<void> {
        net::HttpClient http(sim.io.get_executor(), net::parse_url(sim.url()), {});
        net::HttpRequest req;
        req.method = "GET";
        req.target = "/api2/json/version";
        req.body = "x=1";
        auto res = co_await http.send(req);
        EXPECT_EQ(res.status, 501);
        EXPECT_NE(res.body.find("Unexpected content for method 'GET'"), std::string::npos);
        req.target = "/elsewhere";
        req.body.clear();
        res = co_await http.send(req);
        EXPECT_EQ(res.status, 501);
        EXPECT_NE(res.body.find("no such uri"), std::string::npos);
    });
}

TEST(PveLocks, StorageLockAdmitsKThenTimesOutWithTheRealMessage) {
    auto p = fast();
    p.storage_slots = 1;
    p.clone_linked_ms = 300;
    p.storage_lock_timeout_ms = 50;
    SimFixture sim(p);
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c, {5ms, 50ms, 1.5, 3});
        Client::CloneRequest a, b;
        a.newid = 601;
        b.newid = 602;
        auto ua = co_await c.clone(GuestKind::qemu, "pve1", 9000, a);
        auto ub = co_await c.clone(GuestKind::qemu, "pve1", 9000, b);
        auto sb = co_await waiter.wait(ub, 10s);
        auto sa = co_await waiter.wait(ua, 10s);
        EXPECT_TRUE(sa.succeeded());
        EXPECT_FALSE(sb.succeeded());
        EXPECT_EQ(sb.exitstatus,
                  "can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout");
        EXPECT_TRUE(is_lock_timeout(sb.exitstatus));
        // A clone on another node's storage is not held up by this lock.
    });
    EXPECT_EQ(sim.stat("lock_timeouts"), 1);
    EXPECT_EQ(sim.stat("peak_storage_ops"), 1);
}

TEST(PveTasks, OneListReadPerRoundForManyTasks) {
    auto p = fast();
    p.clone_linked_ms = 150;
    p.storage_slots = 50;
    SimFixture sim(p);
    std::uint64_t list_reads = 0, status_reads = 0;
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c, {20ms, 100ms, 1.5, 3});
        std::vector<std::string> upids;
        for (int i = 0; i < 20; ++i) {
            Client::CloneRequest r;
            r.newid = 1000 + i;
            upids.push_back(co_await c.clone(GuestKind::qemu, "pve1", 9000, r));
        }
        auto remaining = std::make_shared<int>(20);
        asio::steady_timer all_done(sim.io, asio::steady_timer::time_point::max());
        for (const auto& u : upids)
            asio::co_spawn(
                sim.io,
                [&, u]() -> asio::awaitable<void> {
                    auto s = co_await waiter.wait(u, 10s);
                    EXPECT_TRUE(s.succeeded());
                    if (--*remaining == 0) all_done.cancel();
                },
                asio::detached);
        co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        list_reads = waiter.list_reads();
        status_reads = waiter.status_reads();
    });
    // 20 tasks of ~150 ms, polled every 20-100 ms: a handful of list reads, not 20 per round.
    EXPECT_GE(list_reads, 1u);
    EXPECT_LE(list_reads, 12u);
    EXPECT_EQ(status_reads, 0u);
}

TEST(PveTasks, WaitTimesOut) {
    auto p = fast();
    p.clone_linked_ms = 2000;
    SimFixture sim(p);
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TaskWaiter waiter(c, {5ms, 20ms, 1.5, 3});
        Client::CloneRequest r;
        r.newid = 1500;
        auto u = co_await c.clone(GuestKind::qemu, "pve1", 9000, r);
        bool timed_out = false;
        try {
            co_await waiter.wait(u, 100ms);
        } catch (const core::Error& e) {
            timed_out = e.code() == core::Code::timeout;
        }
        EXPECT_TRUE(timed_out);
        co_await waiter.wait_ok(u, 10s);
    });
}

TEST(PveResilience, TransientFailuresAndDroppedConnectionsAreRetried) {
    auto p = fast();
    p.p_transient_5xx = 0.25;
    p.p_drop = 0.2;
    SimFixture sim(p, false, 3);
    ClientStats stats;
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        for (int i = 0; i < 40; ++i) {
            auto v = co_await c.version();
            EXPECT_EQ(v.release, "8.4");
        }
        stats = c.stats();
    });
    EXPECT_GT(sim.fault("transient_5xx"), 0);
    EXPECT_GT(sim.fault("dropped_connections"), 0);
    EXPECT_GE(stats.retries, static_cast<std::uint64_t>(sim.fault("transient_5xx")));
}

TEST(PveResilience, NonIdempotentCallsSurfaceUnknownOutcome) {
    auto p = fast();
    p.p_drop = 1.0;  // every authenticated request loses its connection
    SimFixture sim(p);
    sim.run([&]() -> asio::awaitable<void> {
        auto o = sim.options();
        o.retry.max_attempts = 2;
        Client c(sim.io.get_executor(), o);
        Client::CloneRequest r;
        r.newid = 1600;
        EXPECT_THROW(co_await c.clone(GuestKind::qemu, "pve1", 9000, r), OutcomeUnknown);
        bool unavailable = false;
        try {
            co_await c.version();
        } catch (const core::Error& e) {
            unavailable = e.code() == core::Code::unavailable && e.retryable();
        }
        EXPECT_TRUE(unavailable);
        EXPECT_EQ(c.stats().retries, 1u);  // the GET was retried up to max_attempts
    });
}

}  // namespace
}  // namespace np::pve
