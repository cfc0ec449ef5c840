#include "net/http_client.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <deque>

#include "core/error.hpp"
#include "core/log.hpp"

namespace np::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

Url parse_url(std::string_view text) {
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed)
        throw core::invalid("malformed URL '" + std::string(text) + "': " + parsed.error().message());
    Url url;
    auto scheme = parsed->scheme();
    if (scheme == "https")
        url.tls = true;
    else if (scheme != "http")
        throw core::invalid("URL '" + std::string(text) + "' must start with http:// or https://");
    url.host = std::string(parsed->host_address());
    if (url.host.empty()) throw core::invalid("URL '" + std::string(text) + "' has no host");
    if (parsed->has_port()) {
        auto p = parsed->port_number();
        if (p == 0) throw core::invalid("URL '" + std::string(text) + "' has a bad port");
        url.port = p;
    } else {
        url.port = url.tls ? 443 : 80;
    }
    url.base_path = std::string(parsed->encoded_path());
    while (!url.base_path.empty() && url.base_path.back() == '/') url.base_path.pop_back();
    return url;
}

std::string normalize_fingerprint(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
        out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return out.size() == 64 ? out : std::string{};
}

std::string_view HttpResponse::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            }))
            return v;
    }
    return {};
}

namespace {

std::string sha256_hex(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[md[i] >> 4]);
        out.push_back(hex[md[i] & 15]);
    }
    return out;
}

struct Connection {
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    std::chrono::steady_clock::time_point idle_since{};

    beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
    void close() {
        beast::error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
        lowest().close();
    }
};

bool stale_connection_error(const beast::error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == ssl::error::stream_truncated;
}

}  // namespace

struct HttpClient::Impl {
    asio::any_io_executor executor;
    Url url;
    ClientOptions options;
    ssl::context tls_context{ssl::context::tls_client};
    std::string pinned;
    std::deque<std::unique_ptr<Connection>> idle;
    tcp::resolver::results_type endpoints;
    ClientStats stats;

    Impl(asio::any_io_executor ex, Url u, ClientOptions o)
        : executor(std::move(ex)), url(std::move(u)), options(std::move(o)) {
        if (!url.tls) return;
        tls_context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        const auto& tls = options.tls;
        if (!tls.fingerprint.empty()) {
            pinned = normalize_fingerprint(tls.fingerprint);
            if (pinned.empty())
                throw core::invalid("TLS fingerprint '" + tls.fingerprint +
                                    "' is not a SHA-256 fingerprint (64 hex digits, colons optional)");
            tls_context.set_verify_mode(ssl::verify_peer);
            // Pinning replaces chain verification (Proxmox ships self-signed certificates): only the leaf's
            // digest decides.
            tls_context.set_verify_callback([pin = pinned](bool, ssl::verify_context& ctx) {
                auto* store = ctx.native_handle();
                if (X509_STORE_CTX_get_error_depth(store) > 0) return true;
                X509* cert = X509_STORE_CTX_get_current_cert(store);
                return cert && sha256_hex(cert) == pin;
            });
        } else if (!tls.ca_file.empty()) {
            beast::error_code ec;
            tls_context.load_verify_file(tls.ca_file, ec);
            if (ec) throw core::invalid("cannot load TLS CA file '" + tls.ca_file + "': " + ec.message());
            tls_context.set_verify_mode(ssl::verify_peer);
            tls_context.set_verify_callback(ssl::host_name_verification(url.host));
        } else if (tls.insecure) {
            tls_context.set_verify_mode(ssl::verify_none);
            log::warn(
                "net.tls_unverified",
                {{"host", url.host}, {"detail", "TLS certificate verification is OFF (insecure option)"}});
        } else {
            tls_context.set_default_verify_paths();
            tls_context.set_verify_mode(ssl::verify_peer);
            tls_context.set_verify_callback(ssl::host_name_verification(url.host));
        }
    }

    std::unique_ptr<Connection> take_idle() {
        auto now = std::chrono::steady_clock::now();
        while (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            if (now - c->idle_since < options.max_idle_age) return c;
            c->close();
        }
        return nullptr;
    }

    void give_back(std::unique_ptr<Connection> c) {
        c->idle_since = std::chrono::steady_clock::now();
        idle.push_back(std::move(c));
        while (idle.size() > options.max_idle) {
            idle.front()->close();
            idle.pop_front();
        }
    }

    std::string where() const { return url.host + ":" + std::to_string(url.port); }

    asio::awaitable<std::unique_ptr<Connection>> connect(std::chrono::milliseconds timeout) {
        if (endpoints.empty()) {
            tcp::resolver resolver(executor);
            auto [ec, results] =
                co_await resolver.async_resolve(url.host, std::to_string(url.port), use_nothrow);
            if (ec) throw core::unavailable("cannot resolve " + url.host + ": " + ec.message());
            endpoints = results;
        }
        auto c = std::make_unique<Connection>();
        if (url.tls)
            c->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(executor, tls_context);
        else
            c->plain = std::make_unique<beast::tcp_stream>(executor);
        auto& low = c->lowest();
        low.expires_after(std::min(timeout, options.connect_timeout));
        auto [ec, ep] = co_await low.async_connect(endpoints, use_nothrow);
        if (ec) {
            endpoints = {};
            if (ec == beast::error::timeout) throw core::timeout("connecting to " + where() + " timed out");
            throw core::unavailable("cannot connect to " + where() + ": " + ec.message());
        }
        low.socket().set_option(tcp::no_delay(true));
        ++stats.connections_opened;
        if (c->secure) {
            // SNI; SSL_set_tlsext_host_name is a macro with a C cast, so call what it expands to.
            if (SSL_ctrl(c->secure->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                         const_cast<char*>(url.host.c_str())) != 1)
                throw core::internal("cannot set TLS server name");
            low.expires_after(timeout);
            auto [hec] = co_await c->secure->async_handshake(ssl::stream_base::client, use_nothrow);
            if (hec) {
                if (hec == beast::error::timeout)
                    throw core::timeout("TLS handshake with " + where() + " timed out");
                std::string detail = hec.message();
                if (!pinned.empty()) detail += " (the certificate does not match the pinned fingerprint?)";
                // Not retryable: a certificate problem does not fix itself.
                throw core::Error(core::Code::unavailable,
                                  "TLS handshake with " + where() + " failed: " + detail, false);
            }
        }
        co_return c;
    }

    template <class Stream>
    asio::awaitable<beast::error_code> exchange(Stream& stream, Connection& c,
                                                bhttp::request<bhttp::string_body>& req,
                                                bhttp::response<bhttp::string_body>& res) {
        auto [wec, wn] = co_await bhttp::async_write(stream, req, use_nothrow);
        if (wec) co_return wec;
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(64 * 1024 * 1024);
        auto [rec, rn] = co_await bhttp::async_read(stream, c.buffer, parser, use_nothrow);
        if (rec) co_return rec;
        res = parser.release();
        co_return beast::error_code{};
    }
};

HttpClient::HttpClient(asio::any_io_executor executor, Url url, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(url), std::move(options))) {}

HttpClient::~HttpClient() {
    close_idle();
}

const Url& HttpClient::url() const {
    return impl_->url;
}
const ClientStats& HttpClient::stats() const {
    return impl_->stats;
}
std::size_t HttpClient::idle_connections() const {
    return impl_->idle.size();
}

void HttpClient::close_idle() {
    for (auto& c : impl_->idle) c->close();
    impl_->idle.clear();
}

asio::awaitable<HttpResponse> HttpClient::send(HttpRequest request, std::chrono::milliseconds timeout) {
    auto impl = impl_;  // keeps the pool alive across suspension
    if (timeout.count() <= 0) timeout = impl->options.request_timeout;
    ++impl->stats.requests;

    bhttp::request<bhttp::string_body> req;
    req.method_string(request.method);
    req.target(impl->url.base_path + request.target);
    req.version(11);
    req.set(bhttp::field::host, impl->url.host);
    req.set(bhttp::field::user_agent, impl->options.user_agent);
    req.keep_alive(true);
    for (auto& [k, v] : request.headers) req.set(k, v);
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
        if (!request.content_type.empty()) req.set(bhttp::field::content_type, request.content_type);
        req.body() = std::move(request.body);
        req.prepare_payload();
    }

    for (int attempt = 0;; ++attempt) {
        auto conn = impl->take_idle();
        bool reused = conn != nullptr;
        if (!conn) conn = co_await impl->connect(timeout);
        conn->lowest().expires_after(timeout);
        bhttp::response<bhttp::string_body> res;
        beast::error_code ec = conn->secure ? co_await impl->exchange(*conn->secure, *conn, req, res)
                                            : co_await impl->exchange(*conn->plain, *conn, req, res);
        if (ec) {
            conn->close();
            if (reused && attempt == 0 && request.idempotent && stale_connection_error(ec)) continue;
            ++impl->stats.transport_errors;
            if (ec == beast::error::timeout)
                throw core::timeout(request.method + " " + std::string(req.target()) + " to " +
                                    impl->where() + " got no reply in time");
            throw core::unavailable(request.method + " " + std::string(req.target()) + " to " +
                                    impl->where() + " failed: " + ec.message());
        }
        HttpResponse out;
        out.status = static_cast<int>(res.result_int());
        out.reason = std::string(res.reason());
        out.headers.reserve(8);
        for (const auto& f : res) {
            std::string name(f.name_string());
            for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            out.headers.emplace_back(std::move(name), std::string(f.value()));
        }
        out.body = std::move(res.body());
        if (res.keep_alive())
            impl->give_back(std::move(conn));
        else
            conn->close();
        co_return out;
    }
}

}  // namespace np::net
