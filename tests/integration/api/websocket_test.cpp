// WebSocket routes and the web app's files through `netpraxis serve`: a WebSocket route is authenticated,
// policed and (for the session cookie) Origin-checked like any route, refusals are plain problem responses
// without upgrade; server.static_dir serves the app beside the API, and without it / says so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "http_client.hpp"
#include "ws_client.hpp"

using namespace np::testkit;
namespace json = boost::json;
namespace websocket = boost::beast::websocket;
using Headers = std::vector<std::pair<std::string, std::string>>;

namespace {

class WebSocketRoutes : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        // static_dir set empty: no web app, even when web/dist is built.
        server_ = new ServerProcess(
            {}, "server:\n  allowed_origins: [https://lab.example.edu]\n  static_dir: \"\"\n");
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static ServerProcess* server_;
    static std::uint16_t port() { return server_->port(); }

    // Logs in; returns the token and the session cookie.
    static std::pair<std::string, std::string> login(const std::string& user, const std::string& pw) {
        auto r =
            HttpClient(port()).request("POST", "/api/v1/auth/login",
                                       json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << r.body;
        if (r.status != 200) return {};
        std::string cookie;
        auto set = r.header("set-cookie");
        if (auto at = set.find("np_session="); at != std::string::npos)
            cookie = set.substr(at, set.find(';', at) - at);
        return {std::string(json::parse(r.body).at("token").as_string()), cookie};
    }
    static std::string admin_token() { return login("admin", server_->admin_password()).first; }
    static Headers bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
    static void make_user(const std::string& name, const std::string& role) {
        auto r = HttpClient(port()).request(
            "POST", "/api/v1/users",
            json::serialize(json::object{{"username", name}, {"role", role}, {"password", "a-pass-word-1"}}),
            bearer(admin_token()));
        ASSERT_EQ(r.status, 201) << r.body;
    }
    static void expect_echo(WsClient& c) {
        ASSERT_TRUE(c.open()) << c.status() << " " << c.handshake_error.message();
        boost::system::error_code ec;
        ASSERT_TRUE(c.send("ping text"));
        auto [text, binary] = c.receive(ec);
        EXPECT_EQ(text, "ping text");
        EXPECT_FALSE(binary);
        std::string bytes("\x00\x10\xfe", 3);
        ASSERT_TRUE(c.send(bytes, true));
        auto [back, back_binary] = c.receive(ec);
        EXPECT_EQ(back, bytes);
        EXPECT_TRUE(back_binary);
        c.ws.close(websocket::close_code::normal, ec);
    }
};
ServerProcess* WebSocketRoutes::server_ = nullptr;

}  // namespace

TEST_F(WebSocketRoutes, BearerTokenUpgradesAndEchoes) {
    WsClient c(port(), "/api/v1/ws/echo", bearer(admin_token()));  // no Origin: not a browser, fine
    expect_echo(c);
}

TEST_F(WebSocketRoutes, StudentsAndTeachersPerThePolicy) {
    make_user("ws-student", "student");
    make_user("ws-teacher", "teacher");
    // The echo route is `authenticated`: both roles connect.
    for (const char* who : {"ws-student", "ws-teacher"}) {
        WsClient c(port(), "/api/v1/ws/echo", bearer(login(who, "a-pass-word-1").first));
        expect_echo(c);
    }
    // The route's policy comes from the table like any route's, and the document says it is a WebSocket.
    auto doc = json::parse(HttpClient(port()).request("GET", "/api/v1/openapi.json").body);
    auto& op = doc.at("paths").at("/api/v1/ws/echo").at("get");
    EXPECT_EQ(op.at("x-policy").as_string(), "authenticated");
    EXPECT_EQ(op.at("x-websocket"), json::value(true));
    EXPECT_TRUE(op.at("responses").as_object().contains("101"));
}

TEST_F(WebSocketRoutes, AnonymousAndBadTokensGet401WithoutUpgrade) {
    for (const Headers& h : {Headers{}, bearer("not-a-token"), Headers{{"Cookie", "np_session=garbage"}}}) {
        WsClient c(port(), "/api/v1/ws/echo", h);
        EXPECT_FALSE(c.open());
        EXPECT_EQ(c.status(), 401);
        EXPECT_EQ(c.response["Content-Type"], "application/problem+json");
    }
}

TEST_F(WebSocketRoutes, CookieSessionsNeedAnAcceptedOrigin) {
    auto cookie = login("admin", server_->admin_password()).second;
    ASSERT_FALSE(cookie.empty());
    std::string own = "http://127.0.0.1:" + std::to_string(port());
    // No Origin, or another site's page: 403, not upgraded (cross-site WebSocket hijacking).
    for (const char* origin : {"", "http://evil.example", "http://127.0.0.1:1", "null"}) {
        Headers h{{"Cookie", cookie}};
        if (*origin) h.emplace_back("Origin", origin);
        WsClient c(port(), "/api/v1/ws/echo", h);
        EXPECT_FALSE(c.open()) << origin;
        EXPECT_EQ(c.status(), 403) << origin;
    }
    // The server's own origin, and one from server.allowed_origins.
    for (const std::string& origin : {own, std::string("https://lab.example.edu")}) {
        WsClient c(port(), "/api/v1/ws/echo", {{"Cookie", cookie}, {"Origin", origin}});
        expect_echo(c);
    }
}

TEST_F(WebSocketRoutes, APlainGetToAWebSocketRouteGets426) {
    auto r = HttpClient(port()).request("GET", "/api/v1/ws/echo", "", bearer(admin_token()));
    EXPECT_EQ(r.status, 426);
    EXPECT_EQ(r.header("upgrade"), "websocket");
    EXPECT_EQ(HttpClient(port()).request("GET", "/api/v1/ws/echo").status, 401);  // authentication first
}

TEST_F(WebSocketRoutes, WithoutStaticDirTheRootSaysTheAppIsNotInstalled) {
    // A browser is sent to the API reference; a script gets a problem saying where the API is described.
    auto page = HttpClient(port()).request("GET", "/", "", {{"Accept", "text/html,application/xhtml+xml"}});
    EXPECT_EQ(page.status, 302);
    EXPECT_EQ(page.header("location"), "/api/docs");
    auto r = HttpClient(port()).request("GET", "/", "", {{"Accept", "application/json"}});
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("web app is not installed"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("/api/v1/openapi.json"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("/api/docs"), std::string::npos) << r.body;
}

TEST(StaticDir, TheAppIsServedBesideTheApi) {
    char tmpl[] = "/tmp/np-app-XXXXXX";
    std::filesystem::path dir = ::mkdtemp(tmpl);
    std::ofstream(dir / "index.html") << "<!doctype html><title>app</title>";
    ServerProcess server({}, "server:\n  static_dir: " + dir.string() + "\n");
    HttpClient c(server.port());
    auto page = c.request("GET", "/courses/7", "", {{"Accept", "text/html"}});
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.body, "<!doctype html><title>app</title>");
    EXPECT_EQ(page.header("content-security-policy").find("script-src 'self'"),
              std::string("default-src 'self'; ").size());
    // The API and the operator's endpoints never fall back to the page.
    auto api = c.request("GET", "/api/v1/nothing-here", "", {{"Accept", "text/html"}});
    EXPECT_EQ(api.status, 404);
    EXPECT_EQ(api.header("content-type"), "application/problem+json");
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
    EXPECT_EQ(c.request("GET", "/../etc/passwd", "", {{"Accept", "text/html"}}).status, 404);
    std::filesystem::remove_all(dir);
}
