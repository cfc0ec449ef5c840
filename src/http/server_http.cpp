// The HTTP exchange of one connection (Server::Impl, server_impl.hpp): read a request under the header and
// body limits and the per-phase timeouts, call the handler, write the answer (whole, streamed, or hand the
// connection to a WebSocket session in server_ws.cpp), keep the connection alive or end it.
#include <algorithm>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "http/server_impl.hpp"

namespace np::http {

namespace {

template <class Stream>
class ChunkWriter final : public StreamWriter {
 public:
    ChunkWriter(Server::Impl& impl, Stream& s) : impl_(impl), stream_(s) {}
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
    Server::Impl& impl_;
    Stream& stream_;
    bool failed_ = false;
};

}  // namespace

template <class Stream>
asio::awaitable<void> Server::Impl::serve_connection(Stream& stream, beast::flat_buffer& buffer,
                                                     const std::string& remote, Session& me) {
    std::string head;  // response head buffer, reused by every request of the connection
    Request req;       // refilled per request, keeping its strings' capacity
    for (;;) {
        me.state = State::idle;
        if (stopping) co_return;
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
        parser.body_limit(std::max(options.body_limit, options.upload_limit));
        if (!co_await read_request(stream, buffer, parser, me)) co_return;
        auto started = std::chrono::steady_clock::now();

        auto msg = parser.release();
        fill_request(req, msg, remote);
        req.websocket = boost::beast::websocket::is_upgrade(msg);
        req.tls = kIsTls<Stream>;
        bool keep_alive = msg.keep_alive();
        Response res = co_await answer(req);
        keep_alive = keep_alive && !stopping;

        bool ok = false;  // (if/else, not nested conditionals around co_await: GCC 12 mishandles them)
        if (res.drop)
            ok = false;  // nothing written: the connection just ends
        else if (res.websocket)
            ok = co_await run_websocket(stream, msg, req, res, me);
        else if (res.stream)
            ok = co_await write_stream(stream, req, res, me);
        else
            ok = co_await write_response(stream, req, res, msg.version(), keep_alive, head);
        if (options.access_log && log::enabled(log::Level::info)) {  // no field strings when muted
            auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                            started)
                          .count();
            log::info("http.request", {{"rid", req.request_id},
                                       {"method", method_name(req.method)},
                                       {"path", req.path},
                                       {"status", res.drop ? 0 : res.status},
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
asio::awaitable<bool> Server::Impl::read_request(Stream& stream, beast::flat_buffer& buffer,
                                                 bhttp::request_parser<bhttp::string_body>& parser,
                                                 Session& me) {
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
        co_return false;
    }
    me.state = State::busy;
    ++busy;
    auto& hdr = parser.get();
    std::size_t body_limit = options.body_limit;
    // A route's own limit (at most upload_limit) matters only for a PUT or POST body that may exceed it or
    // the default one (chunked, or a longer Content-Length): the lookup is a second route match, kept off
    // every other request.
    auto verb = hdr.method();
    auto length = parser.content_length();
    std::size_t below_both =
        options.upload_limit ? std::min(options.body_limit, options.upload_limit) : options.body_limit;
    if (options.body_limit_for && (verb == bhttp::verb::put || verb == bhttp::verb::post) &&
        (!length || *length > below_both)) {
        Method m = verb == bhttp::verb::put ? Method::put : Method::post;
        if (auto special = options.body_limit_for(m, std::string_view(hdr.target()))) body_limit = special;
    }
    parser.body_limit(body_limit);
    if (auto len = parser.content_length(); len && *len > body_limit) {  // said up front: answer now
        const std::string detail =
            "the request body exceeds this route's limit of " + std::to_string(body_limit) + " bytes";
        co_await write_simple(stream, 413, "Payload too large", detail, false);
        co_await linger(beast::get_lowest_layer(stream));
        co_return false;
    }
    if (hdr[bhttp::field::expect] == "100-continue") {  // (a body over the limit was refused above)
        // (a named local: GCC 12 mishandles conditional temporaries inside co_await arguments)
        std::string_view cont =
            hdr.version() == 10 ? "HTTP/1.0 100 Continue\r\n\r\n" : "HTTP/1.1 100 Continue\r\n\r\n";
        co_await write_all(stream, cont, {});
    }
    if (parser.is_done()) co_return true;
    beast::get_lowest_layer(stream).expires_after(options.read_timeout);
    auto [ec2, n2] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
    if (!ec2) co_return true;
    if (ec2 == bhttp::error::body_limit) {
        co_await write_simple(stream, 413, "Payload too large", "the request body exceeds the server's limit",
                              false);
        co_await linger(beast::get_lowest_layer(stream));
    } else if (ec2 != bhttp::error::end_of_stream && ec2 != bhttp::error::partial_message &&
               ec2 != beast::error::timeout && ec2 != asio::error::operation_aborted &&
               ec2 != asio::error::connection_reset && ec2 != asio::error::eof && !stopping) {
        // A body that does not parse (a bad chunk size, a broken chunk extension): say so.
        std::string detail = "malformed request body: " + ec2.message();
        co_await write_simple(stream, 400, "Bad request", detail, false);
        co_await linger(beast::get_lowest_layer(stream));
    }
    co_return false;
}

asio::awaitable<Response> Server::Impl::answer(Request& req) {
    Response res;
    try {
        res = co_await handler(req);
    } catch (const std::exception& e) {
        log::error("http.handler_failed", {{"rid", req.request_id}, {"error", e.what()}});
        res = json_response(500, problem_body(500, "Internal error",
                                              "the server failed to handle the request", req.request_id));
        res.content_type = "application/problem+json";
    }
    if (res.websocket && (!req.websocket || stopping)) {
        // A session offered to a plain request (a handler's mistake), or an upgrade while closing.
        int status = stopping ? 503 : 426;
        res = json_response(status,
                            problem_body(status, stopping ? "Service unavailable" : "Upgrade required",
                                         stopping ? "the server is shutting down"
                                                  : "this resource is a WebSocket: send an upgrade request",
                                         req.request_id));
        res.content_type = "application/problem+json";
    }
    co_return res;
}

template <class Stream>
asio::awaitable<bool> Server::Impl::write_response(Stream& stream, const Request& req, const Response& res,
                                                   unsigned version, bool keep_alive, std::string& head) {
    bool has_body = req.method != Method::head && res.status != 204 && res.status != 304;
    serialize_head(head, res, req.request_id, version, keep_alive);
    std::string_view body;  // (not a conditional inside the co_await: GCC 12, see above)
    if (has_body) body = res.body;
    co_return co_await write_all(stream, head, body);
}

// The head and body in one gather write, under the write timeout.
template <class Stream>
asio::awaitable<bool> Server::Impl::write_all(Stream& stream, std::string_view head, std::string_view body) {
    beast::get_lowest_layer(stream).expires_after(options.write_timeout);
    std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(body)};
    auto [ec, n] = co_await asio::async_write(stream, wire, use_nothrow);
    co_return !ec;
}

template <class Stream>
asio::awaitable<bool> Server::Impl::write_stream(Stream& stream, const Request& req, Response& res,
                                                 Session& me) {
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
asio::awaitable<void> Server::Impl::linger(beast::tcp_stream& stream) {
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
asio::awaitable<void> Server::Impl::write_simple(Stream& stream, int status, std::string_view title,
                                                 std::string_view detail, bool keep_alive) {
    auto rid = core::new_request_id();
    Response res = json_response(status, problem_body(status, title, detail, rid));
    res.content_type = "application/problem+json";
    std::string head;
    serialize_head(head, res, rid, 11, keep_alive);
    co_await write_all(stream, head, res.body);
    log::info("http.rejected", {{"rid", rid}, {"status", status}, {"detail", detail}});
}

template asio::awaitable<void> Server::Impl::serve_connection<beast::tcp_stream>(beast::tcp_stream&,
                                                                                 beast::flat_buffer&,
                                                                                 const std::string&,
                                                                                 Session&);
template asio::awaitable<void> Server::Impl::serve_connection<TlsStream>(TlsStream&, beast::flat_buffer&,
                                                                         const std::string&, Session&);

}  // namespace np::http
