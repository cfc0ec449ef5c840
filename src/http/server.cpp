#include "http/server.hpp"

#include <fcntl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <charconv>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "http/server_impl.hpp"

// Listening, accepting, one coroutine per connection (plain or TLS), graceful shutdown, and the response head
// every file of the server writes. The HTTP exchange is in server_http.cpp, WebSocket sessions in
// server_ws.cpp.
namespace np::http {

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

// The TLS context of ServerOptions (certificate and key from files or PEM text), or nullptr without TLS.
std::unique_ptr<ssl::context> make_tls_context(const ServerOptions& o) {
    bool files = !o.tls_cert_file.empty() || !o.tls_key_file.empty();
    bool pem = !o.tls_cert_pem.empty() || !o.tls_key_pem.empty();
    if (o.tls_cert_file.empty() != o.tls_key_file.empty() ||
        o.tls_cert_pem.empty() != o.tls_key_pem.empty() || (files && pem))
        throw core::invalid("server.tls needs both cert and key (PEM files), or neither");
    if (!files && !pem) return nullptr;
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    beast::error_code ec;
    if (pem) {
        ctx->use_certificate_chain(asio::buffer(o.tls_cert_pem), ec);
        if (!ec) ctx->use_private_key(asio::buffer(o.tls_key_pem), ssl::context::pem, ec);
        if (ec)
            throw core::invalid("the TLS certificate or key given in memory is not usable: " + ec.message());
        return ctx;
    }
    ctx->use_certificate_chain_file(o.tls_cert_file, ec);
    if (ec)
        throw core::invalid("server.tls.cert '" + o.tls_cert_file +
                            "' is not a readable PEM certificate: " + ec.message());
    ctx->use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
    if (ec)
        throw core::invalid("server.tls.key '" + o.tls_key_file +
                            "' is not a readable PEM private key of the certificate: " + ec.message());
    return ctx;
}

}  // namespace

std::string problem_body(int status, std::string_view title, std::string_view detail, std::string_view rid) {
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
    if (!res.reason.empty() && safe_field(res.reason))
        head.append(res.reason);
    else
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
void fill_request(Request& req, BeastRequest& msg, const std::string& remote) {
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

asio::awaitable<void> Server::Impl::session(tcp::socket socket) {
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
asio::awaitable<void> Server::Impl::run_session(Stream& stream) {
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

asio::awaitable<void> Server::Impl::accept_loop() {
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

Server::Server(asio::any_io_executor executor, ServerOptions options, Handler handler)
    : impl_(std::make_shared<Impl>(executor, std::move(options), std::move(handler))) {}

Server::~Server() {
    beast::error_code ec;
    impl_->acceptor.close(ec);
}

std::uint16_t Server::listen() {
    impl_->tls = make_tls_context(impl_->options);
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
