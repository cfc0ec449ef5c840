// The `proxmox` login realm against the simulator: accepted logins get the realm's role; wrong passwords
// and unknown users look the same; an unreachable Proxmox is a distinct error.

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <boost/asio/ip/tcp.hpp>
#include <cstdio>

#include "auth/proxmox_realm.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/offload.hpp"
#include "sim_fixture.hpp"
#include "store/store.hpp"

namespace np::auth {
namespace {

namespace asio = boost::asio;
using np::testing::SimFixture;

std::string temp_db() {
    char path[] = "/tmp/np-realm-test-XXXXXX";
    int fd = mkstemp(path);
    ::close(fd);
    return path;
}

struct Deps {
    ~Deps() {
        store.reset();
        for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db + suffix).c_str());
    }
    std::string db = temp_db();
    std::unique_ptr<store::Store> store = store::open_store("sqlite:" + db);
    core::WorkerPool pool{1};
    core::Config config;
    RealmDeps deps{*store, pool, config};
};

YAML::Node entry(const std::string& name, const std::string& role, const std::string& url) {
    YAML::Node n;
    n["name"] = name;
    n["kind"] = "proxmox";
    n["role"] = role;
    n["pve_realm"] = name;
    n["url"] = url;
    return n;
}

TEST(ProxmoxRealm, AcceptsRealmUsersWithTheRealmsRole) {
    SimFixture sim(pvesim::load_profile("fast"));
    Deps d;
    auto teachers = make_proxmox_realm(entry("teachers", "teacher", sim.url()), d.deps);
    auto students = make_proxmox_realm(entry("students", "student", sim.url()), d.deps);
    EXPECT_EQ(teachers->kind(), "proxmox");
    sim.run([&]() -> asio::awaitable<void> {
        auto alice = co_await teachers->authenticate("alice", "alice-pw");
        EXPECT_TRUE(alice.has_value());
        if (alice) {
            EXPECT_EQ(alice->username, "alice");
            EXPECT_EQ(alice->role, "teacher");
            EXPECT_EQ(alice->realm, "teachers");
        }
        EXPECT_TRUE((co_await teachers->authenticate("alice@teachers", "alice-pw")).has_value());
        // Alice is not a student; Bob is.
        EXPECT_FALSE((co_await students->authenticate("alice", "alice-pw")).has_value());
        auto bob = co_await students->authenticate("bob", "bob-pw");
        EXPECT_TRUE(bob && bob->role == "student");
        // Wrong password and unknown user: the same answer.
        EXPECT_FALSE((co_await teachers->authenticate("alice", "wrong")).has_value());
        EXPECT_FALSE((co_await teachers->authenticate("mallory", "alice-pw")).has_value());
        EXPECT_FALSE((co_await teachers->authenticate("alice@students", "alice-pw")).has_value());
        EXPECT_FALSE((co_await teachers->authenticate("alice", "")).has_value());
    });
}

TEST(ProxmoxRealm, UnreachableProxmoxIsUnavailable) {
    Deps d;
    // A port nothing listens on: bind one, note it, close it.
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = a.local_endpoint().port();
    a.close();
    auto realm =
        make_proxmox_realm(entry("teachers", "teacher", "http://127.0.0.1:" + std::to_string(port)), d.deps);
    auto fut = asio::co_spawn(io, realm->authenticate("alice", "alice-pw"), asio::use_future);
    io.run();
    try {
        fut.get();
        FAIL() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::unavailable);
        EXPECT_NE(std::string(e.what()).find("cannot be reached"), std::string::npos);
    }
}

TEST(ProxmoxRealm, BadEntriesAreRejectedWithTheKey) {
    Deps d;
    EXPECT_THROW(make_proxmox_realm(entry("t", "admin", "http://127.0.0.1:1"), d.deps), core::Error);
    EXPECT_THROW(make_proxmox_realm(entry("t", "teacher", ""), d.deps), core::Error);
    EXPECT_THROW(make_proxmox_realm(entry("t", "teacher", "gopher://x"), d.deps), core::Error);
    // url from the pve: section when the entry has none
    d.config = core::Config::from_string("pve:\n  url: http://127.0.0.1:8006\n");
    auto e = entry("t", "teacher", "");
    e.remove("url");
    EXPECT_NO_THROW(make_proxmox_realm(e, d.deps));
}

}  // namespace
}  // namespace np::auth
