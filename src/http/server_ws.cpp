// WebSocket sessions of the server (Server::Impl, server_impl.hpp): the upgrade (Beast writes the 101 with
// our headers), Beast's websocket stream over the connection with its timeouts and pings, and the close
// handshake, which server shutdown can start (1001) while the handler reads or writes.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <optional>

#include "core/error.hpp"
#include "core/log.hpp"
#include "http/server_impl.hpp"

namespace np::http {

namespace websocket = boost::beast::websocket;

namespace {

// One accepted WebSocket: Beast's stream over the connection's tcp_stream, and the bookkeeping that
// lets the server close it (1001 at shutdown) while the handler may be reading or writing. Beast
// allows one read and one write (a close is a write) in flight at once: a close asked for during a
// write waits for that write to finish.
template <class Stream>
class WsSession final : public WebSocket, public Server::Impl::Closable {
 public:
    WsSession(Server::Impl& impl, Stream& s) : impl_(impl), ws_(s), close_done_(impl.executor) {}
    websocket::stream<Stream&>& stream() { return ws_; }
    bool over() const { return over_ || closing_; }

    asio::awaitable<std::optional<WsMessage>> read() override {
        if (over_) co_return std::nullopt;
        beast::flat_buffer buffer;
        auto [ec, n] = co_await ws_.async_read(buffer, use_nothrow);
        if (ec) {
            over_ = true;
            co_return std::nullopt;
        }
        co_return WsMessage{beast::buffers_to_string(buffer.data()), ws_.got_binary()};
    }

    asio::awaitable<bool> write(std::string data, bool binary) override {
        if (over()) co_return false;
        if (writing_) throw core::internal("two WebSocket writes at once on one session");
        writing_ = true;
        ws_.binary(binary);
        auto [ec, n] = co_await ws_.async_write(asio::buffer(data), use_nothrow);
        writing_ = false;
        if (ec) over_ = true;
        if (pending_close_ && !over()) request_close(pending_close_, std::move(pending_reason_));
        co_return !ec && !over();
    }

    asio::awaitable<void> close(std::uint16_t code, std::string reason) override {
        if (over()) co_return;
        if (writing_) {  // the write in flight closes when it is done
            pending_close_ = code;
            pending_reason_ = reason;
            co_return;
        }
        closing_ = true;
        ++closes_in_flight_;
        // A copy, not a move: clang-tidy 14 reads a move in a coroutine as unsequenced with its co_returns.
        co_await do_close(code, reason);
    }

    std::uint16_t peer_close_code() const override { return ws_.reason().code; }

    // From outside the handler (server shutdown): starts the close handshake without waiting for it.
    void request_close(std::uint16_t code, std::string reason) override {
        if (over()) return;
        if (writing_) {
            pending_close_ = code;
            pending_reason_ = std::move(reason);
            return;
        }
        closing_ = true;
        ++closes_in_flight_;  // counted now: the session waits for it before this object goes away
        asio::co_spawn(impl_.executor, do_close(code, std::move(reason)), asio::detached);
    }

    // Waits until no close handshake started here is still running.
    asio::awaitable<void> settle() {
        while (closes_in_flight_ > 0) {
            close_done_.expires_at(asio::steady_timer::time_point::max());
            co_await close_done_.async_wait(use_nothrow);
        }
    }

 private:
    asio::awaitable<void> do_close(std::uint16_t code, std::string reason) {
        websocket::close_reason why(code);
        why.reason = reason;
        co_await ws_.async_close(why, use_nothrow);  // sends ours, waits for theirs (handshake timeout)
        over_ = true;
        --closes_in_flight_;
        close_done_.cancel();
    }

    Server::Impl& impl_;
    websocket::stream<Stream&> ws_;
    asio::steady_timer close_done_;
    bool writing_ = false, closing_ = false, over_ = false;
    int closes_in_flight_ = 0;
    std::uint16_t pending_close_ = 0;
    std::string pending_reason_;
};

}  // namespace

// Accepts the upgrade (Beast writes the 101) and runs the handler's session on this connection.
// Returns false: the connection ends with the session.
template <class Stream>
asio::awaitable<bool> Server::Impl::run_websocket(Stream& stream, const BeastRequest& msg, const Request& req,
                                                  const Response& res, Session& me) {
    // The websocket stream's own timeouts take over (Beast's documented advice).
    beast::get_lowest_layer(stream).expires_never();
    WsSession<Stream> ws(*this, stream);
    auto& s = ws.stream();
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = options.write_timeout;  // the 101 and, later, the close handshake
    timeouts.idle_timeout = options.ws_idle_timeout;     // pings at half of it; no answer: dropped
    timeouts.keep_alive_pings = true;
    s.set_option(timeouts);
    s.read_message_max(options.ws_max_message);
    // The 101 carries the request id, the browser security headers and the handler's own headers
    // (e.g. Sec-WebSocket-Protocol), each checked like serialize_head does.
    s.set_option(websocket::stream_base::decorator(
        [rid = req.request_id, headers = res.headers](websocket::response_type& r) {
            r.set("X-Request-Id", rid);
            for (auto [k, v] : kBrowserHeaders) r.set(k, v);
            r.set("Content-Security-Policy", kDefaultCsp);
            for (const auto& [k, v] : headers)
                if (!k.empty() && safe_field(k) && safe_field(v)) r.set(k, v);
        }));
    auto [ec] = co_await s.async_accept(msg, use_nothrow);
    if (ec) {
        log::info("http.websocket_refused", {{"rid", req.request_id}, {"error", ec.message()}});
        co_return false;
    }
    --busy;
    me.state = State::websocket;
    me.ws = &ws;
    ++websockets;
    if (stopping) {  // shutdown began during the handshake
        co_await ws.close(1001, "server shutting down");
    } else {
        std::uint16_t code = 1000;
        try {
            co_await res.websocket(ws);
        } catch (const std::exception& e) {
            log::error("http.websocket_failed", {{"rid", req.request_id}, {"error", e.what()}});
            code = 1011;  // internal error
        }
        if (!ws.over()) co_await ws.close(code, {});
    }
    co_await ws.settle();
    me.ws = nullptr;
    --websockets;
    // Unread bytes (the rest of an oversized message) would make closing now reset the connection, and
    // the peer could lose our close frame: stop sending and drain briefly first.
    co_await linger(beast::get_lowest_layer(stream));
    co_return false;
}

template asio::awaitable<bool> Server::Impl::run_websocket<beast::tcp_stream>(beast::tcp_stream&,
                                                                              const BeastRequest&,
                                                                              const Request&, const Response&,
                                                                              Session&);
template asio::awaitable<bool> Server::Impl::run_websocket<TlsStream>(TlsStream&, const BeastRequest&,
                                                                      const Request&, const Response&,
                                                                      Session&);

}  // namespace np::http
