// np::http::Server on real loopback sockets: keep-alive, limits, malformed input, graceful shutdown.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
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

}  // namespace

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
