// The exercise's template copied to the nodes of a class when its disks are on local storage (issue 10 part
// 3), on an in-process pve-sim of three nodes whose VMs run GNS3 simulators (nothing is started: no root
// needed): a class placed across the nodes gets linked clones on every node, each from its node's copy; a
// second class reuses the copies, two classes at once make one copy per node; a run killed between a copy's
// clone and its migration is finished by the next; on shared storage nothing is copied and clones go
// cross-node from the one template.
#include "labpve/template_copy.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <map>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "labpve/proxmox_provider.hpp"
#include "pve/tasks.hpp"
#include "sim_world.hpp"

namespace {

namespace asio = boost::asio;
using namespace np;
using labpve::testing::request;
using labpve::testing::World;
using Ms = std::chrono::milliseconds;

labpve::ProxmoxOptions own_range(const World& w, int low) {
    auto o = w.options();
    o.vmid_low = low;
    o.vmid_high = low + 999;
    return o;
}

std::vector<lab::LabRequest> class_of(const std::string& prefix, int n) {
    std::vector<lab::LabRequest> out;
    for (int i = 1; i <= n; ++i) out.push_back(request(prefix + std::to_string(i)));
    return out;
}

// What Proxmox holds after a class: the templates of a name per node, and each environment's VM.
struct Cluster {
    std::map<std::string, int> templates;  // node -> vmid of the template named like the exercise's
    std::map<std::string, pve::Resource> vms;
    int half_copies = 0, duplicate_templates = 0;
};

asio::awaitable<Cluster> look(pve::Client& root, const std::string& tpl) {
    Cluster c;
    for (const auto& r : co_await root.cluster_resources("vm")) {
        if (r.name.find("-copy-") != std::string::npos) ++c.half_copies;
        if (r.is_template && r.name == tpl) {
            if (c.templates.count(r.node)) ++c.duplicate_templates;
            c.templates[r.node] = r.vmid;
        } else if (!r.is_template) {
            c.vms[r.name] = r;
        }
    }
    co_return c;
}

// Each environment's VM is a linked clone of the template copy on its own node.
asio::awaitable<void> expect_linked_to_own_node(pve::Client& root, const Cluster& c,
                                                const std::vector<lab::LabRequest>& reqs) {
    for (const auto& req : reqs) {
        auto it = c.vms.find(req.env);
        if (it == c.vms.end()) {
            ADD_FAILURE() << req.env << " has no VM";
            continue;
        }
        const auto& vm = it->second;
        auto disks = pve::config_disks(co_await root.guest_config(pve::GuestKind::qemu, vm.node, vm.vmid));
        if (disks.empty() || !c.templates.count(vm.node)) {
            ADD_FAILURE() << req.env << " on " << vm.node << ": no disk, or no template on its node";
            continue;
        }
        EXPECT_NE(disks.front().volume.find(":base-" + std::to_string(c.templates.at(vm.node)) + "-disk-0/"),
                  std::string::npos)
            << req.env << " on " << vm.node << ": " << disks.front().volume;
    }
}

std::set<std::string> nodes_of(const Cluster& c, const std::vector<lab::LabRequest>& reqs) {
    std::set<std::string> out;
    for (const auto& r : reqs)
        if (c.vms.count(r.env)) out.insert(c.vms.at(r.env).node);
    return out;
}

asio::awaitable<void> provision(labpve::ProxmoxProvider& provider, const std::vector<lab::LabRequest>& reqs,
                                std::vector<std::string>* told = nullptr) {
    auto items = co_await provider.create_batch(
        reqs, [told](const std::string&, const std::string& what, std::size_t, std::size_t) {
            if (told) told->push_back(what);
        });
    for (const auto& i : items) EXPECT_TRUE(i.ok) << i.env << ": " << i.error;
}

TEST(TemplateCopy, AClassAcrossThreeLocalNodesGetsClonesFromEachNodesCopyAndTheNextClassReusesThem) {
    World w(true);  // fast profile: pve1..pve3, the base VM (and so the template) on pve1's local-lvm
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 25000));
    const auto tag = core::random_hex(3);
    auto first = class_of("npc" + tag + "a", 6), second = class_of("npc" + tag + "b", 3);
    std::vector<std::string> told;
    w.run([&]() -> asio::awaitable<void> {
        pve::Client root(w.io.get_executor(), w.options().client);
        co_await provider.ensure_template(first.front());
        const auto tpl = provider.template_for(first.front());
        co_await provision(provider, first, &told);
        auto c = co_await look(root, tpl);
        EXPECT_EQ(c.templates.size(), 3u);  // the original on pve1 and a copy on pve2 and pve3
        EXPECT_EQ(c.half_copies, 0);
        EXPECT_EQ(c.duplicate_templates, 0);
        EXPECT_EQ(nodes_of(c, first).size(), 3u);  // placed by free memory across the cluster
        co_await expect_linked_to_own_node(root, c, first);
        EXPECT_EQ(provider.stats().template_copies, 2u);

        co_await provision(provider, second);  // the copies are found again: none made
        auto again = co_await look(root, tpl);
        EXPECT_EQ(again.templates, c.templates);
        EXPECT_EQ(provider.stats().template_copies, 2u);
        co_await expect_linked_to_own_node(root, again, second);
        EXPECT_EQ(nodes_of(again, second).size(), 3u);
        for (const auto& r : first) co_await provider.destroy(r.env);
        for (const auto& r : second) co_await provider.destroy(r.env);
    });
    EXPECT_NE(std::find(told.begin(), told.end(), "copying template to node pve2"), told.end());
    EXPECT_NE(std::find(told.begin(), told.end(), "template copied to node pve3"), told.end());
    bool counted = false;
    for (const auto& c : provider.counters())
        if (c.name == "template_copies") counted = c.value == 2;
    EXPECT_TRUE(counted);
    auto st = w.stats();
    EXPECT_EQ(st.at("migrations_ok").as_int64(), 2);
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0);
    EXPECT_EQ(st.at("duplicate_names").as_int64(), 0);
}

// A class provisioned by each provider at the same moment (the same provider twice: two classes of one
// server; two providers: two server instances, which see each other's runs only through Proxmox), then the
// cluster checked: one template per node (no half-made or duplicate copy), each VM linked to its node's copy.
void provision_two_classes_at_once(World& w, labpve::ProxmoxProvider& one, labpve::ProxmoxProvider& two) {
    const auto tag = core::random_hex(3);
    auto a = class_of("npx" + tag + "a", 3), b = class_of("npx" + tag + "b", 3);
    w.run([&]() -> asio::awaitable<void> {
        pve::Client root(w.io.get_executor(), w.options().client);
        co_await one.ensure_template(a.front());
        auto ex = co_await asio::this_coro::executor;
        int finished = 0;
        asio::co_spawn(ex, provision(one, a), [&finished](const std::exception_ptr&) { ++finished; });
        asio::co_spawn(ex, provision(two, b), [&finished](const std::exception_ptr&) { ++finished; });
        for (int i = 0; i < 6000 && finished < 2; ++i) {  // both done (60 s at most)
            asio::steady_timer t(ex, Ms(10));
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        EXPECT_EQ(finished, 2);
        auto c = co_await look(root, one.template_for(a.front()));
        EXPECT_EQ(c.templates.size(), 3u);
        EXPECT_EQ(c.duplicate_templates, 0);
        EXPECT_EQ(c.half_copies, 0);
        co_await expect_linked_to_own_node(root, c, a);
        co_await expect_linked_to_own_node(root, c, b);
        for (const auto& r : a) co_await one.destroy(r.env);
        for (const auto& r : b) co_await two.destroy(r.env);
    });
    EXPECT_EQ(w.stats().at("migrations_ok").as_int64(), 2);
    EXPECT_EQ(w.stats().at("orphaned_volumes").as_int64(), 0);
}

// Two classes of the same exercise provisioned at the same moment: one copy per node, made once.
TEST(TemplateCopy, TwoClassesAtOnceMakeOneCopyPerNode) {
    World w(true);
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 29000));
    provision_two_classes_at_once(w, provider, provider);
    EXPECT_EQ(provider.stats().template_copies, 2u);
}

// The same from two server instances: the copy with the lowest VMID is the one, the other instance removes
// its own; each counts only the copies it completed.
TEST(TemplateCopy, TwoInstancesAtOnceMakeOneCopyPerNode) {
    World w(true);
    labpve::ProxmoxProvider one(w.io.get_executor(), own_range(w, 29000));
    labpve::ProxmoxProvider two(w.io.get_executor(), own_range(w, 29000));
    provision_two_classes_at_once(w, one, two);
    EXPECT_EQ(one.stats().template_copies + two.stats().template_copies, 2u);
}

// What two instances cloning a copy for the same node at the same moment leave (two half-made copies of one
// name; the in-process runs above rarely get there, as the clone batch looks for the name just before it
// clones): the lowest VMID is finished, the other removed, nothing left over.
TEST(TemplateCopy, TwoHalfMadeCopiesForANodeLeaveTheLowestVmid) {
    World w(true);
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 29000));
    const auto tag = core::random_hex(3);
    auto reqs = class_of("npd" + tag, 3);
    w.run([&]() -> asio::awaitable<void> {
        pve::Client root(w.io.get_executor(), w.options().client);
        co_await provider.ensure_template(reqs.front());
        auto tpl = provider.template_for(reqs.front());
        std::optional<pve::Resource> source;
        std::set<std::string> nodes;
        for (const auto& r : co_await root.cluster_resources()) {
            if (r.type == "qemu" && r.is_template && r.name == tpl) source = r;
            if (r.type == "node") nodes.insert(r.node);
        }
        EXPECT_TRUE(source);
        if (!source) co_return;
        std::string other;  // a node without the template
        for (const auto& n : nodes)
            if (n != source->node) other = n;
        pve::TaskWaiter waiter(root);
        for (int vmid : {29600, 29500}) {
            pve::Client::CloneRequest c;
            c.newid = vmid;
            c.name = labpve::copy_name(tpl, other);
            c.full = true;
            auto upid = co_await root.clone(pve::GuestKind::qemu, source->node, source->vmid, c);
            co_await waiter.wait_ok(upid, std::chrono::seconds(30));
        }
        co_await provision(provider, reqs);
        auto c = co_await look(root, tpl);
        EXPECT_EQ(c.templates.size(), 3u);
        EXPECT_EQ(c.templates[other], 29500);
        EXPECT_EQ(c.half_copies, 0);
        EXPECT_EQ(c.duplicate_templates, 0);
        co_await expect_linked_to_own_node(root, c, reqs);
        for (const auto& r : reqs) co_await provider.destroy(r.env);
    });
    auto st = w.stats();
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0);
    EXPECT_EQ(st.at("duplicate_names").as_int64(), 0);
}

// The topology of ProxmoxLocalStorage.ClonesOfATemplateOnLocalStorageStayOnItsNode (the template on the
// small pve1, pve2 far emptier): with copies on (the default), one environment goes where the memory is.
TEST(TemplateCopy, OneEnvironmentGoesToTheEmptierNodeThroughACopy) {
    auto profile = pvesim::load_profile("fast");
    profile.nodes = {{"pve1", 16LL << 30, 8}, {"pve2", 512LL << 30, 64}};
    profile.guests = {
        {100, "pve1", "ubuntu-base", "qemu", false, "local-lvm", 16LL << 30, 2LL << 30, true, false}};
    World w(true, profile);
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 26000));
    const auto env = "npe" + core::random_hex(3);
    w.run([&]() -> asio::awaitable<void> {
        pve::Client root(w.io.get_executor(), w.options().client);
        auto req = request(env);
        co_await provider.ensure_template(req);
        co_await provider.create(req);
        auto c = co_await look(root, provider.template_for(req));
        EXPECT_EQ(c.templates.size(), 2u);
        EXPECT_EQ(c.vms.at(env).node, "pve2");
        const std::vector<lab::LabRequest> one{req};  // (named: GCC 12 and braced temporaries in co_await)
        co_await expect_linked_to_own_node(root, c, one);
        co_await provider.destroy(env);
        co_await provider.create(req);  // made again: from the copy already there
        c = co_await look(root, provider.template_for(req));
        EXPECT_EQ(c.templates.size(), 2u);
        co_await expect_linked_to_own_node(root, c, one);
        co_await provider.destroy(env);
    });
    EXPECT_EQ(provider.stats().template_copies, 1u);
    EXPECT_EQ(w.stats().at("orphaned_volumes").as_int64(), 0);
}

// `serve` killed (SIGKILL of a forked copy of this test running the provider on its own event loop) once a
// copy's full clone has begun and before its migration; a new provider finishes the half-made copies, and
// the class is made with one template per node and nothing left over.
TEST(TemplateCopy, ARunKilledBetweenACopysCloneAndItsMigrationIsFinishedByTheNext) {
    auto profile = pvesim::load_profile("fast");
    profile.clone_full_ms = 600;  // the copy's clone is under way for a while
    World w(true, profile);
    const auto tag = core::random_hex(3);
    auto reqs = class_of("npk" + tag, 3);
    auto before = w.stats();
    pid_t child = fork();
    if (child == 0) {  // the first run: never returns
        asio::io_context io2;
        labpve::ProxmoxProvider first(io2.get_executor(), own_range(w, 27000));
        asio::co_spawn(
            io2,
            [&]() -> asio::awaitable<void> {
                co_await first.ensure_template(reqs.front());
                co_await first.create_batch(reqs, {});
            },
            asio::detached);
        io2.run();
        _exit(3);  // done before it was killed
    }
    ASSERT_GT(child, 0);
    // The simulator runs here until the template exists and a copy is being cloned.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    bool cloning_copy = false;
    while (!cloning_copy && std::chrono::steady_clock::now() < deadline) {
        w.io.run_for(Ms(5));
        auto st = w.stats();
        cloning_copy = st.at("templates").as_int64() > before.at("templates").as_int64() &&
                       st.at("vms").as_int64() >= before.at("vms").as_int64() + 2;
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    ASSERT_TRUE(cloning_copy) << w.sim->stats_json();
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    EXPECT_EQ(w.stats().at("migrations_ok").as_int64(), 0);
    labpve::ProxmoxProvider next(w.io.get_executor(), own_range(w, 27000));
    w.run([&]() -> asio::awaitable<void> {
        pve::Client root(w.io.get_executor(), w.options().client);
        co_await provision(next, reqs);
        auto c = co_await look(root, next.template_for(reqs.front()));
        EXPECT_EQ(c.templates.size(), 3u);
        EXPECT_EQ(c.half_copies, 0);
        EXPECT_EQ(c.duplicate_templates, 0);
        co_await expect_linked_to_own_node(root, c, reqs);
        for (const auto& r : reqs) co_await next.destroy(r.env);
    });
    EXPECT_GE(next.stats().template_copies_resumed, 1u);
    EXPECT_EQ(next.stats().template_copies, 2u);
    EXPECT_EQ(next.stats().template_copies_failed, 0u);
    auto st = w.stats();
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0);
    EXPECT_EQ(st.at("duplicate_names").as_int64(), 0);
}

TEST(TemplateCopy, SharedStorageMakesNoCopyAndClonesGoCrossNode) {
    auto profile = pvesim::load_profile("fast");
    profile.guests = {
        {100, "pve1", "ubuntu-base", "qemu", false, "cephpool", 16LL << 30, 2LL << 30, true, false}};
    World w(true, profile);
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 28000));
    auto reqs = class_of("nps" + core::random_hex(3), 3);
    w.run([&]() -> asio::awaitable<void> {
        pve::Client root(w.io.get_executor(), w.options().client);
        co_await provider.ensure_template(reqs.front());
        co_await provision(provider, reqs);
        auto c = co_await look(root, provider.template_for(reqs.front()));
        EXPECT_EQ(c.templates.size(), 1u);
        EXPECT_EQ(nodes_of(c, reqs).size(), 3u);  // cross-node linked clones of the one template
        for (const auto& r : reqs) co_await provider.destroy(r.env);
    });
    EXPECT_EQ(provider.stats().template_copies, 0u);
    EXPECT_EQ(w.stats().at("migrations_ok").as_int64(), 0);
    EXPECT_EQ(w.stats().at("orphaned_volumes").as_int64(), 0);
}

}  // namespace
