// Tickets, CSRF, API tokens, per-user tickets and renewal; TLS with a pinned fingerprint, a CA file, and
// the explicit insecure option.

#include <cstdio>
#include <fstream>

#include "core/error.hpp"
#include "pve/tasks.hpp"
#include "sim_fixture.hpp"

namespace np::pve {
namespace {

using namespace std::chrono_literals;
using np::testing::SimFixture;
namespace asio = boost::asio;

class FakeClock final : public core::Clock {
 public:
    std::chrono::steady_clock::time_point now() const override {
        return std::chrono::steady_clock::now() + offset;
    }
    std::chrono::seconds offset{0};
};

TEST(PveAuth, WrongPasswordAndUnknownUserLookTheSame) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options());
        EXPECT_TRUE(co_await c.check_login("alice@teachers", "alice-pw"));
        EXPECT_FALSE(co_await c.check_login("alice@teachers", "wrong"));
        EXPECT_FALSE(co_await c.check_login("nobody@teachers", "alice-pw"));
        Client bad(sim.io.get_executor(), sim.options("root@pam", "nope"));
        try {
            co_await bad.version();
            ADD_FAILURE() << "login with a wrong password worked";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.code(), core::Code::unauthenticated);
            EXPECT_EQ(e.pve_message(), "authentication failure");
        }
    });
    EXPECT_EQ(sim.stat("auth_failures"), 3);
}

TEST(PveAuth, TicketCookieAndCsrfAreEnforced) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        net::HttpClient http(sim.io.get_executor(), net::parse_url(sim.url()), {});
        net::HttpRequest req;
        req.target = "/api2/json/nodes";
        auto res = co_await http.send(req);
        EXPECT_EQ(res.status, 401);
        EXPECT_NE(res.body.find("No ticket"), std::string::npos);

        req.headers = {{"Cookie", "PVEAuthCookie=PVE:root@pam:66DC5987::forged"}};
        res = co_await http.send(req);
        EXPECT_EQ(res.status, 401);
        EXPECT_NE(res.body.find("invalid PVE ticket"), std::string::npos);

        net::HttpRequest login;
        login.method = "POST";
        login.target = "/api2/json/access/ticket";
        login.content_type = "application/x-www-form-urlencoded";
        login.body = "username=root%40pam&password=rootpass";
        res = co_await http.send(login);
        EXPECT_EQ(res.status, 200);
        auto data = boost::json::parse(res.body).at("data");
        std::string ticket(data.at("ticket").as_string());
        std::string csrf(data.at("CSRFPreventionToken").as_string());
        EXPECT_EQ(ticket.rfind("PVE:root@pam:", 0), 0u);

        req.headers = {{"Cookie", "PVEAuthCookie=" + url_escape(ticket)}};
        EXPECT_EQ((co_await http.send(req)).status, 200);
        // A write without the CSRF token is refused even with a valid ticket.
        net::HttpRequest write;
        write.method = "POST";
        write.target = "/api2/json/pools";
        write.content_type = "application/x-www-form-urlencoded";
        write.body = "poolid=p1";
        write.headers = req.headers;
        res = co_await http.send(write);
        EXPECT_EQ(res.status, 401);
        EXPECT_NE(res.body.find("invalid csrf token"), std::string::npos);
        write.headers.emplace_back("CSRFPreventionToken", csrf);
        EXPECT_EQ((co_await http.send(write)).status, 200);
        // Realms need no auth.
        net::HttpRequest domains;
        domains.target = "/api2/json/access/domains";
        res = co_await http.send(domains);
        EXPECT_NE(res.body.find("\"realm\":\"teachers\",\"type\":\"ldap\""), std::string::npos);
    });
}

TEST(PveAuth, ApiTokensNeedNoTicketOrCsrf) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        auto o = sim.options();
        o.credentials = {};
        o.credentials.token_id = "root@pam!ci";
        o.credentials.token_secret = "6f1e2a9c-2b1d-4c3e-9a8b-7d6c5e4f3a21";
        Client c(sim.io.get_executor(), o);
        EXPECT_EQ((co_await c.version()).version, "8.4.1");
        co_await c.create_pool("tok");  // a write
        Client::CloneRequest r;
        r.newid = 3000;
        auto upid = co_await c.clone(GuestKind::qemu, "pve1", 9000, r);
        EXPECT_EQ(parse_upid(upid)->user, "root@pam!ci");  // tasks show the token
        EXPECT_EQ(c.stats().logins, 0u);
        o.credentials.token_secret = "00000000-0000-0000-0000-000000000000";
        Client bad(sim.io.get_executor(), o);
        try {
            co_await bad.version();
            ADD_FAILURE();
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status(), 401);
            EXPECT_EQ(e.pve_message(), "Authentication failed!");
        }
    });
}

TEST(PveAuth, EachUserActsUnderTheirOwnTicket) {
    SimFixture sim(pvesim::load_profile("fast"));
    sim.run([&]() -> asio::awaitable<void> {
        Client root(sim.io.get_executor(), sim.options());
        auto alice = root.as_user("alice@teachers", "alice-pw");
        Client::CloneRequest r;
        r.newid = 3100;
        auto upid = co_await alice.clone(GuestKind::qemu, "pve1", 9000, r);
        EXPECT_EQ(parse_upid(upid)->user, "alice@teachers");
        r.newid = 3101;
        upid = co_await root.clone(GuestKind::qemu, "pve1", 9000, r);
        EXPECT_EQ(parse_upid(upid)->user, "root@pam");
        EXPECT_EQ(root.stats().logins, 2u);  // one ticket per user, shared stats
        co_await alice.version();
        EXPECT_EQ(root.stats().logins, 2u);  // cached
    });
}

TEST(PveAuth, TicketsAreRenewedBeforeExpiryAndAfterIt) {
    SimFixture sim(pvesim::load_profile("fast"));
    FakeClock clock;
    sim.run([&]() -> asio::awaitable<void> {
        Client c(sim.io.get_executor(), sim.options(), clock);
        co_await c.version();
        EXPECT_EQ(c.stats().logins, 1u);
        // An hour later the client renews with the ticket as the password, before the 2 h expiry.
        clock.offset = 3601s;
        co_await c.version();
        EXPECT_EQ(c.stats().renewals, 1u);
        EXPECT_EQ(c.stats().logins, 2u);
        // The server's clock runs past the ticket's lifetime: the 401 makes the client log in again.
        net::HttpClient http(sim.io.get_executor(), net::parse_url(sim.url()), {});
        net::HttpRequest adv;
        adv.method = "POST";
        adv.target = "/sim/advance?seconds=7300";
        EXPECT_EQ((co_await http.send(adv)).status, 200);
        co_await c.version();
        EXPECT_EQ(c.stats().logins, 3u);
    });
}

std::string write_temp(const std::string& text) {
    char path[] = "/tmp/np-pve-ca-XXXXXX";
    int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << text;
    return path;
}

TEST(PveTls, PinnedFingerprintCaFileAndInsecure) {
    SimFixture sim(pvesim::load_profile("fast"), true);
    auto fp = sim.server->fingerprint();
    EXPECT_EQ(fp.size(), 95u);  // 32 bytes as AA:BB:...
    auto ca = write_temp(sim.server->certificate_pem());
    sim.run([&]() -> asio::awaitable<void> {
        auto o = sim.options();
        o.tls.fingerprint = fp;
        Client pinned(sim.io.get_executor(), o);
        EXPECT_EQ((co_await pinned.version()).version, "8.4.1");

        o.tls = {};
        o.tls.ca_file = ca;
        Client with_ca(sim.io.get_executor(), o);
        EXPECT_EQ((co_await with_ca.nodes()).size(), 3u);

        o.tls = {};
        o.tls.insecure = true;
        Client insecure(sim.io.get_executor(), o);
        EXPECT_EQ((co_await insecure.version()).release, "8.4");

        o.tls = {};
        o.tls.fingerprint = std::string(64, 'a');
        Client wrong(sim.io.get_executor(), o);
        try {
            co_await wrong.version();
            ADD_FAILURE() << "a wrong pin was accepted";
        } catch (const core::Error& e) {
            EXPECT_EQ(e.code(), core::Code::unavailable);
            EXPECT_FALSE(e.retryable());
            EXPECT_NE(std::string(e.what()).find("fingerprint"), std::string::npos);
        }
        o.tls = {};  // system CAs do not know the self-signed certificate
        Client unverified(sim.io.get_executor(), o);
        EXPECT_THROW(co_await unverified.version(), core::Error);

        // Over TLS the error message is also in the status line, as pveproxy sends it.
        net::ClientOptions hopts;
        hopts.tls.fingerprint = fp;
        net::HttpClient http(sim.io.get_executor(), net::parse_url(sim.url()), hopts);
        net::HttpRequest req;
        req.target = "/api2/json/version";
        auto res = co_await http.send(req);
        EXPECT_EQ(res.status, 401);
        EXPECT_EQ(res.reason, "No ticket");
    });
    std::remove(ca.c_str());
}

TEST(PveTls, MalformedPinIsRejectedUpFront) {
    boost::asio::io_context io;
    ClientOptions o;
    o.url = "https://127.0.0.1:1";
    o.tls.fingerprint = "12:34";
    EXPECT_THROW(Client(io.get_executor(), o), core::Error);
    o.url = "gopher://x";
    o.tls = {};
    EXPECT_THROW(Client(io.get_executor(), o), core::Error);
}

}  // namespace
}  // namespace np::pve
