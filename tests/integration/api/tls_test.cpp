// `netpraxis serve` over HTTPS (server.tls.cert / server.tls.key, issue 16): the API answers over TLS on the
// one port, a client that trusts only the test's certificate verifies it, the session cookie is Secure
// without any proxy header, a plain-HTTP request gets no HTTP answer, and a key that does not fit stops
// the server with a clear message. The certificate is made at run time by the openssl command.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>

#include "http_client.hpp"

using namespace np::testkit;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// A throwaway folder with a self-signed certificate for 127.0.0.1 (and a second, unrelated key).
struct Certificates {
    fs::path dir;
    Certificates() {
        char tmpl[] = "/tmp/netpraxis-tls-XXXXXX";
        dir = ::mkdtemp(tmpl);
        make("cert.pem", "key.pem");
        make("other-cert.pem", "other-key.pem");
    }
    ~Certificates() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void make(const std::string& cert, const std::string& key) const {
        std::string cmd =
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1"
            " -addext subjectAltName=IP:127.0.0.1 -keyout '" +
            (dir / key).string() + "' -out '" + (dir / cert).string() + "' >/dev/null 2>&1";
        int rc = std::system(cmd.c_str());
        if (rc != 0) throw std::runtime_error("openssl could not make a certificate: " + cmd);
    }
    std::string path(const std::string& name) const { return (dir / name).string(); }
    std::string config(const std::string& cert = "cert.pem", const std::string& key = "key.pem") const {
        return "server:\n  tls:\n    cert: " + path(cert) + "\n    key: " + path(key) + "\n";
    }
};

struct Answer {
    int status = 0;
    std::string set_cookie, body;
};

// One HTTPS request to 127.0.0.1:port, trusting only `ca_file` and checking the name in it.
Answer https(std::uint16_t port, const std::string& ca_file, bhttp::verb method, const std::string& target,
             const std::string& body = "") {
    asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream).connect({asio::ip::make_address("127.0.0.1"), port});
    stream.handshake(ssl::stream_base::client);
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "127.0.0.1:" + std::to_string(port));
    if (!body.empty()) {
        req.set(bhttp::field::content_type, "application/json");
        req.body() = body;
        req.prepare_payload();
    }
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    Answer a{static_cast<int>(res.result_int()), "", res.body()};
    for (const auto& f : res)
        if (f.name() == bhttp::field::set_cookie) a.set_cookie += std::string(f.value()) + "\n";
    return a;
}

}  // namespace

TEST(ServeTls, ApiOverHttpsWithSecureCookiesAndNoPlainHttp) {
    Certificates certs;
    ServerProcess server({}, certs.config());
    EXPECT_NE(server.output().find("listening on https://127.0.0.1:"), std::string::npos) << server.output();

    auto health = https(server.port(), certs.path("cert.pem"), bhttp::verb::get, "/healthz");
    EXPECT_EQ(health.status, 200) << health.body;

    auto login =
        https(server.port(), certs.path("cert.pem"), bhttp::verb::post, "/api/v1/auth/login",
              json::serialize(json::object{{"username", "admin"}, {"password", server.admin_password()}}));
    ASSERT_EQ(login.status, 200) << login.body;
    EXPECT_NE(login.set_cookie.find("np_session="), std::string::npos) << login.set_cookie;
    EXPECT_NE(login.set_cookie.find("; Secure; HttpOnly"), std::string::npos) << login.set_cookie;

    // A client that trusts another certificate refuses this server.
    EXPECT_ANY_THROW(https(server.port(), certs.path("other-cert.pem"), bhttp::verb::get, "/healthz"));

    // Plain HTTP on the TLS port: the handshake fails and no HTTP answer comes back.
    asio::io_context io;
    asio::ip::tcp::socket sock(io);
    sock.connect({asio::ip::make_address("127.0.0.1"), server.port()});
    asio::write(sock, asio::buffer(std::string("GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")));
    std::string out;
    boost::system::error_code ec;
    asio::read(sock, asio::dynamic_buffer(out), ec);  // until the server closes
    EXPECT_EQ(out.find("HTTP/1.1"), std::string::npos) << out;

    // The server still serves HTTPS after that.
    EXPECT_EQ(https(server.port(), certs.path("cert.pem"), bhttp::verb::get, "/healthz").status, 200);
}

TEST(ServeTls, AKeyThatIsNotTheCertificatesOrAHalfConfigurationStopsTheServer) {
    Certificates certs;
    try {
        ServerProcess server({}, certs.config("cert.pem", "other-key.pem"));
        FAIL() << "served with a key that is not the certificate's";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("server.tls.key"), std::string::npos) << e.what();
    }
    try {
        ServerProcess server({}, "server:\n  tls:\n    cert: " + certs.path("cert.pem") + "\n");
        FAIL() << "served with a certificate and no key";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("server.tls needs both cert and key"), std::string::npos)
            << e.what();
    }
}
