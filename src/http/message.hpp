// HTTP request and response as the API layer sees them: plain structs, no Beast in this header, so
// route code compiles fast. src/http/server.cpp converts from and to Beast messages.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace np::http {

enum class Method { get, head, post, put, patch, del, options, other };
std::string_view method_name(Method m);

using Headers = std::vector<std::pair<std::string, std::string>>;  // names lowercased

struct Request {
    Method method = Method::get;
    std::string target;  // as received, e.g. /api/v1/jobs?state=running
    std::string path;    // percent-decoded path without the query
    std::string query;   // raw query string without '?'
    Headers headers;
    std::string body;
    std::string remote_address;
    std::string request_id;
    bool websocket =
        false;         // a WebSocket upgrade request (GET, Upgrade: websocket, the Sec-WebSocket-* headers)
    bool tls = false;  // it came over TLS (the server's own HTTPS, ServerOptions::tls_cert_file)

    // Case-insensitive header lookup; empty when absent.
    std::string_view header(std::string_view name) const;
    // The decoded value of a query parameter, if present.
    std::optional<std::string> query_param(std::string_view name) const;
    // A cookie's value from the Cookie header, if present.
    std::optional<std::string> cookie(std::string_view name) const;
};

// Writes a streaming body (SSE): each write is flushed to the client as one chunk.
class StreamWriter {
 public:
    virtual ~StreamWriter() = default;
    // Returns false when the client went away or the server is closing.
    virtual boost::asio::awaitable<bool> write(std::string data) = 0;
};

// One whole WebSocket message.
struct WsMessage {
    std::string data;
    bool binary = false;  // a binary message; otherwise text (UTF-8, checked by the server)
};

// A connected WebSocket, after the upgrade (Beast websocket, in src/http/server.cpp). Pings and pongs are
// answered by the server; a peer that shows no sign of life (no frame, no pong to the server's keep-alive
// ping) for ServerOptions::ws_idle_timeout is dropped; a message over ws_max_message closes the session
// with 1009. One read and one write may be in flight at the same time (a console bridge reads what the
// browser types while it writes what the device prints), never two reads or two writes.
class WebSocket {
 public:
    virtual ~WebSocket() = default;
    // The next message; nullopt once the session is over (the peer closed, timed out, sent too much, or the
    // server is shutting down: then the server has sent 1001 going away). Read until nullopt: control
    // frames (close, ping) are processed while a read is pending.
    virtual boost::asio::awaitable<std::optional<WsMessage>> read() = 0;
    // Sends one message; false once the session is over.
    virtual boost::asio::awaitable<bool> write(std::string data, bool binary) = 0;
    // Starts the close handshake (at most once); a pending read then returns nullopt.
    virtual boost::asio::awaitable<void> close(std::uint16_t code = 1000, std::string reason = {}) = 0;
    // The close code the peer sent (0: none yet).
    virtual std::uint16_t peer_close_code() const = 0;
};
// Runs one WebSocket session; the session ends when it returns (closed with 1000 unless closed before).
using WebSocketHandler = std::function<boost::asio::awaitable<void>(WebSocket&)>;

// A media type with static storage. It is built only from a string literal, so a Response neither
// allocates for it ("application/json" is one byte past std::string's small-string buffer, and every
// response would pay a heap allocation) nor can it dangle.
class MediaType {
 public:
    constexpr MediaType() = default;
    template <std::size_t N>
    constexpr MediaType(const char (&literal)[N]) : value_(literal, N - 1) {}  // NOLINT: implicit on purpose
    constexpr std::string_view view() const { return value_; }
    constexpr bool empty() const { return value_.empty(); }
    friend constexpr bool operator==(MediaType a, std::string_view b) { return a.value_ == b; }

 private:
    std::string_view value_;
};

struct Response {
    int status = 200;
    MediaType content_type = "application/json";  // empty: no Content-Type (e.g. 204)
    Headers headers;
    std::string body;
    // When set, the body is streamed (chunked) by this coroutine instead of `body`.
    std::function<boost::asio::awaitable<void>(StreamWriter&)> stream;
    // When set on the answer to an upgrade request, the server accepts the upgrade (101, with `headers`
    // added) and runs this session on the connection. Any other answer is written as usual: no upgrade.
    WebSocketHandler websocket;
    // The status line's reason phrase; empty: the standard one. (Proxmox puts its error's first line there.)
    std::string reason;
    // Close the connection without answering (a simulator's "lost reply" fault); nothing else is read.
    bool drop = false;

    Response& header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

Response json_response(int status, std::string body);
Response text_response(int status, std::string body, MediaType content_type = "text/plain; charset=utf-8");

// Accepts a WebSocket upgrade and runs `session` on it (the caller has checked who may connect).
Response websocket_response(WebSocketHandler session);

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

// Percent-decoding for paths and query values ('+' is a space only in queries). False on bad escapes.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace np::http
