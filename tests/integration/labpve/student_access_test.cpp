// The proxmox provider's per-student Proxmox permissions (issue 10 part 5), template progress and orphaned
// volumes, on an in-process pve-sim whose VMs run GNS3 simulators (no device is started: no root needed).
// Each student of a `proxmox` realm holds netpraxis's role on their own VM only, checked with their own
// Proxmox ticket against the simulator's privilege checks; a student of another realm gets nothing; after
// destroy, nothing is left.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.hpp"
#include "labpve/proxmox_provider.hpp"
#include "pve/access.hpp"
#include "pve/tasks.hpp"
#include "sim_world.hpp"

namespace {

namespace asio = boost::asio;
using namespace np;
using labpve::testing::request;
using labpve::testing::World;
using Ms = std::chrono::milliseconds;

// Records what the provider reports, as app::Workflows' job sink does.
struct RecordingSink final : lab::ProgressSink {
    std::vector<std::string> steps;
    std::map<std::string, std::int64_t> facts;
    asio::awaitable<void> step(std::string text) override {
        steps.push_back(std::move(text));
        co_return;
    }
    void fact(std::string key, std::int64_t value) override { facts[std::move(key)] = value; }
};

lab::LabRequest owned(const std::string& env, std::string kind, std::string userid) {
    auto r = request(env);
    r.owner = lab::LabOwner{std::move(kind), std::move(userid)};
    return r;
}

asio::awaitable<void> add_user(pve::Client& root, const std::string& userid, const std::string& password) {
    pve::Params p{{"userid", userid}, {"password", password}};
    pve::CallOptions once;
    once.idempotent = false;
    co_await root.call("POST", "/access/users", p, once);
}

// The error code of a call that must fail (or a test failure).
template <class F>
asio::awaitable<core::Code> refused(F call) {
    try {
        co_await call();
    } catch (const core::Error& e) {
        co_return e.code();
    }
    ADD_FAILURE() << "the call succeeded";
    co_return core::Code::internal;
}

std::optional<pve::Resource> named(const std::vector<pve::Resource>& rows, const std::string& name) {
    for (const auto& r : rows)
        if (r.name == name && !r.is_template) return r;
    return std::nullopt;
}

// Options with a VMID range of this test's own: the GNS3 guests' addresses (127.70.H.L, H.L the VMID's
// bytes) then differ from those of the other tests running at the same time.
labpve::ProxmoxOptions own_range(const World& w, int low) {
    auto o = w.options();
    o.vmid_low = low;
    o.vmid_high = low + 999;
    return o;
}

bool has_step(const RecordingSink& s, const std::string& step) {
    return std::find(s.steps.begin(), s.steps.end(), step) != s.steps.end();
}

}  // namespace

TEST(ProxmoxStudentAccess, EachStudentReachesOnlyTheirOwnVmThroughProxmoxItself) {
    World w(true);
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 21000));
    const std::string tag = core::random_hex(3);
    const std::string env1 = "npa1" + tag, env2 = "npa2" + tag, env3 = "npa3" + tag;
    w.run([&]() -> asio::awaitable<void> {
        pve::Client root(w.io.get_executor(), w.options().client);
        co_await add_user(root, "student1@pve", "pw-one");
        co_await add_user(root, "student2@pve", "pw-two");
        // The template build reports its steps on the environment's sink.
        RecordingSink tpl_sink;
        {
            auto scope = provider.attach_progress(env1, tpl_sink);
            auto req = request(env1);
            co_await provider.ensure_template(req);
        }
        for (const char* step :
             {"cloning base VM", "waiting for guest agent", "importing project", "converting to template"})
            EXPECT_TRUE(has_step(tpl_sink, step)) << step;
        // (named requests: GCC 12 mishandles temporaries inside co_await)
        auto req1 = owned(env1, "proxmox", "student1@pve"), req2 = owned(env2, "proxmox", "student2@pve");
        auto req3 = owned(env3, "local", "student3");  // another realm: nothing granted
        co_await provider.create(req1);
        co_await provider.create(req1);  // idempotent
        co_await provider.create(req2);
        co_await provider.create(req3);
        auto rows = co_await root.cluster_resources("vm");
        auto vm1 = named(rows, env1), vm2 = named(rows, env2), vm3 = named(rows, env3);
        EXPECT_TRUE(vm1 && vm2 && vm3);
        if (!vm1 || !vm2 || !vm3) co_return;
        int acl_vm3 = 0;
        for (const auto& e : co_await pve::read_acl(root))
            if (e.path == "/vms/" + std::to_string(vm3->vmid)) ++acl_vm3;
        EXPECT_EQ(acl_vm3, 0);

        auto s1 = root.as_user("student1@pve", "pw-one");
        auto seen = co_await s1.cluster_resources("vm");
        EXPECT_EQ(seen.size(), 1u);  // their VM, not the other student's, not the template
        if (!seen.empty()) {
            EXPECT_EQ(seen.front().vmid, vm1->vmid);
        }
        EXPECT_EQ(co_await refused([&]() -> asio::awaitable<void> {
                      co_await s1.guest_status(pve::GuestKind::qemu, vm2->node, vm2->vmid);
                  }),
                  core::Code::forbidden);
        EXPECT_EQ(co_await refused([&]() -> asio::awaitable<void> {
                      co_await s1.start(pve::GuestKind::qemu, vm2->node, vm2->vmid);
                  }),
                  core::Code::forbidden);
        // Powers their own.
        pve::TaskWaiter waiter(s1);
        co_await waiter.wait_ok(co_await s1.start(pve::GuestKind::qemu, vm1->node, vm1->vmid), Ms(30'000));
        co_await waiter.wait_ok(co_await s1.stop(pve::GuestKind::qemu, vm1->node, vm1->vmid), Ms(30'000));

        RecordingSink destroy_sink;
        {
            auto scope = provider.attach_progress(env1, destroy_sink);
            co_await provider.destroy(env1);
        }
        EXPECT_EQ(destroy_sink.facts["orphaned_volumes_cleaned"], 0);
        EXPECT_TRUE((co_await s1.cluster_resources("vm")).empty());
        EXPECT_TRUE(
            (co_await pve::permissions(root, "student1@pve", "/vms/" + std::to_string(vm1->vmid))).empty());
        for (const auto& e : co_await pve::read_acl(root)) EXPECT_NE(e.ugid, "student1@pve") << e.path;
        co_await provider.destroy(env2);
        co_await provider.destroy(env3);
        for (const auto& e : co_await pve::read_acl(root)) EXPECT_NE(e.roleid, pve::kStudentRole) << e.path;
    });
    auto st = provider.stats();
    EXPECT_EQ(st.acl_grants, 3u);  // student1 twice (idempotent PUT), student2 once
    EXPECT_EQ(st.acl_revokes, 2u);
}

TEST(ProxmoxStudentAccess, AGrantProxmoxRefusesLeavesNoVmBehindAndSaysWhy) {
    World w(true);
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 22000));
    const std::string env = "npg" + core::random_hex(3);
    std::int64_t vms_before = w.stats().at("vms").as_int64();
    w.run([&]() -> asio::awaitable<void> {
        auto req = owned(env, "proxmox", "ghost@pve");  // no such Proxmox user
        co_await provider.ensure_template(req);
        std::string why;
        try {
            co_await provider.create(req);
            ADD_FAILURE() << "create succeeded";
        } catch (const core::Error& e) {
            why = e.what();
        }
        EXPECT_NE(why.find("ghost@pve"), std::string::npos) << why;
        EXPECT_NE(why.find("does not exist"), std::string::npos) << why;
        EXPECT_NE(why.find("the VM was removed"), std::string::npos) << why;
        EXPECT_EQ((co_await provider.observe(env)).state, lab::EnvState::absent);
    });
    auto st = w.stats();
    EXPECT_EQ(st.at("vms").as_int64(), vms_before + 1);  // only the template
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0);
}

TEST(ProxmoxStudentAccess, OrphanedVolumesADestroyCleansAreCountedAndReported) {
    auto profile = pvesim::load_profile("fast");
    profile.p_silent_delete_failure = 1.0;  // every delete "succeeds" and leaves its disk behind
    World w(true, profile);
    labpve::ProxmoxProvider provider(w.io.get_executor(), own_range(w, 23000));
    const std::string env = "npo" + core::random_hex(3);
    RecordingSink sink;
    w.run([&]() -> asio::awaitable<void> {
        auto req = request(env);
        co_await provider.ensure_template(req);
        co_await provider.create(req);
        auto scope = provider.attach_progress(env, sink);
        co_await provider.destroy(env);
        EXPECT_EQ((co_await provider.observe(env)).state, lab::EnvState::absent);
    });
    EXPECT_GE(sink.facts["orphaned_volumes_cleaned"], 1);
    EXPECT_EQ(provider.stats().orphans_cleaned,
              static_cast<std::uint64_t>(sink.facts["orphaned_volumes_cleaned"]));
    EXPECT_EQ(w.stats().at("orphaned_volumes").as_int64(), 0);
    bool listed = false;
    for (const auto& c : provider.counters())
        if (c.name == "orphaned_volumes_cleaned") listed = c.value == provider.stats().orphans_cleaned;
    EXPECT_TRUE(listed);
}

// Two nodes, the base VM and so the template on pve1's local storage, pve2 with far more free memory:
// Proxmox refuses a clone to another node from local storage ("can't clone VM to node 'pve2' (VM uses
// local storage)"), so with pve.template_copies off every environment goes to the template's node (on, the
// template is copied to pve2 first: template_copy_test.cpp).
TEST(ProxmoxLocalStorage, ClonesOfATemplateOnLocalStorageStayOnItsNode) {
    auto profile = pvesim::load_profile("fast");
    profile.nodes = {{"pve1", 16LL << 30, 8}, {"pve2", 512LL << 30, 64}};
    profile.guests = {
        {100, "pve1", "ubuntu-base", "qemu", false, "local-lvm", 16LL << 30, 2LL << 30, true, false}};
    World w(true, profile);
    auto options = own_range(w, 24000);
    options.template_copies = false;
    labpve::ProxmoxProvider provider(w.io.get_executor(), options);
    const std::string tag = core::random_hex(3);
    w.run([&]() -> asio::awaitable<void> {
        auto first = request("npl0" + tag);
        co_await provider.ensure_template(first);
        for (int i = 1; i <= 3; ++i) {
            auto req = request("npl" + std::to_string(i) + tag);
            co_await provider.create(req);
        }
        pve::Client root(w.io.get_executor(), w.options().client);
        int on_pve1 = 0, tpl_vmid = 0;
        for (const auto& r : co_await root.cluster_resources("vm")) {
            if (r.is_template) tpl_vmid = r.vmid;
            if (r.name.rfind("npl", 0) == 0) {
                EXPECT_EQ(r.node, "pve1") << r.name;
                ++on_pve1;
            }
        }
        EXPECT_EQ(on_pve1, 3);
        // What the provider avoids: the simulator refuses it as Proxmox does.
        pve::Client::CloneRequest to_pve2;
        to_pve2.newid = 24990;
        to_pve2.name = "npl-target" + tag;
        to_pve2.target = "pve2";
        std::string why;
        try {
            co_await root.clone(pve::GuestKind::qemu, "pve1", tpl_vmid, to_pve2);
        } catch (const core::Error& e) {
            why = e.what();
        }
        EXPECT_NE(why.find("can't clone VM to node 'pve2' (VM uses local storage)"), std::string::npos)
            << why;
        for (int i = 1; i <= 3; ++i) {
            auto env = "npl" + std::to_string(i) + tag;
            co_await provider.destroy(env);
        }
    });
    EXPECT_EQ(w.stats().at("orphaned_volumes").as_int64(), 0);
}
