// np::http::Server on real loopback sockets: keep-alive, limits, malformed input, graceful shutdown.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <future>
#include <thread>

#include "http_client.hpp"

using namespace np;
namespace asio = boost::asio;

namespace {

// A server on its own thread whose /slow handler takes 400 ms.
struct TestServer {
    asio::io_context ioc;
    std::unique_ptr<http::Server> server;
    std::uint16_t port = 0;
    std::thread thread;
    int handled = 0;

    explicit TestServer(http::ServerOptions opts = {}) {
        opts.port = 0;
        opts.access_log = false;
        server = std::make_unique<http::Server>(
            ioc.get_executor(), opts, [this](http::Request& req) -> asio::awaitable<http::Response> {
                if (req.path == "/slow") {
                    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(400));
                    co_await t.async_wait(asio::use_awaitable);
                }
                ++handled;
                if (req.path == "/empty") {
                    http::Response r;
                    r.status = 204;
                    r.content_type = {};
                    co_return r;
                }
                if (req.path == "/echo")  // what this request carried, nothing from an earlier one
                    co_return http::text_response(
                        200, std::string(req.header("x-foo")) + "|" + req.query + "|" + req.body);
                if (req.path == "/reason") {  // the handler's reason phrase (Proxmox puts its error there)
                    auto r = http::json_response(500, "{}");
                    r.reason = "cluster not ready - no quorum?";
                    co_return r;
                }
                if (req.path == "/drop") {  // no answer: the connection just closes
                    http::Response r;
                    r.drop = true;
                    co_return r;
                }
                if (req.path == "/evil")  // a header value that would split the response
                    co_return http::json_response(200, "{}")
                        .header("X-Fine", "yes")
                        .header("X-Evil", "a\r\nSet-Cookie: stolen=1");
                co_return http::json_response(
                    200, R"({"path":")" + req.path + R"(","bytes":)" + std::to_string(req.body.size()) + "}");
            });
        port = server->listen();
        server->start();
        thread = std::thread([this] { ioc.run(); });
    }
    void shutdown_async() {
        asio::co_spawn(
            ioc, [this]() -> asio::awaitable<void> { co_await server->shutdown(); }, asio::detached);
    }
    ~TestServer() {
        ioc.stop();
        if (thread.joinable()) thread.join();
    }
};

// Writes `request` on a fresh connection and returns every byte the server sends until it closes.
std::string exchange(std::uint16_t port, const std::string& request) {
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(sock, asio::buffer(request));
    std::string out;
    boost::system::error_code ec;
    asio::read(sock, asio::dynamic_buffer(out), ec);  // until EOF
    return out;
}

std::string without_request_id(std::string head) {
    auto at = head.find("X-Request-Id: ");
    if (at != std::string::npos) head.erase(at, head.find("\r\n", at) + 2 - at);
    return head;
}

}  // namespace

// The browser security headers every response carries (serialize_head, docs/SECURITY.md).
#define NP_SECURITY_HEADERS                                                                        \
    "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n" \
    "Cross-Origin-Resource-Policy: same-origin\r\n"                                                \
    "Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; base-uri 'none'\r\n"

TEST(HttpServer, ResponseHeadsAreExact) {
    TestServer s;
    // GET: status line, type, length, and Connection: close because the client asked for it.
    EXPECT_EQ(without_request_id(exchange(s.port, "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")),
              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" NP_SECURITY_HEADERS
              "Content-Length: 23\r\n"
              "Connection: close\r\n\r\n{\"path\":\"/x\",\"bytes\":0}");
    // HEAD: the length of the body it would get, and no body.
    EXPECT_EQ(
        without_request_id(exchange(s.port, "HEAD /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")),
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" NP_SECURITY_HEADERS
        "Content-Length: 23\r\n"
        "Connection: close\r\n\r\n");
    // 204: neither a type nor a length (RFC 9110 section 8.6).
    EXPECT_EQ(
        without_request_id(exchange(s.port, "GET /empty HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")),
        "HTTP/1.1 204 No Content\r\n" NP_SECURITY_HEADERS "Connection: close\r\n\r\n");
    // HTTP/1.0 without keep-alive: answered in 1.0 and closed, no Connection header needed.
    EXPECT_EQ(without_request_id(exchange(s.port, "GET /x HTTP/1.0\r\n\r\n")),
              "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n" NP_SECURITY_HEADERS
              "Content-Length: 23\r\n\r\n"
              "{\"path\":\"/x\",\"bytes\":0}");
    // A header value with CR LF from a handler is dropped, never written (response splitting).
    auto evil = exchange(s.port, "GET /evil HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_NE(evil.find("X-Fine: yes\r\n"), std::string::npos);
    EXPECT_EQ(evil.find("stolen"), std::string::npos);
    EXPECT_EQ(evil.find("X-Evil"), std::string::npos);
}

TEST(HttpServer, HandlerSetsTheReasonPhraseOrDropsTheConnection) {
    TestServer s;
    auto r = exchange(s.port, "GET /reason HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.substr(0, r.find("\r\n")), "HTTP/1.1 500 cluster not ready - no quorum?");
    // A dropped request gets no byte, even on a keep-alive connection with another request behind it.
    EXPECT_EQ(exchange(s.port, "GET /drop HTTP/1.1\r\nHost: t\r\n\r\nGET /x HTTP/1.1\r\nHost: t\r\n\r\n"),
              "");
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
    TestServer s;
    testkit::HttpClient c(s.port);
    for (int i = 0; i < 5; ++i) {
        auto r = c.request("GET", "/x?i=" + std::to_string(i));
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.body, R"({"path":"/x","bytes":0})");
        EXPECT_FALSE(r.header("x-request-id").empty());
    }
}

TEST(HttpServer, RequestsOnOneConnectionDoNotInheritEachOthersParts) {
    TestServer s;
    testkit::HttpClient c(s.port);
    EXPECT_EQ(c.request("POST", "/echo?a=1", "body", {{"X-Foo", "bar"}}).body, "bar|a=1|body");
    EXPECT_EQ(c.request("GET", "/echo").body, "||");
    EXPECT_EQ(c.request("GET", "/echo?b", "", {{"X-Foo", "2"}}).body, "2|b|");
}

TEST(HttpServer, OversizedBodyGets413) {
    http::ServerOptions o;
    o.body_limit = 1024;
    TestServer s(o);
    testkit::HttpClient c(s.port);
    auto r = c.request("POST", "/x", std::string(4096, 'a'));
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
    EXPECT_NE(r.body.find("\"status\":413"), std::string::npos);
    testkit::HttpClient c2(s.port);
    EXPECT_EQ(c2.request("POST", "/x", std::string(1000, 'a')).status, 200);
}

TEST(HttpServer, OversizedHeadersGet431) {
    http::ServerOptions o;
    o.header_limit = 2048;
    TestServer s(o);
    testkit::HttpClient c(s.port);
    auto r = c.request("GET", "/x", "", {{"X-Big", std::string(4096, 'b')}});
    EXPECT_EQ(r.status, 431);
}

TEST(HttpServer, MalformedRequestGets400) {
    TestServer s;
    testkit::HttpClient c(s.port);
    auto r = c.raw("GARBAGE\r\n\r\n");
    EXPECT_EQ(r.status, 400);
}

TEST(HttpServer, IncomingRequestIdIsKeptWhenSaneAndReplacedWhenHostile) {
    TestServer s;
    testkit::HttpClient c(s.port);
    EXPECT_EQ(c.request("GET", "/x", "", {{"X-Request-Id", "abc-123"}}).header("x-request-id"), "abc-123");
    auto hostile = c.request("GET", "/x", "", {{"X-Request-Id", "a b\" level=error"}}).header("x-request-id");
    EXPECT_NE(hostile, "a b\" level=error");
    EXPECT_FALSE(hostile.empty());
}

TEST(HttpServer, GracefulShutdownLetsInFlightRequestFinish) {
    TestServer s;
    testkit::HttpClient idle(s.port);
    EXPECT_EQ(idle.request("GET", "/warm").status, 200);
    auto slow = std::async(std::launch::async, [&] {
        testkit::HttpClient c(s.port);
        return c.request("GET", "/slow");
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the slow request is now in flight
    s.shutdown_async();
    auto r = slow.get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"path":"/slow","bytes":0})");
    EXPECT_EQ(r.header("connection"), "close");
    // After shutdown nobody is accepted any more.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_THROW(testkit::HttpClient late(s.port), std::exception);
}

TEST(HttpServer, IdleConnectionIsClosedAfterTimeout) {
    http::ServerOptions o;
    o.idle_timeout = std::chrono::milliseconds(200);
    TestServer s(o);
    testkit::HttpClient c(s.port);
    EXPECT_EQ(c.request("GET", "/x").status, 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    EXPECT_ANY_THROW(c.request("GET", "/x"));
}
