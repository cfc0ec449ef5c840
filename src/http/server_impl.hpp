// Server::Impl, shared by the files of the server (internal to src/http; Beast and Asio inside):
// server.cpp (listening, accepting, one session per connection, shutdown, the response head),
// server_http.cpp (the HTTP exchange of a connection: read, handle, write, stream) and server_ws.cpp (a
// WebSocket session after the upgrade). A connection is plain TCP, or TLS over it
// (ServerOptions::tls_cert_file/tls_cert_pem): the code is written once for both, over `Stream`, and
// instantiated for both; timeouts and sockets are the TCP layer's (beast::get_lowest_layer).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "http/server.hpp"

namespace np::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool kIsTls = std::is_same_v<Stream, TlsStream>;
using BeastRequest = bhttp::request<bhttp::string_body>;

// Minimal problem JSON for failures that happen before a request reaches the API layer.
std::string problem_body(int status, std::string_view title, std::string_view detail, std::string_view rid);
// False when a header name or value holds CR, LF or NUL (it would split the response).
bool safe_field(std::string_view s);
// The browser security headers of every response (docs/SECURITY.md).
inline constexpr std::pair<std::string_view, std::string_view> kBrowserHeaders[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Referrer-Policy", "no-referrer"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
};
inline constexpr std::string_view kDefaultCsp = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'";
// The status line and header fields of a response, written by hand into `head` (see server.cpp).
void serialize_head(std::string& head, const Response& res, std::string_view request_id, unsigned version,
                    bool keep_alive);
// Beast's message into our Request, reusing `req`'s capacity.
void fill_request(Request& req, BeastRequest& msg, const std::string& remote);

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
    std::unique_ptr<ssl::context> tls;  // set by listen() when options.tls_cert_file (or _pem) is
    tcp::acceptor acceptor;
    std::list<Session> sessions;
    bool stopping = false;
    std::size_t busy = 0;
    std::size_t websockets = 0;
    asio::steady_timer drained;  // cancelled whenever a session ends during shutdown

    Impl(asio::any_io_executor ex, ServerOptions opts, Handler h)
        : executor(ex), options(std::move(opts)), handler(std::move(h)), acceptor(ex), drained(ex) {}

    // server.cpp
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> session(tcp::socket socket);
    template <class Stream>
    asio::awaitable<void> run_session(Stream& stream);

    // server_http.cpp (instantiated for beast::tcp_stream and TlsStream)
    template <class Stream>
    asio::awaitable<void> serve_connection(Stream& stream, beast::flat_buffer& buffer,
                                           const std::string& remote, Session& me);
    // Reads one request into `parser`; false when the connection is to end (an error answered if need be).
    template <class Stream>
    asio::awaitable<bool> read_request(Stream& stream, beast::flat_buffer& buffer,
                                       bhttp::request_parser<bhttp::string_body>& parser, Session& me);
    // The handler's answer, or the problem the server answers instead (handler failure, misplaced session).
    asio::awaitable<Response> answer(Request& req);
    template <class Stream>
    asio::awaitable<bool> write_response(Stream& stream, const Request& req, const Response& res,
                                         unsigned version, bool keep_alive, std::string& head);
    template <class Stream>
    asio::awaitable<bool> write_all(Stream& stream, std::string_view head, std::string_view body);
    template <class Stream>
    asio::awaitable<bool> write_stream(Stream& stream, const Request& req, Response& res, Session& me);
    template <class Stream>
    asio::awaitable<void> write_simple(Stream& stream, int status, std::string_view title,
                                       std::string_view detail, bool keep_alive);
    asio::awaitable<void> linger(beast::tcp_stream& stream);

    // server_ws.cpp (instantiated for both)
    template <class Stream>
    asio::awaitable<bool> run_websocket(Stream& stream, const BeastRequest& msg, const Request& req,
                                        const Response& res, Session& me);
};

}  // namespace np::http
