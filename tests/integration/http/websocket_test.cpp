// WebSocket sessions on http::Server: the upgrade, echo of text and binary, refusals without upgrade, the
// idle timeout, the message size limit, and shutdown closing sessions with 1001. Tests wait for
// conditions (the server's own counters, read on its loop), never for fixed times.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "http/server.hpp"
#include "http_client.hpp"
#include "ws_client.hpp"

using namespace np;
namespace asio = boost::asio;
namespace websocket = boost::beast::websocket;
using testkit::WsClient;

namespace {

struct WsServer {
    asio::io_context ioc;
    // Keeps run() going after a shutdown has ended every session, so on_loop can still read the counters.
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    std::unique_ptr<http::Server> server;
    std::uint16_t port = 0;
    std::thread thread;

    explicit WsServer(http::ServerOptions opts = {}) {
        opts.port = 0;
        opts.access_log = false;
        server = std::make_unique<http::Server>(
            ioc.get_executor(), opts, [](http::Request& req) -> asio::awaitable<http::Response> {
                if (req.path == "/ws")
                    co_return http::websocket_response([](http::WebSocket& ws) -> asio::awaitable<void> {
                        while (auto m = co_await ws.read())
                            if (!co_await ws.write(std::move(m->data), m->binary)) break;
                    });
                if (req.path == "/ws-refused") {  // what the API answers when a check fails
                    auto r = http::json_response(403, R"({"title":"Forbidden"})");
                    r.content_type = "application/problem+json";
                    co_return r;
                }
                co_return http::json_response(200, req.websocket ? R"({"upgrade":true})" : "{}");
            });
        port = server->listen();
        server->start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~WsServer() {
        ioc.stop();
        thread.join();
    }
    // Reads the server's state on its own thread.
    template <class F>
    auto on_loop(F f) {
        std::promise<decltype(f())> p;
        asio::post(ioc, [&] { p.set_value(f()); });
        return p.get_future().get();
    }
    bool wait_for(const std::function<bool()>& condition,
                  std::chrono::seconds limit = std::chrono::seconds(20)) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (!on_loop(condition)) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        return true;
    }
};

}  // namespace

TEST(WebSocket, EchoesTextAndBinaryMessages) {
    WsServer s;
    WsClient c(s.port, "/ws");
    ASSERT_TRUE(c.open()) << c.handshake_error.message();
    EXPECT_EQ(c.status(), 101);
    EXPECT_EQ(c.response["X-Content-Type-Options"], "nosniff");  // the browser headers, on the 101 too
    EXPECT_FALSE(c.response["X-Request-Id"].empty());
    EXPECT_TRUE(s.wait_for([&] { return s.server->websockets() == 1; }));
    boost::system::error_code ec;
    ASSERT_TRUE(c.send("hello"));
    auto [text, text_binary] = c.receive(ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(text, "hello");
    EXPECT_FALSE(text_binary);
    std::string bytes("\x00\x01\xff\x80zz", 6);
    ASSERT_TRUE(c.send(bytes, true));
    auto [echoed, binary] = c.receive(ec);
    EXPECT_EQ(echoed, bytes);
    EXPECT_TRUE(binary);
    c.ws.close(websocket::close_code::normal, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_TRUE(s.wait_for([&] { return s.server->websockets() == 0 && s.server->connections() == 0; }));
}

TEST(WebSocket, RefusalsAreOrdinaryResponsesWithoutUpgrade) {
    WsServer s;
    WsClient refused(s.port, "/ws-refused");
    EXPECT_FALSE(refused.open());
    EXPECT_EQ(refused.status(), 403);
    EXPECT_EQ(refused.response["Content-Type"], "application/problem+json");
    // An upgrade request to a plain resource gets the plain answer (the server may ignore Upgrade).
    WsClient plain(s.port, "/other");
    EXPECT_FALSE(plain.open());
    EXPECT_EQ(plain.status(), 200);
    // A session offered to a plain GET is not written as a bogus 101.
    EXPECT_EQ(testkit::HttpClient(s.port).request("GET", "/ws").status, 426);
    EXPECT_EQ(s.on_loop([&] { return s.server->websockets(); }), 0u);
}

TEST(WebSocket, IdleTimeoutDropsASilentPeer) {
    http::ServerOptions o;
    o.ws_idle_timeout = std::chrono::milliseconds(300);
    WsServer s(o);
    WsClient c(s.port, "/ws");
    ASSERT_TRUE(c.open());
    // Read the raw socket, so the server's keep-alive ping gets no pong: it pings, then drops us.
    auto started = std::chrono::steady_clock::now();
    std::string raw;
    char buf[256];
    boost::system::error_code ec;
    while (!ec) {
        std::size_t n = 0;  // bounded by the client's timeout (Asio ignores SO_RCVTIMEO)
        ec = c.bounded([&](auto done) {
            c.ws.next_layer().async_read_some(asio::buffer(buf), [&n, done](auto e, std::size_t got) {
                n = got;
                done(e);
            });
        });
        raw.append(buf, n);
    }
    auto waited = std::chrono::steady_clock::now() - started;
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    EXPECT_GE(waited, std::chrono::milliseconds(250));
    ASSERT_FALSE(raw.empty());
    EXPECT_EQ(static_cast<unsigned char>(raw[0]), 0x89);  // FIN + ping
    EXPECT_TRUE(s.wait_for([&] { return s.server->websockets() == 0; }));
}

TEST(WebSocket, APeerThatAnswersPingsStaysPastTheIdleTimeout) {
    http::ServerOptions o;
    o.ws_idle_timeout = std::chrono::milliseconds(200);
    WsServer s(o);
    WsClient c(s.port, "/ws");
    ASSERT_TRUE(c.open());
    // Asynchronous client: its pending read answers pings; after the third ping (well past the timeout)
    // it sends a message, which comes back.
    int pings = 0;
    bool sent = false;
    c.ws.control_callback([&](websocket::frame_type kind, boost::beast::string_view) {
        if (kind == websocket::frame_type::ping && ++pings == 3 && !sent) {
            sent = true;
            c.ws.async_write(asio::buffer(std::string_view("still here")), [](auto, auto) {});
        }
    });
    boost::beast::flat_buffer buffer;
    boost::system::error_code read_ec = asio::error::would_block;
    c.ws.async_read(buffer, [&](boost::system::error_code ec, std::size_t) { read_ec = ec; });
    c.io.run_for(std::chrono::seconds(20));
    EXPECT_FALSE(read_ec) << read_ec.message();
    EXPECT_EQ(boost::beast::buffers_to_string(buffer.data()), "still here");
    EXPECT_GE(pings, 3);
}

TEST(WebSocket, AnOversizedMessageClosesWith1009) {
    http::ServerOptions o;
    o.ws_max_message = 1024;
    WsServer s(o);
    WsClient c(s.port, "/ws");
    ASSERT_TRUE(c.open());
    boost::system::error_code ec;
    ASSERT_TRUE(c.send(std::string(1000, 'a')));
    EXPECT_EQ(c.receive(ec).first.size(), 1000u);
    bool sent = c.send(std::string(4096, 'b'));
    c.receive(ec);
    EXPECT_TRUE(sent);
    // The session ended with the server's close frame (1009). Beast's client then answers it; that reply
    // may meet a connection the server already shut down (closed, or EPIPE): either way the reason came.
    EXPECT_TRUE(ec);
    EXPECT_EQ(c.ws.reason().code, websocket::close_code::too_big) << ec.message();
}

TEST(WebSocket, ShutdownClosesSessionsWithGoingAway) {
    WsServer s;
    WsClient a(s.port, "/ws"), b(s.port, "/ws");
    ASSERT_TRUE(a.open());
    ASSERT_TRUE(b.open());
    ASSERT_TRUE(s.wait_for([&] { return s.server->websockets() == 2; }));
    std::promise<void> done;
    asio::co_spawn(
        s.ioc,
        [&]() -> asio::awaitable<void> {
            co_await s.server->shutdown();
            done.set_value();
        },
        asio::detached);
    for (auto* c : {&a, &b}) {
        boost::system::error_code ec;
        c->receive(ec);
        EXPECT_EQ(ec, websocket::error::closed) << ec.message();
        EXPECT_EQ(c->ws.reason().code, websocket::close_code::going_away);
    }
    // The close handshakes complete, so shutdown ends well before its grace period.
    EXPECT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    EXPECT_EQ(s.on_loop([&] { return s.server->connections(); }), 0u);
}
