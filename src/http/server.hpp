// HTTP/1.1 server on Beast and Asio coroutines, optionally over TLS (ServerOptions::tls_cert_file):
// keep-alive, header and body limits, per-phase timeouts against slow clients, streaming (chunked) responses
// for SSE, WebSocket upgrades on the same port (the handler decides: Response::websocket), and graceful
// shutdown that lets in-flight requests finish and closes WebSocket sessions with 1001. Runs entirely on the
// event-loop thread of the executor it is given.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "http/message.hpp"

namespace np::http {

struct ServerOptions {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;  // 0: pick a free port (tests)
    std::size_t header_limit = 16 * 1024;
    std::size_t body_limit = 1024 * 1024;
    // A route-specific body limit (uploads: an exercise's GNS3 project or zip), asked with the method and
    // target once the headers are read (PUT and POST only, when the body may exceed body_limit or
    // upload_limit); 0 keeps body_limit. Beyond it: 413. `upload_limit` is the largest it ever answers (the
    // parser's bound while headers are read).
    std::function<std::size_t(Method, std::string_view target)> body_limit_for;
    std::size_t upload_limit = 0;
    std::chrono::milliseconds idle_timeout{60'000};    // keep-alive: waiting for a request's first bytes
    std::chrono::milliseconds read_timeout{30'000};    // reading one request once it has started
    std::chrono::milliseconds write_timeout{30'000};   // writing one response (or one stream chunk)
    std::chrono::milliseconds shutdown_grace{20'000};  // how long in-flight requests get at shutdown
    std::chrono::milliseconds ws_idle_timeout{
        60'000};                               // WebSocket: drop a peer silent this long (pings at half)
    std::size_t ws_max_message = 1024 * 1024;  // WebSocket: larger incoming messages close with 1009
    bool access_log = true;
    // HTTPS: the PEM certificate chain and its private key (both or neither; `serve`'s server.tls.cert and
    // server.tls.key). Every connection on the port is then TLS, WebSockets included; Request::tls is set.
    std::string tls_cert_file, tls_key_file;
    // Or the same in memory (PEM text), for a certificate made at run time (pve-sim's self-signed one).
    std::string tls_cert_pem, tls_key_pem;
};

class Server {
 public:
    Server(boost::asio::any_io_executor executor, ServerOptions options, Handler handler);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and listens; returns the bound port. Throws core::Error(unavailable) when the address is taken.
    std::uint16_t listen();
    // Starts the accept loop (returns at once).
    void start();
    // Stops accepting, closes idle and streaming connections, sends 1001 (going away) to WebSocket
    // sessions, waits for in-flight requests and those close handshakes (at most shutdown_grace), then
    // closes the rest.
    boost::asio::awaitable<void> shutdown();

    std::size_t connections() const;
    std::size_t in_flight() const;
    std::size_t websockets() const;  // open WebSocket sessions

    struct Impl;  // server_impl.hpp (internal to src/http)

 private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace np::http
