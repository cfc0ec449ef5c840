// Serving the simulator through np::http::Server: plain HTTP, or HTTPS with a self-signed certificate made
// at start, like a fresh Proxmox node (clients pin its fingerprint). The simulator's "dropped connection"
// fault is Response::drop (the connection closes without a reply) and PVE's error line goes in the status
// line (Response::reason), on both.
#include "http/server.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <optional>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "pvesim/simulator.hpp"

namespace np::pvesim {

namespace asio = boost::asio;

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

}  // namespace

struct SimServer::Impl {
    asio::any_io_executor executor;
    Simulator& sim;
    SimServerOptions options;
    std::optional<SelfSigned> cert;
    std::unique_ptr<http::Server> server;

    Impl(asio::any_io_executor ex, Simulator& s, SimServerOptions o)
        : executor(ex), sim(s), options(std::move(o)) {}

    // The simulator's answers as pveproxy writes them: its Server header, JSON with a charset, and the
    // error's first line in the status line (set by the simulator in Response::reason).
    http::Handler handler() {
        Simulator* simp = &sim;
        return [simp](http::Request& req) -> asio::awaitable<http::Response> {
            auto res = co_await simp->handle(req);
            res.header("Server", "pve-api-daemon/3.0");
            if (res.content_type == "application/json") res.content_type = "application/json;charset=UTF-8";
            co_return res;
        };
    }
};

SimServer::SimServer(asio::any_io_executor executor, Simulator& sim, SimServerOptions options)
    : impl_(std::make_shared<Impl>(executor, sim, std::move(options))) {}

SimServer::~SimServer() = default;

std::uint16_t SimServer::start() {
    auto& i = *impl_;
    http::ServerOptions so;
    so.address = i.options.address;
    so.port = i.options.port;
    so.access_log = false;
    so.idle_timeout = std::chrono::milliseconds(120'000);
    if (i.options.tls) {
        i.cert = make_self_signed();
        so.tls_cert_pem = i.cert->cert_pem;
        so.tls_key_pem = i.cert->key_pem;
    }
    i.server = std::make_unique<http::Server>(i.executor, so, i.handler());
    auto port = i.server->listen();  // core::Error(unavailable) when the address is taken
    i.server->start();
    return port;
}

asio::awaitable<void> SimServer::stop() {
    auto impl = impl_;
    if (impl->server) co_await impl->server->shutdown();
}

std::string SimServer::fingerprint() const {
    return impl_->cert ? impl_->cert->fingerprint : std::string{};
}
std::string SimServer::certificate_pem() const {
    return impl_->cert ? impl_->cert->cert_pem : std::string{};
}

}  // namespace np::pvesim
