#include "http/server.hpp"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <charconv>
#include <list>
#include <type_traits>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"

namespace np::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
// A connection is plain TCP, or TLS over it (ServerOptions::tls_cert_file): the code below is written once
// for both, over `Stream`; timeouts and sockets are the TCP layer's (beast::get_lowest_layer).
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;

namespace {

Method to_method(bhttp::verb v) {
    switch (v) {
        case bhttp::verb::get: return Method::get;
        case bhttp::verb::head: return Method::head;
        case bhttp::verb::post: return Method::post;
        case bhttp::verb::put: return Method::put;
        case bhttp::verb::patch: return Method::patch;
        case bhttp::verb::delete_: return Method::del;
        case bhttp::verb::options: return Method::options;
        default: return Method::other;
    }
}

bool valid_request_id(std::string_view id) {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

std::string problem_body(int status, std::string_view title, std::string_view detail, std::string_view rid) {
    // Minimal problem JSON for failures that happen before a request reaches the API layer.
    // title/detail here are fixed strings of ours: no escaping needed beyond the request id, which is
    // validated.
    std::string out = R"({"type":"about:blank","title":")";
    out.append(title).append(R"(","status":)").append(std::to_string(status));
    out.append(R"(,"detail":")").append(detail).append(R"(","request_id":")").append(rid).append("\"}");
    return out;
}

bool safe_field(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The browser security headers of every response (docs/SECURITY.md): written by serialize_head and, for
// an accepted WebSocket upgrade, by the 101 response's decorator. API answers are data, never a page:
// nothing may run, load or frame them.
constexpr std::pair<std::string_view, std::string_view> kBrowserHeaders[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};
constexpr std::string_view kDefaultCsp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";

const std::string& browser_header_block() {
    static const std::string block = [] {
        std::string b;
        for (auto [k, v] : kBrowserHeaders) b.append(k).append(": ").append(v).append("\r\n");
        return b;
    }();
    return block;
}

void append_decimal(std::string& out, std::size_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
}

// The status line and header fields of every response (plain, streamed, early rejections), written by
// hand into a buffer the connection reuses.
// Why not Beast's serializer: our responses are a status line, a few fields and one contiguous body, and
// going through a Beast message costs an allocation per field plus the generic buffer-sequence machinery
// of its serializer — about a fifth of the user CPU of GET /api/v1/me (perf, scripts/bench-api.sh).
// Parsing stays with Beast. Field names and values come from our handlers; one holding CR, LF or NUL
// would split the response, so it is dropped and logged.
void serialize_head(std::string& head, const Response& res, std::string_view request_id, unsigned version,
                    bool keep_alive) {
    head.clear();
    head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    append_decimal(head, static_cast<std::size_t>(res.status));
    head.push_back(' ');
    head.append(bhttp::obsolete_reason(static_cast<bhttp::status>(res.status)));
    head.append("\r\n");
    if (!res.content_type.empty())
        head.append("Content-Type: ").append(res.content_type.view()).append("\r\n");
    head.append("X-Request-Id: ").append(request_id).append("\r\n");
    bool own_csp = false;
    for (const auto& [k, v] : res.headers) {
        if (!safe_field(k) || !safe_field(v) || k.empty()) {
            log::error("http.bad_header", {{"rid", request_id}, {"name", k}});
            continue;
        }
        own_csp = own_csp || beast::iequals(k, "content-security-policy");
        head.append(k).append(": ").append(v).append("\r\n");
    }
    // The one place for browser security headers: on every response, early rejections included. A
    // handler that serves a page (the web app) sets its own Content-Security-Policy, which replaces the
    // default one.
    head.append(browser_header_block());
    if (!own_csp) head.append("Content-Security-Policy: ").append(kDefaultCsp).append("\r\n");
    if (res.stream) {  // SSE: chunks as they come, never cached
        head.append("Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n");
    } else if (res.status != 204 && res.status != 304 && res.status >= 200) {
        head.append("Content-Length: ");
        append_decimal(head, res.body.size());
        head.append("\r\n");
    }
    if (version >= 11 && !keep_alive)
        head.append("Connection: close\r\n");
    else if (version < 11 && keep_alive)
        head.append("Connection: keep-alive\r\n");
    head.append("\r\n");
}

// Converts Beast's message into our Request, reusing the capacity `req` kept from the connection's
// previous request (header strings, the header vector): no allocation per request in the common case.
void fill_request(Request& req, bhttp::request<bhttp::string_body>& msg, const std::string& remote) {
    req.method = to_method(msg.method());
    req.target.assign(msg.target());
    auto q = req.target.find('?');
    std::string_view raw_path = std::string_view(req.target).substr(0, q);
    if (q != std::string::npos)
        req.query.assign(req.target, q + 1);
    else
        req.query.clear();
    if (!percent_decode(raw_path, req.path, false)) req.path.assign(raw_path);
    std::size_t n = 0;
    for (const auto& f : msg) {
        if (n == req.headers.size()) req.headers.emplace_back();
        auto& [name, value] = req.headers[n++];
        name.assign(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        value.assign(f.value());
    }
    req.headers.resize(n);
    req.body = std::move(msg.body());
    req.remote_address = remote;
    auto incoming_id = msg["X-Request-Id"];
    if (valid_request_id(incoming_id))
        req.request_id.assign(incoming_id);
    else
        req.request_id = core::new_request_id();
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    enum class State { idle, busy, streaming, websocket };
    // What shutdown needs of a WebSocket session, whatever its stream.
    class Closable {
     public:
        virtual void request_close(std::uint16_t code, std::string reason) = 0;

     protected:
        ~Closable() = default;
    };
    struct Session {
        beast::tcp_stream* stream;  // the TCP layer (of the TLS stream, behind TLS)
        State state = State::idle;
        Closable* ws = nullptr;  // while state == websocket
    };

    asio::any_io_executor executor;
    ServerOptions options;
    Handler handler;
    std::unique_ptr<ssl::context> tls;  // set by listen() when options.tls_cert_file is
    tcp::acceptor acceptor;
    std::list<Session> sessions;
    bool stopping = false;
    std::size_t busy = 0;
    std::size_t websockets = 0;
    asio::steady_timer drained;  // cancelled whenever a session ends during shutdown

    Impl(asio::any_io_executor ex, ServerOptions opts, Handler h)
        : executor(ex), options(std::move(opts)), handler(std::move(h)), acceptor(ex), drained(ex) {}

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
            if (stopping) co_return;
            if (ec) {
                if (ec == asio::error::operation_aborted) co_return;
                // Out of file descriptors and similar: back off instead of spinning (Asio examples).
                log::warn("http.accept_failed", {{"error", ec.message()}});
                asio::steady_timer t(executor, std::chrono::milliseconds(100));
                co_await t.async_wait(use_nothrow);
                continue;
            }
            socket.set_option(tcp::no_delay(true));
            // Asio accepts without SOCK_CLOEXEC: a connection must not live on in a program we run.
            ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
            asio::co_spawn(executor, session(std::move(socket)), asio::detached);
        }
    }

    template <class Stream>
    class ChunkWriter final : public StreamWriter {
     public:
        ChunkWriter(Impl& impl, Stream& s) : impl_(impl), stream_(s) {}
        asio::awaitable<bool> write(std::string data) override {
            if (failed_ || impl_.stopping) co_return false;
            beast::get_lowest_layer(stream_).expires_after(impl_.options.write_timeout);
            auto [ec, n] =
                co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(data)), use_nothrow);
            if (ec) failed_ = true;
            co_return !ec;
        }
        bool failed() const { return failed_; }

     private:
        Impl& impl_;
        Stream& stream_;
        bool failed_ = false;
    };

    // One accepted WebSocket: Beast's stream over the connection's tcp_stream, and the bookkeeping that
    // lets the server close it (1001 at shutdown) while the handler may be reading or writing. Beast
    // allows one read and one write (a close is a write) in flight at once: a close asked for during a
    // write waits for that write to finish.
    template <class Stream>
    class WsSession final : public WebSocket, public Closable {
     public:
        WsSession(Impl& impl, Stream& s) : impl_(impl), ws_(s), close_done_(impl.executor) {}
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
                pending_reason_ = reason;  // a copy: clang-tidy reads the move below as use-after-move
                co_return;
            }
            closing_ = true;
            ++closes_in_flight_;
            co_await do_close(code, std::move(reason));
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

        Impl& impl_;
        websocket::stream<Stream&> ws_;
        asio::steady_timer close_done_;
        bool writing_ = false, closing_ = false, over_ = false;
        int closes_in_flight_ = 0;
        std::uint16_t pending_close_ = 0;
        std::string pending_reason_;
    };

    // Accepts the upgrade (Beast writes the 101) and runs the handler's session on this connection.
    // Returns false: the connection ends with the session.
    template <class Stream>
    asio::awaitable<bool> run_websocket(Stream& stream, const bhttp::request<bhttp::string_body>& msg,
                                        const Request& req, const Response& res, Session& me) {
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

    asio::awaitable<void> session(tcp::socket socket) {
        auto self = shared_from_this();
        if (tls) {
            TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
            co_await run_session(stream);
        } else {
            beast::tcp_stream stream(std::move(socket));
            co_await run_session(stream);
        }
    }

    template <class Stream>
    asio::awaitable<void> run_session(Stream& stream) {
        auto& tcp_layer = beast::get_lowest_layer(stream);
        auto it = sessions.insert(sessions.end(), Session{&tcp_layer});
        beast::flat_buffer buffer;
        std::string remote;
        {
            beast::error_code ec;
            auto ep = tcp_layer.socket().remote_endpoint(ec);
            if (!ec) remote = ep.address().to_string();
        }
        try {
            bool ready = true;
            if constexpr (kIsTls<Stream>) {  // (an idle session: shutdown cancels a handshake in progress)
                tcp_layer.expires_after(options.read_timeout);
                auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
                if (ec) log::info("http.tls_handshake_failed", {{"remote", remote}, {"error", ec.message()}});
                ready = !ec;
            }
            if (ready) co_await serve_connection(stream, buffer, remote, *it);
        } catch (const std::exception& e) {
            log::error("http.session_failed", {{"error", e.what()}});
        }
        if (it->state == State::busy) --busy;
        sessions.erase(it);
        beast::error_code ec;
        tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ec);
        tcp_layer.close();
        if (stopping) drained.cancel();
    }

    template <class Stream>
    asio::awaitable<void> serve_connection(Stream& stream, beast::flat_buffer& buffer,
                                           const std::string& remote, Session& me) {
        std::string head;  // response head buffer, reused by every request of the connection
        Request req;       // refilled per request, keeping its strings' capacity
        for (;;) {
            me.state = State::idle;
            if (stopping) co_return;
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
            parser.body_limit(std::max(options.body_limit, options.upload_limit));

            beast::get_lowest_layer(stream).expires_after(options.idle_timeout);
            auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, use_nothrow);
            if (ec) {
                if (ec == bhttp::error::header_limit)
                    co_await write_simple(stream, 431, "Request header fields too large",
                                          "the request headers exceed the server's limit", false);
                else if (ec == bhttp::error::body_limit) {  // Content-Length already says too much
                    co_await write_simple(stream, 413, "Payload too large",
                                          "the request body exceeds the server's limit", false);
                    co_await linger(beast::get_lowest_layer(stream));
                } else if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
                           ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                           ec != asio::error::eof && !stopping)
                    co_await write_simple(stream, 400, "Bad request", "malformed HTTP request", false);
                co_return;
            }
            me.state = State::busy;
            ++busy;
            auto started = std::chrono::steady_clock::now();

            auto& hdr = parser.get();
            std::size_t body_limit = options.body_limit;
            if (options.body_limit_for) {
                auto verb = hdr.method();
                Method m = verb == bhttp::verb::put    ? Method::put
                           : verb == bhttp::verb::post ? Method::post
                                                       : Method::other;
                if (auto special = options.body_limit_for(m, std::string_view(hdr.target())))
                    body_limit = special;
            }
            parser.body_limit(body_limit);
            if (auto len = parser.content_length(); len && *len > body_limit) {  // said up front: answer now
                const std::string detail =
                    "the request body exceeds this route's limit of " + std::to_string(body_limit) + " bytes";
                co_await write_simple(stream, 413, "Payload too large", detail, false);
                co_await linger(beast::get_lowest_layer(stream));
                co_return;
            }
            if (hdr[bhttp::field::expect] == "100-continue") {  // (a body over the limit was refused above)
                // (a named local: GCC 12 mishandles conditional temporaries inside co_await arguments)
                std::string_view cont =
                    hdr.version() == 10 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n";
                co_await write_all(stream, cont, {});
            }
            if (!parser.is_done()) {
                beast::get_lowest_layer(stream).expires_after(options.read_timeout);
                auto [ec2, n2] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
                if (ec2) {
                    if (ec2 == bhttp::error::body_limit) {
                        co_await write_simple(stream, 413, "Payload too large",
                                              "the request body exceeds the server's limit", false);
                        co_await linger(beast::get_lowest_layer(stream));
                    } else if (ec2 != bhttp::error::end_of_stream && ec2 != bhttp::error::partial_message &&
                               ec2 != beast::error::timeout && ec2 != asio::error::operation_aborted &&
                               ec2 != asio::error::connection_reset && ec2 != asio::error::eof && !stopping) {
                        // A body that does not parse (a bad chunk size, a broken chunk extension): say so.
                        std::string detail = "malformed request body: " + ec2.message();
                        co_await write_simple(stream, 400, "Bad request", detail, false);
                        co_await linger(beast::get_lowest_layer(stream));
                    }
                    co_return;
                }
            }

            auto msg = parser.release();
            fill_request(req, msg, remote);
            req.websocket = websocket::is_upgrade(msg);
            req.tls = kIsTls<Stream>;
            bool keep_alive = msg.keep_alive();

            Response res;
            try {
                res = co_await handler(req);
            } catch (const std::exception& e) {
                log::error("http.handler_failed", {{"rid", req.request_id}, {"error", e.what()}});
                res = json_response(
                    500, problem_body(500, "Internal error", "the server failed to handle the request",
                                      req.request_id));
                res.content_type = "application/problem+json";
            }
            keep_alive = keep_alive && !stopping;
            if (res.websocket && (!req.websocket || stopping)) {
                // A session offered to a plain request (a handler's mistake), or an upgrade while closing.
                int status = stopping ? 503 : 426;
                res = json_response(
                    status, problem_body(status, stopping ? "Service unavailable" : "Upgrade required",
                                         stopping ? "the server is shutting down"
                                                  : "this resource is a WebSocket: send an upgrade request",
                                         req.request_id));
                res.content_type = "application/problem+json";
            }

            bool ok = false;  // (if/else, not nested conditionals around co_await: GCC 12, see above)
            if (res.websocket)
                ok = co_await run_websocket(stream, msg, req, res, me);
            else if (res.stream)
                ok = co_await write_stream(stream, req, res, me);
            else
                ok = co_await write_response(stream, req, res, msg.version(), keep_alive, head);
            if (options.access_log && log::enabled(log::Level::info)) {  // no field strings when muted
                auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::steady_clock::now() - started)
                              .count();
                log::info("http.request", {{"rid", req.request_id},
                                           {"method", method_name(req.method)},
                                           {"path", req.path},
                                           {"status", res.status},
                                           {"us", us},
                                           {"remote", remote}});
            }
            if (me.state == State::busy) --busy;
            me.state = State::idle;
            if (stopping) drained.cancel();
            if (!ok || !keep_alive || res.stream) co_return;
        }
    }

    template <class Stream>
    asio::awaitable<bool> write_response(Stream& stream, const Request& req, const Response& res,
                                         unsigned version, bool keep_alive, std::string& head) {
        bool has_body = req.method != Method::head && res.status != 204 && res.status != 304;
        serialize_head(head, res, req.request_id, version, keep_alive);
        std::string_view body;  // (not a conditional inside the co_await: GCC 12, see above)
        if (has_body) body = res.body;
        co_return co_await write_all(stream, head, body);
    }

    // The head and body in one gather write, under the write timeout.
    template <class Stream>
    asio::awaitable<bool> write_all(Stream& stream, std::string_view head, std::string_view body) {
        beast::get_lowest_layer(stream).expires_after(options.write_timeout);
        std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(body)};
        auto [ec, n] = co_await asio::async_write(stream, wire, use_nothrow);
        co_return !ec;
    }

    template <class Stream>
    asio::awaitable<bool> write_stream(Stream& stream, const Request& req, Response& res, Session& me) {
        std::string head;
        serialize_head(head, res, req.request_id, 11, true);
        if (!co_await write_all(stream, head, {})) co_return false;
        if (req.method == Method::head) co_return false;  // the head of the stream, no body; then close
        --busy;
        me.state = State::streaming;
        ChunkWriter<Stream> writer(*this, stream);
        co_await res.stream(writer);
        if (!writer.failed()) {
            beast::get_lowest_layer(stream).expires_after(options.write_timeout);
            co_await asio::async_write(stream, bhttp::make_chunk_last(), use_nothrow);
        }
        co_return false;
    }

    // Lingering close (as nginx does): after answering early, stop sending and discard what the client is
    // still uploading for a moment, so closing does not reset the connection before it reads our answer.
    // (On the TCP layer: behind TLS the discarded bytes need no decrypting.)
    asio::awaitable<void> linger(beast::tcp_stream& stream) {
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        static char discard[16384];
        std::size_t total = 0;
        stream.expires_after(std::chrono::seconds(2));
        while (total < 8 * std::max(options.body_limit, options.upload_limit) + (1 << 20)) {
            auto [rec, n] = co_await stream.async_read_some(asio::buffer(discard), use_nothrow);
            if (rec) break;
            total += n;
        }
    }

    template <class Stream>
    asio::awaitable<void> write_simple(Stream& stream, int status, std::string_view title,
                                       std::string_view detail, bool keep_alive) {
        auto rid = core::new_request_id();
        Response res = json_response(status, problem_body(status, title, detail, rid));
        res.content_type = "application/problem+json";
        std::string head;
        serialize_head(head, res, rid, 11, keep_alive);
        co_await write_all(stream, head, res.body);
        log::info("http.rejected", {{"rid", rid}, {"status", status}, {"detail", detail}});
    }
};

Server::Server(asio::any_io_executor executor, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(executor, std::move(options), std::move(handler))) {}

Server::~Server() {
    beast::error_code ec;
    impl_->acceptor.close(ec);
}

std::uint16_t Server::listen() {
    const auto& o = impl_->options;
    if (o.tls_cert_file.empty() != o.tls_key_file.empty())
        throw core::invalid("server.tls needs both cert and key (PEM files), or neither");
    if (!o.tls_cert_file.empty()) {
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
        beast::error_code tec;
        ctx->use_certificate_chain_file(o.tls_cert_file, tec);
        if (tec)
            throw core::invalid("server.tls.cert '" + o.tls_cert_file +
                                "' is not a readable PEM certificate: " + tec.message());
        ctx->use_private_key_file(o.tls_key_file, ssl::context::pem, tec);
        if (tec)
            throw core::invalid("server.tls.key '" + o.tls_key_file +
                                "' is not a readable PEM private key of the certificate: " + tec.message());
        impl_->tls = std::move(ctx);
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(impl_->options.address, ec);
    if (ec) throw core::invalid("server.address '" + impl_->options.address + "' is not an IP address");
    tcp::endpoint ep{address, impl_->options.port};
    auto& acc = impl_->acceptor;
    acc.open(ep.protocol(), ec);
    // Asio opens sockets without SOCK_CLOEXEC: the listener must not outlive us in a program we run (then
    // a restarted server could not bind its port while that program lives).
    if (!ec) ::fcntl(acc.native_handle(), F_SETFD, FD_CLOEXEC);
    if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc.bind(ep, ec);
    if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw core::unavailable("cannot listen on " + impl_->options.address + ":" +
                                std::to_string(impl_->options.port) + ": " + ec.message());
    return acc.local_endpoint().port();
}

void Server::start() {
    asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
}

asio::awaitable<void> Server::shutdown() {
    auto impl = impl_;
    impl->stopping = true;
    beast::error_code ec;
    impl->acceptor.close(ec);
    // Idle keep-alive connections and streams end now; busy ones finish their request first.
    for (auto& s : impl->sessions) {
        if (s.state == Impl::State::websocket)
            s.ws->request_close(1001, "server shutting down");  // ends when the close handshake does
        else if (s.state != Impl::State::busy)
            s.stream->socket().cancel(ec);
    }
    auto deadline = std::chrono::steady_clock::now() + impl->options.shutdown_grace;
    while (!impl->sessions.empty() && std::chrono::steady_clock::now() < deadline) {
        for (auto& s : impl->sessions)
            if (s.state == Impl::State::idle || s.state == Impl::State::streaming)
                s.stream->socket().cancel(ec);
        impl->drained.expires_after(std::chrono::milliseconds(50));
        co_await impl->drained.async_wait(use_nothrow);
    }
    for (auto& s : impl->sessions) s.stream->socket().close(ec);
}

std::size_t Server::connections() const {
    return impl_->sessions.size();
}
std::size_t Server::in_flight() const {
    return impl_->busy;
}
std::size_t Server::websockets() const {
    return impl_->websockets;
}

}  // namespace np::http
