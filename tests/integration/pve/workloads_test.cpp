// The batch workloads against the simulator: placement, idempotent re-runs, verified deletes, templates,
// and 200 clones then 200 deletes on the faulty profile.

#include "pve/workloads.hpp"

#include <set>

#include "core/error.hpp"
#include "sim_fixture.hpp"

namespace np::pve {
namespace {

using namespace std::chrono_literals;
using np::testing::SimFixture;
namespace asio = boost::asio;

WorkloadLimits quick_limits() {
    WorkloadLimits l;
    l.task_timeout = 20s;
    l.agent_timeout = 10s;
    l.max_attempts = 25;
    l.poll = {5ms, 40ms, 1.5, 3};
    return l;
}

TEST(PveWorkloads, LinkedClonesSpreadOverNodesWithTemplateCopies) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        CloneBatch b;
        b.template_vmid = 9000;
        b.count = 30;
        b.prefix = "lab1";
        b.vmid_low = 20000;
        b.vmid_high = 20999;
        b.limits = quick_limits();
        std::size_t progress_calls = 0;
        auto s = co_await clone_batch(c, b, [&](std::size_t done, std::size_t total, const std::string&) {
            ++progress_calls;
            EXPECT_LE(done, total);
        });
        EXPECT_EQ(s.ok, 30u);
        EXPECT_EQ(s.failed, 0u);
        EXPECT_EQ(progress_calls, 30u);
        EXPECT_EQ(s.vmids.size(), 30u);
        std::map<std::string, int> per_node;
        for (const auto& r : co_await c.cluster_resources("vm")) {
            if (r.name.rfind("lab1-", 0) != 0) continue;
            ++per_node[r.node];
            EXPECT_GE(r.vmid, 20000);
            EXPECT_LE(r.vmid, 20999);
        }
        EXPECT_EQ(per_node.size(), 3u);  // a copy of tpl-class on each node
        for (const auto& [n, k] : per_node) EXPECT_EQ(k, 10) << n;

        // A re-run converges: nothing new is created.
        auto again = co_await clone_batch(c, b);
        EXPECT_EQ(again.ok, 30u);
        EXPECT_EQ(sim.stat("clones_ok"), 30);

        // Restricted to one node.
        b.prefix = "lab2";
        b.count = 4;
        b.nodes = {"pve2"};
        auto one = co_await clone_batch(c, b);
        EXPECT_EQ(one.ok, 4u);
        for (const auto& r : co_await c.cluster_resources("vm"))
            if (r.name.rfind("lab2-", 0) == 0) {
                EXPECT_EQ(r.node, "pve2");
            }

        // A template on shared storage may go anywhere; one on local storage without copies may not.
        b.template_vmid = 9100;
        b.prefix = "lab3";
        b.count = 6;
        b.nodes = {};
        auto shared = co_await clone_batch(c, b);
        EXPECT_EQ(shared.ok, 6u);
        b.template_vmid = 9500;  // the LXC template, only on pve1
        b.prefix = "ct";
        b.count = 2;
        b.nodes = {"pve3"};
        bool refused = false;
        try {
            co_await clone_batch(c, b);
        } catch (const core::Error& e) {
            refused = e.code() == core::Code::invalid &&
                      std::string(e.what()).find("local storage") != std::string::npos;
        }
        EXPECT_TRUE(refused);
        b.template_vmid = 100;  // not a template
        EXPECT_THROW(co_await clone_batch(c, b), core::Error);

        DeleteBatch d{
            "lab1", {}, quick_limits()};  // named: GCC 12 mishandles aggregate temporaries in co_await
        auto del = co_await delete_batch(c, d);
        EXPECT_EQ(del.ok, 30u);
        EXPECT_EQ(del.failed, 0u);
        EXPECT_EQ(del.orphans_cleaned, 0u);
    });
    EXPECT_EQ(sim.stat("orphaned_volumes"), 0);
}

TEST(PveWorkloads, DeleteRemovesAndCountsLeftoverVolumes) {
    auto p = pvesim::load_profile("fast");
    p.p_silent_delete_failure = 1.0;  // every destroy "succeeds" and leaves its disk listed
    SimFixture sim(p);
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        CloneBatch b;
        b.template_vmid = 9000;
        b.count = 5;
        b.prefix = "gone";
        b.limits = quick_limits();
        auto made = co_await clone_batch(c, b);
        EXPECT_EQ(made.ok, 5u);
        DeleteBatch d;
        d.vmids = made.vmids;
        d.vmids.push_back(31337);  // absent: counted as done
        d.limits = quick_limits();
        auto s = co_await delete_batch(c, d);
        EXPECT_EQ(s.ok, 6u);
        EXPECT_EQ(s.orphans_cleaned, 5u);
        d.vmids = {9000};
        EXPECT_THROW(co_await delete_batch(c, d), core::Error);  // templates are never batch-deleted
    });
    EXPECT_EQ(sim.fault("silent_delete_failures"), 5);
    EXPECT_EQ(sim.stat("orphaned_volumes"), 0);
}

TEST(PveWorkloads, TemplateBuildWaitsForTheAgentAndConverts) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        TemplateBuild t;
        t.base_vmid = 100;
        t.name = "tpl-ospf";
        t.limits = quick_limits();
        std::string seen_ip;
        t.import_project = [&](const std::string& ip, int) -> asio::awaitable<void> {
            seen_ip = ip;
            co_return;
        };
        auto s = co_await build_template(c, t);
        EXPECT_EQ(s.ok, 1u) << (s.errors.empty() ? "" : s.errors.at(0));
        EXPECT_EQ(s.node, "pve1");
        EXPECT_GE(s.vmid, 10000);
        EXPECT_EQ(seen_ip.rfind("10.1.", 0), 0u);
        auto st = co_await c.guest_status(GuestKind::qemu, "pve1", s.vmid);
        EXPECT_TRUE(st.is_template);
        EXPECT_EQ(st.status, "stopped");
        auto cfg = co_await c.guest_config(GuestKind::qemu, "pve1", s.vmid);
        EXPECT_EQ(cfg.at("scsi0").find("local-lvm:base-"), 0u);  // full clone, converted
        // The new template can be cloned at once.
        CloneBatch b;
        b.template_vmid = s.vmid;
        b.count = 2;
        b.prefix = "ospf";
        b.limits = quick_limits();
        EXPECT_EQ((co_await clone_batch(c, b)).ok, 2u);
        // A second template of the same name is refused.
        auto dup = co_await build_template(c, t);
        EXPECT_EQ(dup.failed, 1u);
    });
}

TEST(PveWorkloads, FaultyProfile200ClonesThen200Deletes) {
    SimFixture sim(pvesim::load_profile("faulty"), false, 2026);
    Summary made, removed;
    std::set<int> existing_after_clone;
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        CloneBatch b;
        b.template_vmid = 9000;
        b.count = 200;
        b.prefix = "class";
        b.limits = quick_limits();
        made = co_await clone_batch(c, b);
        for (const auto& r : co_await c.cluster_resources("vm"))
            if (r.name.rfind("class-", 0) == 0) existing_after_clone.insert(r.vmid);
        DeleteBatch d{"class", {}, quick_limits()};
        removed = co_await delete_batch(c, d);
        for (const auto& r : co_await c.cluster_resources("vm"))
            EXPECT_NE(r.name.rfind("class-", 0), 0u) << r.name;
    });
    auto stats = sim.stats();
    EXPECT_EQ(made.ok, 200u) << (made.errors.empty() ? "" : made.errors.at(0));
    EXPECT_EQ(made.failed, 0u);
    // Every VM created once, under a unique VMID.
    EXPECT_EQ(std::set<int>(made.vmids.begin(), made.vmids.end()).size(), 200u);
    EXPECT_EQ(existing_after_clone.size(), 200u);
    EXPECT_EQ(sim.stat("names_created_twice"), 0);
    EXPECT_EQ(sim.stat("duplicate_names"), 0);
    EXPECT_EQ(sim.stat("clones_ok"), 200);
    // Every VM deleted, no volume left behind.
    EXPECT_EQ(removed.ok, 200u) << (removed.errors.empty() ? "" : removed.errors.at(0));
    EXPECT_EQ(removed.failed, 0u);
    EXPECT_EQ(sim.stat("destroys_ok"), 200);
    EXPECT_EQ(sim.stat("orphaned_volumes"), 0);
    EXPECT_EQ(static_cast<std::int64_t>(removed.orphans_cleaned), sim.fault("silent_delete_failures"));
    // The faults did happen.
    EXPECT_GT(sim.fault("transient_5xx"), 0);
    EXPECT_GT(sim.fault("dropped_connections"), 0);
    EXPECT_GT(sim.fault("silent_delete_failures"), 0);
    EXPECT_GT(sim.fault("vmid_races"), 0);
    EXPECT_EQ(static_cast<std::int64_t>(made.vmid_collisions) >= sim.fault("vmid_races"), true);
    EXPECT_GT(made.retries + removed.retries, 0u);
    std::cout << "faulty run: " << boost::json::serialize(stats) << "\n";
}

}  // namespace
}  // namespace np::pve
