// labpve::ProxmoxProvider on an in-process pve-sim whose VMs run GNS3 simulators (pvesim::Gns3Guests), the
// devices behind the node consoles real VPCS and FRR: the whole life of one environment.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "labpve/proxmox_provider.hpp"
#include "pve/access.hpp"
#include "sim_world.hpp"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace np;
using Ms = std::chrono::milliseconds;
using labpve::testing::request;
using labpve::testing::World;

bool have_devices() {
    return geteuid() == 0 && access("/usr/lib/frr/frrinit.sh", X_OK) == 0 &&
           access("/usr/bin/vpcs", X_OK) == 0;
}

asio::awaitable<void> pause(Ms d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Types `input` on a console and returns what it printed until `want` appeared (or 20 s passed).
asio::awaitable<std::string> converse(lab::ConsoleStream& console, const std::string& input,
                                      const std::string& want) {
    auto out = std::make_shared<std::string>();
    auto done = std::make_shared<bool>(false);
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&console, out, done]() -> asio::awaitable<void> {
            char buf[4096];
            while (!*done) {
                auto n = co_await console.read_some(buf);
                if (n == 0) break;
                out->append(buf, n);
            }
        },
        asio::detached);
    co_await console.write(input);
    for (int i = 0; i < 400 && out->find(want) == std::string::npos; ++i) co_await pause(Ms(50));
    *done = true;
    co_return *out;
}

std::string netns_list() {
    std::string out;
    if (FILE* p = popen("ip netns list 2>/dev/null", "r")) {
        char buf[4096];
        while (auto n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
        pclose(p);
    }
    return out;
}

}  // namespace

TEST(ProxmoxProvider, AnEnvironmentLivesAndDiesOnPveSimWithRealDevices) {
    if (!have_devices()) GTEST_SKIP() << "needs root, FRR and VPCS";
    World w(true);
    labpve::ProxmoxProvider provider(w.io.get_executor(), w.options());
    const std::string env = "npt" + core::random_hex(4);
    std::int64_t vms_before = w.stats().at("vms").as_int64();
    pve::Client root(w.io.get_executor(), w.options().client);  // reads the student's grants
    w.run([&]() -> asio::awaitable<void> {
        auto req = request(env);
        req.owner = lab::LabOwner{"proxmox", "bob@students"};  // a user of the fast profile
        provider.check_request(req);
        EXPECT_EQ((co_await provider.observe(env)).state, lab::EnvState::absent);
        co_await provider.ensure_template(req);
        co_await provider.ensure_template(req);  // built once
        EXPECT_EQ(provider.stats().templates_built, 1u);
        co_await provider.create(req);
        co_await provider.create(req);  // idempotent
        EXPECT_EQ(provider.stats().clones, 1u);
        EXPECT_EQ((co_await provider.observe(env)).state, lab::EnvState::stopped);
        co_await provider.start(env);
        auto seen = co_await provider.observe(env);
        EXPECT_EQ(seen.state, lab::EnvState::running) << (seen.problems.empty() ? "" : seen.problems.front());
        auto inv = co_await provider.inventory(env);
        EXPECT_EQ(inv.size(), 3u);
        for (const auto& d : inv) {
            EXPECT_EQ(d.transport, "telnet");
            EXPECT_EQ(d.host.rfind("127.", 0), 0u) << d.host;
            EXPECT_NE(d.host, "127.0.0.1");
        }
        {  // PC2 gets its address and saves it
            auto pc2 = co_await provider.console(env, "PC2");
            auto out = co_await converse(*pc2, "ip 10.0.2.10/24 10.0.2.1\n", "10.0.2.1");
            out = co_await converse(*pc2, "save\n", "done");
            EXPECT_NE(out.find("done"), std::string::npos) << out;
            pc2->close();
        }
        co_await provider.stop(env);
        EXPECT_EQ((co_await provider.observe(env)).state, lab::EnvState::stopped);
        co_await provider.start(env);
        {  // what the student saved survived the stop
            auto pc2 = co_await provider.console(env, "PC2");
            auto out = co_await converse(*pc2, "show ip\n", "10.0.2.10/24");
            EXPECT_NE(out.find("10.0.2.10/24"), std::string::npos) << out;
            pc2->close();
        }
        auto grants = [&]() -> asio::awaitable<std::vector<std::string>> {
            std::vector<std::string> out;
            for (const auto& e : co_await pve::read_acl(root))
                if (e.ugid == "bob@students" && e.roleid == pve::kStudentRole) out.push_back(e.path);
            co_return out;
        };
        auto before_reset = co_await grants();
        co_await provider.reset(env);
        EXPECT_EQ((co_await provider.observe(env)).state, lab::EnvState::running);
        auto after_reset = co_await grants();  // the new VM is the student's again, the old one is gone
        EXPECT_EQ(before_reset.size(), 1u);
        EXPECT_EQ(after_reset.size(), 1u);
        for (const auto& r : co_await root.cluster_resources("vm")) {
            if (r.name == env && !after_reset.empty()) {
                EXPECT_EQ(after_reset.front(), "/vms/" + std::to_string(r.vmid));
            }
        }
        {  // back to the exercise's initial state
            auto pc2 = co_await provider.console(env, "PC2");
            auto out = co_await converse(*pc2, "show ip\n", "GATEWAY");
            EXPECT_NE(out.find("GATEWAY"), std::string::npos) << out;
            EXPECT_EQ(out.find("10.0.2.10/24"), std::string::npos) << out;
            pc2->close();
        }
        co_await provider.destroy(env);
        co_await provider.destroy(env);  // absent is success
        EXPECT_TRUE((co_await grants()).empty());
        EXPECT_EQ((co_await provider.observe(env)).state, lab::EnvState::absent);
    });
    auto st = w.stats();
    EXPECT_EQ(st.at("vms").as_int64(), vms_before + 1);  // only the template is left
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0);
    EXPECT_EQ(netns_list().find(env), std::string::npos);
}

TEST(ProxmoxProvider, WrongCredentialsMakeTheLabDegradedWithTheReason) {
    World w(false);
    labpve::ProxmoxProvider provider(w.io.get_executor(), w.options("wrong-password"));
    w.run([&]() -> asio::awaitable<void> {
        auto seen = co_await provider.observe("npt-any");
        EXPECT_EQ(seen.state, lab::EnvState::degraded);
        EXPECT_EQ(seen.problems.size(), 1u);
        for (const auto& p : seen.problems) EXPECT_NE(p.find("Proxmox"), std::string::npos) << p;
    });
}

TEST(ProxmoxProvider, UnreachableProxmoxMakesTheLabDegraded) {
    World w(false);
    auto o = w.options();
    o.client.url = "http://127.0.0.1:1";
    labpve::ProxmoxProvider provider(w.io.get_executor(), o);
    w.run([&]() -> asio::awaitable<void> {
        auto seen = co_await provider.observe("npt-any");
        EXPECT_EQ(seen.state, lab::EnvState::degraded);
        EXPECT_EQ(seen.problems.size(), 1u);
        for (const auto& p : seen.problems) EXPECT_NE(p.find("Proxmox"), std::string::npos) << p;
    });
}
