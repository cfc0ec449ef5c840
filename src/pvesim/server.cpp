// Serving the simulator: plain HTTP through np::http::Server, or TLS through a small Beast accept loop of
// its own (src/http has no TLS listener) with a self-signed certificate made at start, like a fresh
// Proxmox node. np::http::Server cannot drop a connection on purpose or set a reason phrase, so the
// "dropped connection" fault is delivered there as a reply whose body stream fails after the status line
// (the client sees a truncated reply); the TLS listener closes the connection outright and also puts PVE's
// message in the status line.
#include "http/server.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <list>
#include <optional>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "pvesim/simulator.hpp"

namespace np::pvesim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

struct SelfSigned {
    std::string cert_pem, key_pem, fingerprint;
};

// A P-256 key and a self-signed certificate for CN=pve-sim, SAN localhost and 127.0.0.1.
SelfSigned make_self_signed() {
    SelfSigned out;
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    if (!key || !cert) throw core::internal("cannot create a TLS key for the simulator");
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), static_cast<long>(core::unix_now()));
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 365L * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("pve-sim"),
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    if (X509_EXTENSION* ext =
            X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1")) {
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
    if (!X509_sign(cert, key, EVP_sha256())) throw core::internal("cannot sign the simulator's certificate");
    auto pem = [](auto write) {
        BIO* bio = BIO_new(BIO_s_mem());
        write(bio);
        char* data = nullptr;
        long len = BIO_get_mem_data(bio, &data);
        std::string s(data, static_cast<std::size_t>(len));
        BIO_free(bio);
        return s;
    };
    out.cert_pem = pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
    out.key_pem =
        pem([&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(cert, EVP_sha256(), md, &len);
    static const char* hex = "0123456789ABCDEF";
    for (unsigned i = 0; i < len; ++i) {
        if (i) out.fingerprint.push_back(':');
        out.fingerprint.push_back(hex[md[i] >> 4]);
        out.fingerprint.push_back(hex[md[i] & 15]);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
}

bool wants_drop(const http::Response& r) {
    for (const auto& [k, v] : r.headers)
        if (k == "x-sim-drop") return true;
    return false;
}

std::string reason_of(const http::Response& r) {
    for (const auto& [k, v] : r.headers)
        if (k == "x-pve-reason") return v;
    return {};
}

}  // namespace

struct SimServer::Impl : std::enable_shared_from_this<SimServer::Impl> {
    asio::any_io_executor executor;
    Simulator& sim;
    SimServerOptions options;
    std::unique_ptr<http::Server> plain;
    std::optional<SelfSigned> cert;
    ssl::context tls_context{ssl::context::tls_server};
    tcp::acceptor acceptor;
    std::list<beast::ssl_stream<beast::tcp_stream>*> sessions;
    bool stopping = false;

    Impl(asio::any_io_executor ex, Simulator& s, SimServerOptions o)
        : executor(ex), sim(s), options(std::move(o)), acceptor(ex) {}

    http::Handler plain_handler() {
        Simulator* simp = &sim;
        return [simp](http::Request& req) -> asio::awaitable<http::Response> {
            auto res = co_await simp->handle(req);
            if (wants_drop(res)) {
                http::Response dropped;
                dropped.status = 200;
                dropped.stream = [](http::StreamWriter&) -> asio::awaitable<void> {
                    throw std::runtime_error("pve-sim: injected dropped connection");
                    co_return;
                };
                co_return dropped;
            }
            std::erase_if(res.headers, [](const auto& h) { return h.first == "x-pve-reason"; });
            co_return res;
        };
    }

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        while (!stopping) {
            auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
            if (ec) {
                if (stopping || ec == asio::error::operation_aborted) co_return;
                continue;
            }
            socket.set_option(tcp::no_delay(true));
            asio::co_spawn(executor, tls_session(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> tls_session(tcp::socket socket) {
        auto self = shared_from_this();
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), tls_context);
        auto it = sessions.insert(sessions.end(), &stream);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
        beast::flat_buffer buffer;
        while (!hec && !stopping) {
            bhttp::request<bhttp::string_body> msg;
            beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
            auto [rec, n] = co_await bhttp::async_read(stream, buffer, msg, use_nothrow);
            if (rec) break;
            http::Request req;
            req.method = msg.method() == bhttp::verb::get       ? http::Method::get
                         : msg.method() == bhttp::verb::post    ? http::Method::post
                         : msg.method() == bhttp::verb::put     ? http::Method::put
                         : msg.method() == bhttp::verb::delete_ ? http::Method::del
                                                                : http::Method::other;
            req.target = std::string(msg.target());
            auto q = req.target.find('?');
            if (q != std::string::npos) req.query = req.target.substr(q + 1);
            if (!http::percent_decode(req.target.substr(0, q), req.path, false))
                req.path = req.target.substr(0, q);
            for (const auto& f : msg) {
                std::string name(f.name_string());
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                req.headers.emplace_back(std::move(name), std::string(f.value()));
            }
            req.body = std::move(msg.body());
            auto res = co_await sim.handle(req);
            if (wants_drop(res)) break;
            bhttp::response<bhttp::string_body> out{static_cast<bhttp::status>(res.status), msg.version()};
            // PVE puts the first line of the error in the status line (API.md §3).
            if (auto reason = reason_of(res); !reason.empty()) out.reason(reason);
            out.set(bhttp::field::server, "pve-api-daemon/3.0");
            out.set(bhttp::field::content_type, std::string(res.content_type.view()) + ";charset=UTF-8");
            out.keep_alive(msg.keep_alive());
            out.body() = std::move(res.body);
            out.prepare_payload();
            auto [wec, wn] = co_await bhttp::async_write(stream, out, use_nothrow);
            if (wec || !msg.keep_alive()) break;
        }
        sessions.erase(it);
        beast::error_code ec;
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ec);
        beast::get_lowest_layer(stream).close();
    }
};

SimServer::SimServer(asio::any_io_executor executor, Simulator& sim, SimServerOptions options)
    : impl_(std::make_shared<Impl>(executor, sim, std::move(options))) {}

SimServer::~SimServer() {
    beast::error_code ec;
    impl_->acceptor.close(ec);
}

std::uint16_t SimServer::start() {
    auto& i = *impl_;
    if (!i.options.tls) {
        http::ServerOptions so;
        so.address = i.options.address;
        so.port = i.options.port;
        so.access_log = false;
        so.idle_timeout = std::chrono::milliseconds(120'000);
        i.plain = std::make_unique<http::Server>(i.executor, so, i.plain_handler());
        auto port = i.plain->listen();
        i.plain->start();
        return port;
    }
    i.cert = make_self_signed();
    i.tls_context.use_certificate_chain(asio::buffer(i.cert->cert_pem));
    i.tls_context.use_private_key(asio::buffer(i.cert->key_pem), ssl::context::pem);
    tcp::endpoint ep(asio::ip::make_address(i.options.address), i.options.port);
    beast::error_code ec;
    i.acceptor.open(ep.protocol(), ec);
    if (!ec) i.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) i.acceptor.bind(ep, ec);
    if (!ec) i.acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw core::unavailable("pve-sim cannot listen on " + i.options.address + ":" +
                                std::to_string(i.options.port) + ": " + ec.message());
    asio::co_spawn(i.executor, i.accept_loop(), asio::detached);
    return i.acceptor.local_endpoint().port();
}

asio::awaitable<void> SimServer::stop() {
    auto impl = impl_;
    impl->stopping = true;
    beast::error_code ec;
    impl->acceptor.close(ec);
    for (auto* s : impl->sessions) beast::get_lowest_layer(*s).socket().close(ec);
    if (impl->plain) co_await impl->plain->shutdown();
}

std::string SimServer::fingerprint() const {
    return impl_->cert ? impl_->cert->fingerprint : std::string{};
}
std::string SimServer::certificate_pem() const {
    return impl_->cert ? impl_->cert->cert_pem : std::string{};
}

}  // namespace np::pvesim
