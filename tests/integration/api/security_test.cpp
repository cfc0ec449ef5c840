// The holes of the security issue, each tried against `netpraxis serve` as an attacker would: files outside
// an exercise, tokens that outlive their user, lenient numbers, HTTP framing, browser headers, the login
// limits. Every test here failed before its fix.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <csignal>
#include <fstream>
#include <thread>

#include "http_client.hpp"
#include "ws_client.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

json::value parse(const std::string& s) {
    return json::parse(s);
}

class Security : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = new ServerProcess(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static ServerProcess* server_;

    HttpClient client() { return HttpClient(server_->port()); }

    HttpResult login_raw(const std::string& user, const std::string& pw) {
        return client().request("POST", "/api/v1/auth/login",
                                json::serialize(json::object{{"username", user}, {"password", pw}}));
    }
    Headers login(const std::string& user, const std::string& pw) {
        auto r = login_raw(user, pw);
        EXPECT_EQ(r.status, 200) << r.body;
        if (r.status != 200) return {};
        return {{"Authorization", "Bearer " + std::string(parse(r.body).at("token").as_string())}};
    }
    Headers admin() { return login("admin", server_->admin_password()); }

    std::string make_user(const std::string& name, const std::string& role, const std::string& pw) {
        auto r = client().request(
            "POST", "/api/v1/users",
            json::serialize(json::object{{"username", name}, {"role", role}, {"password", pw}}), admin());
        EXPECT_EQ(r.status, 201) << r.body;
        return r.status == 201 ? std::string(parse(r.body).at("id").as_string()) : "";
    }

    // The per-field errors of a problem response, as "path: message" lines.
    static std::string errors_of(const HttpResult& r) {
        std::string out;
        auto v = parse(r.body);
        if (auto* errs = v.as_object().if_contains("errors"))
            for (const auto& e : errs->as_array())
                out += std::string(e.at("path").as_string()) + ": " +
                       std::string(e.at("message").as_string()) + "\n";
        return out;
    }
};
ServerProcess* Security::server_ = nullptr;

constexpr const char* kSpec = R"(id: files
title: Files
devices:
  h1: {platform: linux}
checks:
  - id: up
    on: h1
    run: ip link
    expect: {contains: "UP"}
    points: 1
)";

// Sends raw bytes on a fresh connection and reads until the server closes it (or 20 s pass).
std::string exchange_until_close(std::uint16_t port, const std::string& bytes) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return {};
    }
    timeval tv{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)!::write(fd, bytes.data(), bytes.size());
    std::string out;
    char buf[4096];
    for (;;) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace

// Critical: a topology named /etc/shadow as a node's config; the server read it as root when a student
// started the lab and showed it to them. Now a topology sent through the API takes inline configs only.
TEST_F(Security, TopologyFilesOutsideTheExerciseAreRefused) {
    auto c = client();
    for (const char* ref : {"../../../etc/shadow", "/etc/hostname", "configs/h1.sh", "~root/.ssh/id_rsa"}) {
        std::string topo = std::string("name: t\nnodes:\n  h1:\n    kind: linux\n    config: ") + ref + "\n";
        auto r = c.request("POST", "/api/v1/exercises",
                           json::serialize(json::object{
                               {"slug", "files-bad"}, {"title", "t"}, {"spec", kSpec}, {"topology", topo}}),
                           admin());
        EXPECT_EQ(r.status, 400) << ref << ": " << r.body;
        auto errs = errors_of(r);
        EXPECT_NE(errs.find("topology.nodes.h1.config: line 5:"), std::string::npos) << errs;
        EXPECT_NE(errs.find("inline"), std::string::npos) << errs;
        EXPECT_EQ(r.body.find("root:"), std::string::npos);  // nothing of the file came back
    }
    // Inline configuration is what the API takes.
    auto ok = c.request(
        "POST", "/api/v1/exercises",
        json::serialize(json::object{{"slug", "files-ok"},
                                     {"title", "t"},
                                     {"spec", kSpec},
                                     {"topology",
                                      "name: t\nnodes:\n  h1:\n    kind: linux\n    config: |\n      "
                                      "ip addr add 10.0.0.1/24 dev eth0\n"}}),
        admin());
    ASSERT_EQ(ok.status, 201) << ok.body;
    auto id = std::string(parse(ok.body).at("id").as_string());

    // A new draft pointing out of the folder is refused and loses nothing of the stored one.
    auto bad =
        c.request("POST", "/api/v1/exercises/" + id + "/versions",
                  json::serialize(json::object{
                      {"spec", kSpec}, {"topology", "nodes:\n  h1: {kind: linux, config: /etc/shadow}\n"}}),
                  admin());
    EXPECT_EQ(bad.status, 400) << bad.body;
    auto v1 = c.request("GET", "/api/v1/exercises/" + id + "/versions/1", "", admin());
    ASSERT_EQ(v1.status, 200);
    EXPECT_NE(v1.body.find("ip addr add 10.0.0.1/24"), std::string::npos);
    EXPECT_EQ(c.request("GET", "/api/v1/exercises/" + id + "/versions/2", "", admin()).status, 404);

    // The spec's own file names (instructions, lab.local, lab.gns3) stay inside the folder too.
    std::string spec =
        std::string(kSpec) + "instructions: ../../etc/passwd\nlab: {gns3: /srv/x.gns3project}\n";
    auto draft = c.request("POST", "/api/v1/exercises/" + id + "/versions",
                           json::serialize(json::object{{"spec", spec}}), admin());
    ASSERT_EQ(draft.status, 201) << draft.body;
    auto n = parse(draft.body).at("version").as_int64();
    auto pub = c.request("POST", "/api/v1/exercises/" + id + "/versions/" + std::to_string(n) + "/publish",
                         "", admin());
    EXPECT_EQ(pub.status, 400) << pub.body;
    auto errs = errors_of(pub);
    EXPECT_NE(errs.find("spec.instructions"), std::string::npos) << errs;
    EXPECT_NE(errs.find("spec.lab.gns3"), std::string::npos) << errs;
    auto gns3 = c.request(
        "POST", "/api/v1/exercises/" + id + "/versions",
        json::serialize(json::object{{"spec", kSpec}, {"gns3_project", "../../x.gns3project"}}), admin());
    EXPECT_EQ(gns3.status, 400) << gns3.body;
}

// High: a token outlived its user. A change of role, a deletion, a disable or a password change now ends
// the user's sessions on the very next request.
TEST_F(Security, SessionsEndWhenTheirUserChanges) {
    auto c = client();
    auto t2 = make_user("demoted-teacher", "teacher", "teacher-pass-1");
    auto t2_auth = login("demoted-teacher", "teacher-pass-1");
    ASSERT_EQ(c.request("GET", "/api/v1/users", "", t2_auth).status, 200);
    ASSERT_EQ(c.request("PATCH", "/api/v1/users/" + t2, R"({"role":"student"})", admin()).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/users", "", t2_auth).status, 401);
    EXPECT_EQ(c.request("GET", "/api/v1/audit", "", t2_auth).status, 401);
    auto created = c.request("POST", "/api/v1/users",
                             R"({"username":"sneaky","role":"teacher","password":"sneaky-pass-1"})", t2_auth);
    EXPECT_EQ(created.status, 401) << created.body;
    // Logging in again gives a student's session.
    auto again = login("demoted-teacher", "teacher-pass-1");
    EXPECT_EQ(c.request("GET", "/api/v1/users", "", again).status, 403);
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", again).status, 200);

    // A deleted teacher's token creates nobody; a deleted student's /me answers 401.
    auto t3 = make_user("deleted-teacher", "teacher", "teacher-pass-1");
    auto t3_auth = login("deleted-teacher", "teacher-pass-1");
    auto s1 = make_user("deleted-student", "student", "student-pass-1");
    auto s1_auth = login("deleted-student", "student-pass-1");
    ASSERT_EQ(c.request("DELETE", "/api/v1/users/" + t3, "", admin()).status, 204);
    ASSERT_EQ(c.request("DELETE", "/api/v1/users/" + s1, "", admin()).status, 204);
    EXPECT_EQ(
        c.request("POST", "/api/v1/users", R"({"username":"sneaky2","role":"teacher"})", t3_auth).status,
        401);
    auto me = c.request("GET", "/api/v1/me", "", s1_auth);
    EXPECT_EQ(me.status, 401);
    EXPECT_NE(me.body.find("no longer exists"), std::string::npos) << me.body;

    // A password reset ends older sessions; the new password works.
    auto s2 = make_user("reset-student", "student", "student-pass-1");
    auto s2_auth = login("reset-student", "student-pass-1");
    ASSERT_EQ(c.request("PATCH", "/api/v1/users/" + s2, R"({"password":"student-pass-2"})", admin()).status,
              200);
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", s2_auth).status, 401);
    EXPECT_EQ(login_raw("reset-student", "student-pass-1").status, 401);
    auto s2_new = login("reset-student", "student-pass-2");
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", s2_new).status, 200);
    // A display-name change ends nothing.
    ASSERT_EQ(c.request("PATCH", "/api/v1/users/" + s2, R"({"display_name":"Reset"})", admin()).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", s2_new).status, 200);

    // Disabled: sessions end and the password no longer opens one; enabled again, it does.
    ASSERT_EQ(c.request("PATCH", "/api/v1/users/" + s2, R"({"disabled":true})", admin()).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", s2_new).status, 401);
    auto refused = login_raw("reset-student", "student-pass-2");
    EXPECT_EQ(refused.status, 403) << refused.body;
    EXPECT_EQ(login_raw("reset-student", "wrong-password").status, 401);  // a guesser learns nothing
    ASSERT_EQ(c.request("PATCH", "/api/v1/users/" + s2, R"({"disabled":false})", admin()).status, 200);
    EXPECT_EQ(login_raw("reset-student", "student-pass-2").status, 200);
}

// Medium: numbers were parsed leniently (1e3 -> 1, 5abc -> 5, 2^32 -> 0 = unlimited).
TEST_F(Security, NumbersAreStrict) {
    auto c = client();
    auto auth = admin();
    for (const char* limit :
         {"1e3", "5abc", "%205", "%2B5", "5%00", "99999999999999999999", "0", "501", "-1", ""}) {
        auto r = c.request("GET", std::string("/api/v1/users?limit=") + limit, "", auth);
        EXPECT_EQ(r.status, 400) << "limit=" << limit << ": " << r.body;
        EXPECT_NE(r.body.find("limit"), std::string::npos);
    }
    EXPECT_EQ(c.request("GET", "/api/v1/users?limit=5", "", auth).status, 200);
    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "numbers"}, {"title", "n"}, {"spec", kSpec}}), auth);
    ASSERT_EQ(ex.status, 201) << ex.body;
    for (const char* v : {"4294967297", "1x", "0", "-1"}) {
        auto r = c.request("GET", std::string("/api/v1/exercises/numbers/versions/") + v, "", auth);
        EXPECT_EQ(r.status, 400) << v << ": " << r.body;
    }
    auto pub = c.request("POST", "/api/v1/exercises/numbers/versions/1/publish", "", auth);
    ASSERT_EQ(pub.status, 200) << pub.body;
    auto student = make_user("numbers-student", "student", "student-pass-1");
    for (const char* body :
         {R"({"max_attempts":4294967296})", R"({"max_attempts":18446744073709551615})",
          R"({"max_attempts":1.5})", R"({"cooldown_seconds":4294967296})", R"({"version":4294967297})"}) {
        auto b = json::parse(body).as_object();
        b["exercise_id"] = "numbers";
        b["student_ids"] = json::array{json::value(student)};
        auto r = c.request("POST", "/api/v1/assignments", json::serialize(b), auth);
        EXPECT_EQ(r.status, 400) << body << ": " << r.body;
    }
    auto list = c.request("GET", "/api/v1/assignments", "", auth);
    ASSERT_EQ(list.status, 200);
    EXPECT_TRUE(parse(list.body).at("items").as_array().empty()) << list.body;  // nothing half-stored
    // A spec version that does not fit is an error at publish, not version 1.
    auto big = c.request(
        "POST", "/api/v1/exercises/numbers/versions",
        json::serialize(json::object{{"spec", std::string(kSpec) + "version: 4294967297\n"}}), auth);
    ASSERT_EQ(big.status, 201) << big.body;
    auto bad_pub = c.request("POST", "/api/v1/exercises/numbers/versions/2/publish", "", auth);
    EXPECT_EQ(bad_pub.status, 400) << bad_pub.body;
    EXPECT_NE(errors_of(bad_pub).find("spec.version"), std::string::npos) << bad_pub.body;
    auto events = c.request("GET", "/api/v1/events", "", {auth[0], {"Last-Event-ID", "12abc"}});
    EXPECT_EQ(events.status, 400);
}

// Low: a bad chunk size closed the connection with no answer; HEAD on the event stream sent a body.
TEST_F(Security, HttpFramingAnswersWithAStatus) {
    auto bad_chunk = exchange_until_close(
        server_->port(),
        "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
    EXPECT_EQ(bad_chunk.rfind("HTTP/1.1 400 ", 0), 0u) << bad_chunk;
    // Boost 1.81's Beast asserted on a last chunk split across segments: a client could abort the server.
    {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(server_->port());
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (std::string part :
             {std::string("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                          "chunked\r\nContent-Type: application/json\r\n\r\n"),
              std::string("0\r\n"), std::string("x")}) {
            (void)!::write(fd, part.data(), part.size());
            // Separate segments make the server parse them apart; if it ever reads them together the test
            // only exercises less, it cannot fail falsely.
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ::close(fd);
        EXPECT_EQ(client().request("GET", "/healthz").status, 200) << "the server died";
    }
    auto token = admin()[0].second;
    auto head = exchange_until_close(
        server_->port(), "HEAD /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: " + token + "\r\n\r\n");
    ASSERT_EQ(head.rfind("HTTP/1.1 200 ", 0), 0u) << head;
    auto end = head.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(head.size(), end + 4) << "a body followed the head: " << head.substr(end + 4);
}

// Low: browser security headers on every response, no caching of what a session reads.
TEST_F(Security, BrowserHeadersOnEveryResponse) {
    auto c = client();
    auto auth = admin();
    for (auto r : {c.request("GET", "/healthz"), c.request("GET", "/nope"), c.request("GET", "/api/v1/me"),
                   c.request("GET", "/api/v1/me", "", auth), c.request("POST", "/api/v1/users", "{", auth)}) {
        EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
        EXPECT_EQ(r.header("x-frame-options"), "DENY");
        EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
        EXPECT_NE(r.header("content-security-policy").find("default-src 'none'"), std::string::npos);
        EXPECT_NE(r.header("content-security-policy").find("frame-ancestors 'none'"), std::string::npos);
    }
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", auth).header("cache-control"), "no-store");
    EXPECT_EQ(c.request("GET", "/api/v1/users", "", auth).header("cache-control"), "no-store");
    // Not behind a trusted proxy and not configured secure: cookies are not Secure (they would be lost).
    auto plain = login_raw("admin", server_->admin_password());
    EXPECT_EQ(plain.header("set-cookie").find("Secure"), std::string::npos);
    // Anyone may claim https; only a trusted proxy is believed.
    auto claimed = client().request(
        "POST", "/api/v1/auth/login",
        json::serialize(json::object{{"username", "admin"}, {"password", server_->admin_password()}}),
        {{"X-Forwarded-Proto", "https"}});
    EXPECT_EQ(claimed.header("set-cookie").find("Secure"), std::string::npos);
}

TEST(SecurityConfig, TrustedProxyMakesCookiesSecureAndMetricsCanBeClosed) {
    ServerProcess server({}, "server:\n  trusted_proxies: [127.0.0.1]\n  metrics: off\n");
    HttpClient c(server.port());
    auto body = json::serialize(json::object{{"username", "admin"}, {"password", server.admin_password()}});
    auto https = c.request("POST", "/api/v1/auth/login", body, {{"X-Forwarded-Proto", "https"}});
    ASSERT_EQ(https.status, 200) << https.body;
    auto cookies = https.header("set-cookie");
    EXPECT_NE(cookies.find("np_session="), std::string::npos);
    EXPECT_NE(cookies.find("; Secure; HttpOnly"), std::string::npos) << cookies;
    auto http = c.request("POST", "/api/v1/auth/login", body, {{"X-Forwarded-Proto", "http"}});
    EXPECT_EQ(http.header("set-cookie").find("Secure"), std::string::npos);
    EXPECT_EQ(c.request("GET", "/metrics").status, 404);
}

// Medium: successful logins counted toward the per-address limit, so the 31st student behind one NAT
// address was locked out. With a limit of 5 per address, 12 students log in, then failures are limited.
TEST(SecurityLogin, OnlyFailuresCountTowardTheLimits) {
    ServerProcess server({}, "auth:\n  login_attempts_per_address: 5\n  login_attempts_per_user: 3\n");
    HttpClient c(server.port());
    auto login = [&](const std::string& u, const std::string& p) {
        return c.request("POST", "/api/v1/auth/login",
                         json::serialize(json::object{{"username", u}, {"password", p}}));
    };
    auto admin = login("admin", server.admin_password());
    ASSERT_EQ(admin.status, 200);
    std::vector<std::pair<std::string, std::string>> auth{
        {"Authorization", "Bearer " + std::string(json::parse(admin.body).at("token").as_string())}};
    for (int i = 0; i < 12; ++i) {
        auto r = c.request("POST", "/api/v1/users",
                           json::serialize(json::object{{"username", "nat" + std::to_string(i)},
                                                        {"role", "student"},
                                                        {"password", "student-pass-1"}}),
                           auth);
        ASSERT_EQ(r.status, 201) << r.body;
    }
    for (int i = 0; i < 12; ++i)
        EXPECT_EQ(login("nat" + std::to_string(i), "student-pass-1").status, 200) << i;
    // Per user: the fourth wrong password for one name is refused for a while, others are not held up.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(login("nat0", "wrong-password").status, 401);
    EXPECT_EQ(login("nat0", "wrong-password").status, 429);
    EXPECT_EQ(login("nat1", "student-pass-1").status, 200);
    // Per address: two more failures (five in all) and this address is refused, even a right password.
    EXPECT_EQ(login("nat2", "wrong-password").status, 401);
    EXPECT_EQ(login("nat3", "wrong-password").status, 401);
    auto limited = login("nat4", "student-pass-1");
    EXPECT_EQ(limited.status, 429) << limited.body;
    EXPECT_FALSE(limited.header("retry-after").empty());
}

// The authorization matrix, generated from the route table (the OpenAPI document lists every route with its
// x-policy): every route × (anonymous, student, other student, teacher, stale-role token, deleted user) ×
// own/other object. A new route is covered the day it is added.
TEST_F(Security, AuthorizationMatrixFromTheRouteTable) {
    auto c = client();
    auto t = admin();
    auto a = make_user("matrix-a", "student", "student-pass-1");
    auto b = make_user("matrix-b", "student", "student-pass-1");
    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "matrix"}, {"title", "m"}, {"spec", kSpec}}), t);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = std::string(parse(ex.body).at("id").as_string());
    // A stored file (issues 10 and 11), so that GET .../files/{name} has one to answer with.
    std::ifstream project_file(
        std::string(NETPRAXIS_SOURCE_DIR) + "/examples/gns3-vpcs-router/gns3-vpcs-router.gns3project",
        std::ios::binary);
    std::string project{std::istreambuf_iterator<char>(project_file), {}};
    auto zip_headers = t;
    zip_headers.emplace_back("Content-Type", "application/zip");
    ASSERT_EQ(
        c.request("PUT", "/api/v1/exercises/" + ex_id + "/versions/1/project", project, zip_headers).status,
        200);
    ASSERT_EQ(c.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", t).status, 200);
    auto as = c.request(
        "POST", "/api/v1/assignments",
        json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{a, b}}}), t);
    ASSERT_EQ(as.status, 201) << as.body;
    struct Objects {
        std::string user, assignment, environment, evaluation, job;
    } own, other;
    own.user = a;
    other.user = b;
    auto assigned = parse(as.body);
    for (auto& item : assigned.at("items").as_array())
        (item.at("student_id").as_string() == a ? own : other).assignment =
            std::string(item.at("id").as_string());
    auto a_auth = login("matrix-a", "student-pass-1");
    auto b_auth = login("matrix-b", "student-pass-1");
    for (auto* o : {&own, &other}) {
        auto& who = o == &own ? a_auth : b_auth;
        auto got = parse(c.request("GET", "/api/v1/assignments/" + o->assignment, "", who).body);
        o->environment = std::string(got.at("environment").at("id").as_string());
        auto ev = c.request("POST", "/api/v1/assignments/" + o->assignment + "/evaluations", "", who);
        ASSERT_EQ(ev.status, 202) << ev.body;
        o->evaluation = std::string(parse(ev.body).at("evaluation").at("id").as_string());
        o->job = std::string(parse(ev.body).at("job").at("id").as_string());
    }
    // A teacher demoted after logging in (stale role), and a student deleted after logging in.
    auto stale_id = make_user("matrix-stale", "teacher", "teacher-pass-1");
    auto stale = login("matrix-stale", "teacher-pass-1");
    ASSERT_EQ(c.request("PATCH", "/api/v1/users/" + stale_id, R"({"role":"student"})", t).status, 200);
    auto gone_id = make_user("matrix-gone", "student", "student-pass-1");
    auto gone = login("matrix-gone", "student-pass-1");
    ASSERT_EQ(c.request("DELETE", "/api/v1/users/" + gone_id, "", t).status, 204);
    // Issue 12: a course with both students, and a class grading run (its labs are not running: each
    // student's grading ends in error, which is still a report to read).
    auto course = c.request("POST", "/api/v1/courses", R"({"slug":"matrix-course"})", t);
    ASSERT_EQ(course.status, 201) << course.body;
    auto course_id = std::string(parse(course.body).at("id").as_string());
    ASSERT_EQ(c.request("POST", "/api/v1/courses/" + course_id + "/roster",
                        R"({"csv":"username\nmatrix-a\nmatrix-b\n"})", t)
                  .status,
              200);
    auto run = c.request("POST", "/api/v1/exercises/" + ex_id + "/class-grading", "{}", t);
    ASSERT_EQ(run.status, 202) << run.body;
    auto run_id = std::string(parse(run.body).at("job").at("id").as_string());

    auto fill = [&](std::string pattern, const Objects& o) {
        auto put = [&](const std::string& key, const std::string& value) {
            if (auto at = pattern.find(key); at != std::string::npos) pattern.replace(at, key.size(), value);
        };
        std::string id = pattern.starts_with("/api/v1/users/")            ? o.user
                         : pattern.starts_with("/api/v1/assignments/")    ? o.assignment
                         : pattern.starts_with("/api/v1/environments/")   ? o.environment
                         : pattern.starts_with("/api/v1/evaluations/")    ? o.evaluation
                         : pattern.starts_with("/api/v1/jobs/")           ? o.job
                         : pattern.starts_with("/api/v1/courses/")        ? course_id
                         : pattern.starts_with("/api/v1/class-gradings/") ? run_id
                                                                          : ex_id;
        put("{id}", id);
        put("{user_id}", o.user);
        put("{version}", "1");
        put("{name}", "lab.gns3project");
        return pattern;
    };
    auto doc = parse(c.request("GET", "/api/v1/openapi.json").body);
    int cases = 0;
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method_lc, op] : item.as_object()) {
            std::string method(method_lc);
            for (auto& ch : method) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            auto policy = std::string(op.at("x-policy").as_string());
            std::string pattern(path);
            bool has_body = op.as_object().contains("requestBody");
            std::string body = !has_body                       ? ""
                               : pattern.ends_with("/actions") ? R"({"action":"start"})"
                                                               : "{}";
            bool streaming = pattern == "/api/v1/events";
            bool per_object = pattern.find("{id}") != std::string::npos;
            std::string where = method + " " + pattern;
            if (policy == "public") continue;
            // Nobody without a live session gets past authentication, whatever the route.
            for (const Headers* who : std::initializer_list<const Headers*>{nullptr, &stale, &gone}) {
                auto r = c.request(method, fill(pattern, other), body, who ? *who : Headers{});
                EXPECT_EQ(r.status, 401) << where
                                         << (who == &stale  ? " (stale role)"
                                             : who == &gone ? " (deleted)"
                                                            : " (anonymous)");
                ++cases;
            }
            if (streaming || pattern == "/api/v1/auth/logout") continue;  // (would end the student's session)
            // A WebSocket route on another student's object: refused before any upgrade (a plain GET would
            // only get 426); their own needs a running lab, which this server has not.
            if (op.as_object().contains("x-websocket") && per_object) {
                WsClient ws(server_->port(), fill(pattern, other), a_auth);
                EXPECT_FALSE(ws.open()) << where << " (other student's object, WebSocket)";
                EXPECT_TRUE(ws.status() == 404 || ws.status() == 403) << where << ": " << ws.status();
                EXPECT_EQ(c.request(method, fill(pattern, other), "", t).status, 426)
                    << where << " (teacher)";
                cases += 2;
                continue;
            }
            // A student: teacher routes are forbidden; another student's object does not exist for them.
            auto r = c.request(method, fill(pattern, other), body, a_auth);
            if (policy == "teacher") {
                EXPECT_EQ(r.status, 403) << where << " (student)";
            } else if (per_object) {
                EXPECT_TRUE(r.status == 404 || r.status == 403)
                    << where << " (other student's object): " << r.status;
            }
            ++cases;
            // Their own object answers, for reading.
            if (per_object && policy != "teacher" && method == "GET") {
                auto mine = c.request(method, fill(pattern, own), "", a_auth);
                EXPECT_EQ(mine.status, 200) << where << " (own object): " << mine.body;
                ++cases;
            }
            // A teacher reads everything (a WebSocket route answers a plain GET with 426: upgrade).
            if (method == "GET" && op.as_object().contains("x-websocket")) {
                EXPECT_EQ(c.request(method, fill(pattern, other), "", t).status, 426)
                    << where << " (teacher)";
                ++cases;
            } else if (method == "GET") {
                auto tr = c.request(method, fill(pattern, other), "", t);
                EXPECT_EQ(tr.status, 200) << where << " (teacher): " << tr.body;
                ++cases;
            }
        }
    }
    EXPECT_GT(cases, 80);
}

// Two instances on one store: a teacher demoted on the first cannot write on the second at once (the
// write is confirmed against the store), is refused there for reading within a few revocation polls, and
// the change survives a restart.
TEST(SecuritySessions, ARoleChangeReachesEveryInstance) {
    auto first = std::make_unique<ServerProcess>();
    const std::string store = "sqlite:" + first->dir() + "/np.db";
    const std::string password = first->admin_password();
    ServerProcess second({"--store", store}, "auth:\n  revocation_poll: 100ms\n");
    auto login = [&](std::uint16_t port, const std::string& user, const std::string& pw) {
        auto r =
            HttpClient(port).request("POST", "/api/v1/auth/login",
                                     json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return Headers{{"Authorization", "Bearer " + std::string(parse(r.body).at("token").as_string())}};
    };
    auto admin = login(first->port(), "admin", password);
    auto made = HttpClient(first->port())
                    .request("POST", "/api/v1/users",
                             R"({"username":"t-multi","role":"teacher","password":"teacher-pass-1"})", admin);
    ASSERT_EQ(made.status, 201) << made.body;
    auto id = std::string(parse(made.body).at("id").as_string());
    auto teacher = login(second.port(), "t-multi", "teacher-pass-1");
    ASSERT_EQ(HttpClient(second.port()).request("GET", "/api/v1/users", "", teacher).status, 200);

    ASSERT_EQ(HttpClient(first->port())
                  .request("PATCH", "/api/v1/users/" + id, R"({"role":"student"})", admin)
                  .status,
              200);
    // A write on the other instance is refused at once.
    auto write = HttpClient(second.port())
                     .request("POST", "/api/v1/users", R"({"username":"sneaky","role":"teacher"})", teacher);
    EXPECT_EQ(write.status, 401) << write.body;
    // Reads within a few polls (a condition with a deadline, not a fixed wait).
    int status = 200;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (status == 200 && std::chrono::steady_clock::now() < deadline) {
        status = HttpClient(second.port()).request("GET", "/api/v1/users", "", teacher).status;
        if (status == 200) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(status, 401);
    EXPECT_EQ(HttpClient(first->port()).request("GET", "/api/v1/users", "", teacher).status, 401);
    // After a restart too.
    EXPECT_EQ(first->stop(SIGTERM), 0);
    ServerProcess third({"--store", store});
    EXPECT_EQ(HttpClient(third.port()).request("GET", "/api/v1/me", "", teacher).status, 401);
}

// The bad-input corpus: one case per class of hostile input (paths, numbers, YAML, encodings, JSON, HTTP
// framing). Each gets a 4xx problem with a reason, and nothing already stored is lost.
TEST_F(Security, BadInputCorpusGetsReasonedFourHundredsAndLosesNothing) {
    auto c = client();
    auto t = admin();
    auto made =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "corpus"}, {"title", "Corpus"}, {"spec", kSpec}}), t);
    ASSERT_EQ(made.status, 201) << made.body;
    auto before_users = c.request("GET", "/api/v1/users?limit=500", "", t).body;
    auto before_version = c.request("GET", "/api/v1/exercises/corpus/versions/1", "", t).body;
    std::string bad_regex_spec = std::string(kSpec) +
                                 "  - id: re\n    on: h1\n    run: ip addr\n"
                                 "    expect: {match: '(['}\n    points: 1\n";
    struct Case {
        const char* what;
        std::string method, target, body;
    };
    std::string deep(100000, '[');
    std::vector<Case> cases = {
        {"bad percent escape", "GET", "/api/v1/users/%zz", ""},
        {"encoded traversal", "GET", "/api/v1/exercises/..%2F..%2Fetc%2Fpasswd", ""},
        {"NUL in a path", "GET", "/api/v1/users/a%00b", ""},
        {"float where an integer goes", "GET", "/api/v1/users?limit=2.5", ""},
        {"integer overflow", "GET", "/api/v1/jobs?limit=18446744073709551617", ""},
        {"malformed JSON", "POST", "/api/v1/users", "{\"username\":"},
        {"invalid UTF-8", "POST", "/api/v1/users", "{\"username\":\"\xff\xfe\",\"role\":\"student\"}"},
        {"byte order mark", "POST", "/api/v1/users",
         "\xef\xbb\xbf{\"username\":\"bom\",\"role\":\"student\"}"},
        {"deep JSON", "POST", "/api/v1/users", deep},
        {"number too big", "POST", "/api/v1/assignments",
         R"({"exercise_id":"corpus","student_ids":["x"],"max_attempts":1e309})"},
        {"wrong JSON type", "PATCH", "/api/v1/users/none", R"({"disabled":"yes"})"},
        {"broken YAML", "POST", "/api/v1/exercises/corpus/versions", R"({"spec":"id: [\n"})"},
        {"YAML that is not a map", "POST", "/api/v1/exercises/corpus/versions", R"({"spec":"- a\n- b\n"})"},
        {"topology file outside", "PUT", "/api/v1/exercises/corpus/versions/1",
         R"({"topology":"nodes:\n  h1: {kind: linux, config: /etc/shadow}\n"})"},
        {"bad slug", "POST", "/api/v1/exercises", R"({"slug":"../x","title":"t"})"},
        {"control character in a username", "POST", "/api/v1/users",
         "{\"username\":\"a\\u0000b\",\"role\":\"student\"}"},
    };
    for (const auto& k : cases) {
        auto r = c.request(k.method, k.target, k.body, t);
        EXPECT_GE(r.status, 400) << k.what << ": " << r.body;
        EXPECT_LT(r.status, 500) << k.what << ": " << r.body;
        EXPECT_EQ(r.header("content-type"), "application/problem+json") << k.what;
        if (r.header("content-type") == "application/problem+json") {
            EXPECT_FALSE(parse(r.body).at("detail").as_string().empty()) << k.what;
        }
    }
    // A regex that does not compile: stored as a draft (the YAML is fine), refused at publish naming it.
    auto draft = c.request("POST", "/api/v1/exercises/corpus/versions",
                           json::serialize(json::object{{"spec", bad_regex_spec}}), t);
    ASSERT_EQ(draft.status, 201) << draft.body;
    auto pub = c.request("POST", "/api/v1/exercises/corpus/versions/2/publish", "", t);
    EXPECT_EQ(pub.status, 400) << pub.body;
    EXPECT_NE(errors_of(pub).find("checks[1]"), std::string::npos) << pub.body;
    // HTTP framing, on raw connections.
    for (const char* raw :
         {"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n{}",
          "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
          "chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n",
          "GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
          "GET /api/v1/me HTTP/9.9\r\nHost: x\r\n\r\n", "GET  /api/v1/me HTTP/1.1\r\n\r\n"}) {
        auto answer = exchange_until_close(server_->port(), raw);
        EXPECT_EQ(answer.rfind("HTTP/1.1 4", 0), 0u) << raw << " -> " << answer.substr(0, 80);
    }
    // Nothing stored was lost or changed by any of it.
    EXPECT_EQ(c.request("GET", "/api/v1/users?limit=500", "", t).body, before_users);
    EXPECT_EQ(c.request("GET", "/api/v1/exercises/corpus/versions/1", "", t).body, before_version);
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
}

// The API reference at /api/docs (issue 15): served by the binary itself, no CDN, its own CSP.
TEST_F(Security, ApiReferenceIsServedByTheBinary) {
    auto c = client();
    auto page = c.request("GET", "/api/docs");
    ASSERT_EQ(page.status, 200) << page.body;
    EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(page.body.find("/api/docs/swagger-ui-bundle.js"), std::string::npos);
    EXPECT_EQ(page.body.find("http"), std::string::npos) << "the page loads nothing from elsewhere";
    auto csp = page.header("content-security-policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("default-src 'none'"), std::string::npos) << "the page's CSP replaces the API's";
    auto js = c.request("GET", "/api/docs/swagger-ui-bundle.js");
    ASSERT_EQ(js.status, 200);
    EXPECT_GT(js.body.size(), 500'000u);
    EXPECT_NE(js.body.find("SwaggerUIBundle"), std::string::npos);
    EXPECT_EQ(js.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(c.request("GET", "/api/docs/init.js").status, 200);
    EXPECT_EQ(c.request("GET", "/api/docs/swagger-ui.css").header("content-type"), "text/css; charset=utf-8");
}
