// Async HTTP/1.1 client on Beast: one keep-alive connection pool per client (one upstream host), plain
// HTTP or TLS verified against a CA file or a pinned SHA-256 certificate fingerprint (or, explicitly, not
// at all, with a warning). Every request has a deadline. Runs on the event-loop thread of its executor.
// Transport failures throw core::Error(unavailable/timeout, retryable); HTTP statuses are returned as-is.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace np::net {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Url {
    bool tls = false;
    std::string host;
    std::uint16_t port = 0;
    std::string base_path;  // without trailing '/', e.g. "/api2/json"
};
// Parses "https://pve1:8006/api2/json"; throws core::Error(invalid) naming the problem.
Url parse_url(std::string_view text);

struct TlsOptions {
    std::string ca_file;      // verify the chain against these CAs (and the host name)
    std::string fingerprint;  // or pin the leaf certificate: SHA-256, hex with or without colons
    bool insecure = false;    // or verify nothing (logs a warning when the client is made)
};

struct ClientOptions {
    TlsOptions tls;
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds request_timeout{60'000};
    std::size_t max_idle = 64;                       // idle keep-alive connections kept
    std::chrono::milliseconds max_idle_age{30'000};  // an idle connection older than this is closed
    std::string user_agent = "netpraxis/0.1";
};

struct HttpRequest {
    std::string method = "GET";  // GET POST PUT DELETE
    std::string target;          // path and query, appended to the URL's base path
    Headers headers;
    std::string body;
    std::string content_type;
    // Idempotent requests are resent once on a fresh connection when a reused keep-alive connection turns
    // out to be closed by the server; others surface the error (the server may have acted on them).
    bool idempotent = true;
};

struct HttpResponse {
    int status = 0;
    std::string reason;
    Headers headers;  // names lowercased
    std::string body;
    std::string_view header(std::string_view name) const;
};

struct ClientStats {
    std::uint64_t requests = 0;
    std::uint64_t connections_opened = 0;
    std::uint64_t transport_errors = 0;
};

class HttpClient {
 public:
    HttpClient(boost::asio::any_io_executor executor, Url url, ClientOptions options);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Sends one request; `timeout` (0: the client's request_timeout) bounds connect, write and read.
    boost::asio::awaitable<HttpResponse> send(
        HttpRequest request, std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
    const Url& url() const;
    const ClientStats& stats() const;
    std::size_t idle_connections() const;
    // Closes idle connections.
    void close_idle();

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

// Normalises a fingerprint ("AB:cd:..." or "abcd...") to lowercase hex without colons; empty if malformed.
std::string normalize_fingerprint(std::string_view text);

}  // namespace np::net
