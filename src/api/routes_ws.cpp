// WebSocket routes: the echo route (proxies check) and the browser console bridge
// (GET /api/v1/environments/{id}/nodes/{node}/console), both `websocket = true` routes whose handler
// checks the object and returns http::websocket_response(session).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/handlers.hpp"
#include "app/consoles.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"

namespace np::api {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

// One browser console: device bytes go to the browser as binary messages; the browser's binary messages
// are keystrokes (dropped in watch mode), its text messages JSON controls ({"type":"resize","cols":..,
// "rows":..}). Whichever side ends first ends the other; so does `idle` without a byte either way. The
// device is never stopped: only the console stream is closed.
class ConsoleBridge {
 public:
    ConsoleBridge(http::WebSocket& ws, app::Consoles::Session session, bool watch,
                  std::chrono::milliseconds idle, asio::any_io_executor ex)
        : ws_(ws), session_(std::move(session)), watch_(watch), idle_(idle), timer_(ex) {}

    asio::awaitable<void> run() {
        last_ = Clock::now();
        co_await (from_device() && from_browser() && watchdog());
        session_.stream->close();
    }

 private:
    void finish() {
        if (done_) return;
        done_ = true;
        session_.stream->close();  // ends a pending device read
        timer_.cancel();
    }

    asio::awaitable<void> from_device() {
        std::string buffer(16 * 1024, '\0');
        try {
            for (;;) {
                auto n = co_await session_.stream->read_some(std::span<char>(buffer.data(), buffer.size()));
                if (n == 0) break;
                last_ = Clock::now();
                if (!co_await ws_.write(buffer.substr(0, n), true)) break;
            }
        } catch (const std::exception& e) {
            log::debug("console.device_read", {{"error", e.what()}});
        }
        // Computed before co_await: GCC 12 destroys a temporary of a conditional inside co_await twice.
        std::uint16_t code = idle_out_ ? 4000 : 1000;
        std::string reason = "the console closed";
        if (idle_out_) reason = "console idle for " + std::to_string(idle_.count() / 1000) + " s";
        finish();
        co_await ws_.close(code, std::move(reason));
    }

    asio::awaitable<void> from_browser() {
        try {
            // No wake-up RETURN here: the node's shared device connection (app::ConsoleHub) sends one per
            // connection it makes, on the instance owning the lab (a relay must not send a second one: VPCS
            // drops a line arriving while it answers the first).
            while (auto message = co_await ws_.read()) {
                last_ = Clock::now();
                if (message->binary) {
                    if (!watch_ && !message->data.empty()) co_await session_.stream->write(message->data);
                } else {
                    control(message->data);
                }
            }
        } catch (const std::exception& e) {
            log::debug("console.device_write", {{"error", e.what()}});
        }
        finish();
    }

    // {"type":"resize","cols":C,"rows":R}; anything else is ignored (a newer client's message).
    void control(const std::string& text) {
        boost::system::error_code ec;
        auto v = json::parse(text, ec);
        if (ec || !v.is_object()) return;
        auto& o = v.as_object();
        auto* type = o.if_contains("type");
        if (!type || !type->is_string() || type->as_string() != "resize" || watch_) return;
        auto dim = [&](const char* key) -> int {
            auto* x = o.if_contains(key);
            if (!x || !x->is_int64() || x->as_int64() < 1 || x->as_int64() > 1000) return 0;
            return static_cast<int>(x->as_int64());
        };
        int cols = dim("cols"), rows = dim("rows");
        if (cols && rows)
            session_.stream->resize(static_cast<unsigned short>(rows), static_cast<unsigned short>(cols));
    }

    asio::awaitable<void> watchdog() {
        while (!done_) {
            timer_.expires_at(last_ + idle_);
            co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
            if (done_) break;
            if (Clock::now() >= last_ + idle_) {
                idle_out_ = true;
                finish();
            }
        }
    }

    http::WebSocket& ws_;
    app::Consoles::Session session_;
    bool watch_;
    std::chrono::milliseconds idle_;
    asio::steady_timer timer_;
    Clock::time_point last_;
    bool done_ = false;
    bool idle_out_ = false;
};

asio::awaitable<void> bridge(http::WebSocket& ws, std::shared_ptr<app::Consoles::Session> session, bool watch,
                             std::chrono::milliseconds idle) {
    ConsoleBridge b(ws, std::move(*session), watch, idle, co_await asio::this_coro::executor);
    co_await b.run();
}

Route console_route(ApiDeps& d) {
    Route r{
        http::Method::get,
        "/api/v1/environments/{id}/nodes/{node}/console",
        Policy::student_own,
        "environments",
        "A device's console as a WebSocket: binary messages both ways (what the device prints; keystrokes), "
        "text messages for controls ({\"type\":\"resize\",\"cols\":C,\"rows\":R}). Telnet negotiation is "
        "done by the server. Students open their own environments; teachers any, and mode=watch is "
        "read-only. Closed after consoles.idle_timeout without a byte either way; at most "
        "consoles.max_per_user at once (429). Closing it never stops the device. A lab living on another "
        "instance is reached through it (503 naming it when it is gone).",
        {},
        {{"mode", "string", false, "interactive (default) | watch (read-only)"}},
        101,
        [&d](Context& ctx) -> asio::awaitable<http::Response> {
            auto mode = query_or(ctx, "mode", "interactive");
            if (mode != "interactive" && mode != "watch")
                throw core::invalid("unknown console mode", {{"mode", "must be interactive or watch"}});
            auto id = ctx.param("id");
            auto env = co_await d.pool.run([&] { return d.store.get_environment(id); });
            if (!env) throw core::not_found("no such object");
            ctx.require_owner(env->student_id);
            if (!d.consoles) throw core::unavailable("consoles are not available on this server");
            // A lab on another instance is opened there, as this caller (the same token it was accepted
            // with).
            app::Consoles::Forward forward;
            forward.mode = mode;
            auto authz = ctx.request.header("authorization");
            if (authz.size() > 7 && (authz.starts_with("Bearer ") || authz.starts_with("bearer ")))
                forward.token = std::string(authz.substr(7));
            else if (auto cookie = ctx.request.cookie("np_session"))
                forward.token = *cookie;
            auto session = co_await d.consoles->open(*env, ctx.param("node"), ctx.caller->user_id, forward);
            log::info("console.open", {{"environment", id},
                                       {"node", ctx.param("node")},
                                       {"user", ctx.caller->user_id},
                                       {"mode", mode}});
            auto shared = std::make_shared<app::Consoles::Session>(std::move(session));
            auto idle = d.consoles->options().idle_timeout;
            bool watch = mode == "watch";
            co_return http::websocket_response(
                [shared, idle, watch](http::WebSocket& ws) { return bridge(ws, shared, watch, idle); });
        }};
    r.websocket = true;
    return r;
}

}  // namespace

void add_websocket_routes(Router& r, ApiDeps& d) {
    Route echo{
        http::Method::get,
        "/api/v1/ws/echo",
        Policy::authenticated,
        "system",
        "WebSocket echo: every text or binary message comes back as it was sent. For clients to check "
        "that WebSockets reach the server through proxies (the same authentication, Origin check and "
        "limits as the consoles).",
        {},
        {},
        101,
        [](Context&) -> boost::asio::awaitable<http::Response> {
            co_return http::websocket_response([](http::WebSocket& ws) -> boost::asio::awaitable<void> {
                while (auto message = co_await ws.read())
                    if (!co_await ws.write(std::move(message->data), message->binary)) break;
            });
        }};
    echo.websocket = true;
    r.add(std::move(echo));
    r.add(console_route(d));
}

}  // namespace np::api
