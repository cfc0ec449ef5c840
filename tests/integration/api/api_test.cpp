// The REST API end to end: `netpraxis serve` as a child process on a fresh SQLite store, driven over HTTP.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <future>
#include <set>
#include <thread>

#include "http_client.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

json::value parse(const std::string& s) {
    return json::parse(s);
}

class Api : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = new ServerProcess(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static ServerProcess* server_;

    HttpClient client() { return HttpClient(server_->port()); }

    // Logs in and returns the bearer header.
    std::vector<std::pair<std::string, std::string>> login(const std::string& user, const std::string& pw) {
        auto c = client();
        auto r = c.request("POST", "/api/v1/auth/login",
                           json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << r.body;
        auto token = std::string(parse(r.body).at("token").as_string());
        return {{"Authorization", "Bearer " + token}};
    }
    std::vector<std::pair<std::string, std::string>> admin() {
        return login("admin", server_->admin_password());
    }

    // Creates a student with a password and returns its id.
    std::string make_student(const std::string& name) {
        auto c = client();
        auto r = c.request("POST", "/api/v1/users",
                           json::serialize(json::object{
                               {"username", name}, {"role", "student"}, {"password", "student-pass-1"}}),
                           admin());
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(parse(r.body).at("id").as_string());
    }
};
ServerProcess* Api::server_ = nullptr;

constexpr const char* kSpec = R"(id: ping-two-pcs
title: Two PCs
version: 1
devices:
  pc1: {platform: vpcs}
checks:
  - id: addr
    on: pc1
    run: show ip
    expect: {contains: "10.0.0.1"}
    points: 1
)";

}  // namespace

TEST_F(Api, HealthReadyMetricsAndOpenApi) {
    auto c = client();
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
    EXPECT_EQ(c.request("GET", "/readyz").status, 200);
    auto m = c.request("GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_NE(m.body.find("netpraxis_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
              std::string::npos);
    EXPECT_NE(m.body.find("netpraxis_http_request_duration_seconds_bucket"), std::string::npos);
    EXPECT_NE(m.body.find("netpraxis_jobs{state=\"queued\"}"), std::string::npos);
    auto o = c.request("GET", "/api/v1/openapi.json");
    ASSERT_EQ(o.status, 200);
    auto doc = parse(o.body).as_object();
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
    for (const char* p :
         {"/api/v1/me", "/api/v1/auth/login", "/api/v1/exercises/{id}/versions/{version}/publish",
          "/api/v1/assignments", "/api/v1/evaluations/{id}", "/api/v1/jobs", "/api/v1/events"})
        EXPECT_TRUE(doc.at("paths").as_object().contains(p)) << p;
    EXPECT_EQ(c.request("GET", "/nope").status, 404);
    EXPECT_EQ(c.request("DELETE", "/api/v1/me").status, 405);
}

TEST_F(Api, FirstTeacherLogsInAndSeesHimself) {
    ASSERT_FALSE(server_->admin_password().empty());
    // The one-time password is printed once on the console but never in a log line.
    auto out = server_->output();
    auto first = out.find(server_->admin_password());
    EXPECT_EQ(out.find(server_->admin_password(), first + 1), std::string::npos);
    auto auth = admin();
    auto c = client();
    auto me = c.request("GET", "/api/v1/me", "", auth);
    ASSERT_EQ(me.status, 200);
    auto o = parse(me.body);
    EXPECT_EQ(o.at("username").as_string(), "admin");
    EXPECT_EQ(o.at("role").as_string(), "teacher");
}

TEST_F(Api, LoginFailuresAndTokenProblems) {
    auto c = client();
    auto bad = c.request("POST", "/api/v1/auth/login", R"({"username":"admin","password":"wrong-password"})");
    EXPECT_EQ(bad.status, 401);
    auto unknown =
        c.request("POST", "/api/v1/auth/login", R"({"username":"ghost","password":"wrong-password"})");
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(parse(bad.body).at("detail"), parse(unknown.body).at("detail"));
    EXPECT_EQ(c.request("GET", "/api/v1/me").status, 401);
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", {{"Authorization", "Bearer abc.def.ghi"}}).status, 401);
    auto none =
        c.request("GET", "/api/v1/me", "",
                  {{"Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6InRlYWNoZXIifQ."}});
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.header("content-type"), "application/problem+json");
    EXPECT_FALSE(parse(none.body).at("request_id").as_string().empty());
}

TEST_F(Api, MalformedAndUnknownAndOversizedBodies) {
    auto auth = admin();
    auto c = client();
    auto r = c.request("POST", "/api/v1/users", "{not json", auth);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(r.body.find("malformed JSON"), std::string::npos);
    r = c.request("POST", "/api/v1/users", R"({"username":"x","role":"student","admin":true})", auth);
    EXPECT_EQ(r.status, 400);
    auto errs = parse(r.body).at("errors").as_array();
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].at("path").as_string(), "admin");
    EXPECT_EQ(errs[0].at("message").as_string(), "unknown field");
    r = c.request("POST", "/api/v1/users", R"({"username":5})", auth);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(parse(r.body).at("errors").as_array().size(), 2u);  // username type, role missing
    HttpClient big(server_->port());
    r = big.request("POST", "/api/v1/users", std::string(2 * 1024 * 1024, ' '), auth);
    EXPECT_EQ(r.status, 413);
    // Nothing was stored by any of these.
    auto list = c.request("GET", "/api/v1/users?q=x", "", auth);
    EXPECT_EQ(parse(list.body).at("items").as_array().size(), 0u);
}

TEST_F(Api, StudentsAreKeptToTheirOwnObjects) {
    auto c = client();
    auto t = admin();
    auto s1 = make_student("stud-a1");
    auto s2 = make_student("stud-a2");
    auto ex = c.request(
        "POST", "/api/v1/exercises",
        json::serialize(json::object{{"slug", "ping-two"}, {"title", "Two PCs"}, {"spec", kSpec}}), t);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = std::string(parse(ex.body).at("id").as_string());
    // Not published yet: cannot be assigned.
    auto assign_body =
        json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{s1, s2}}});
    EXPECT_EQ(c.request("POST", "/api/v1/assignments", assign_body, t).status, 409);
    ASSERT_EQ(c.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", t).status, 200);
    // Published versions are immutable.
    EXPECT_EQ(
        c.request("PUT", "/api/v1/exercises/" + ex_id + "/versions/1", R"({"spec":"id: x\n"})", t).status,
        409);
    auto as = c.request("POST", "/api/v1/assignments", assign_body, t);
    ASSERT_EQ(as.status, 201) << as.body;
    auto items = parse(as.body).at("items").as_array();
    ASSERT_EQ(items.size(), 2u);
    std::string a1, a2;
    for (auto& a : items)
        (a.at("student_id").as_string() == s1 ? a1 : a2) = std::string(a.at("id").as_string());

    auto st1 = login("stud-a1", "student-pass-1");
    // Teacher-only routes.
    EXPECT_EQ(c.request("GET", "/api/v1/users", "", st1).status, 403);
    EXPECT_EQ(c.request("POST", "/api/v1/exercises", R"({"slug":"s","title":"t"})", st1).status, 403);
    // Own assignment visible, the other student's is not (404, not 403: ids are not confirmed).
    EXPECT_EQ(c.request("GET", "/api/v1/assignments/" + a1, "", st1).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/assignments/" + a2, "", st1).status, 404);
    auto mine = parse(c.request("GET", "/api/v1/assignments", "", st1).body).at("items").as_array();
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].at("id").as_string(), a1);
    // Even an explicit filter for another student is overridden.
    auto other =
        parse(c.request("GET", "/api/v1/environments?student_id=" + s2, "", st1).body).at("items").as_array();
    for (auto& e : other) EXPECT_EQ(e.at("student_id").as_string(), s1);
    // Evaluating another's assignment is refused; own is queued as a job.
    EXPECT_EQ(c.request("POST", "/api/v1/assignments/" + a2 + "/evaluations", "", st1).status, 404);
    auto ev = c.request("POST", "/api/v1/assignments/" + a1 + "/evaluations", "", st1);
    ASSERT_EQ(ev.status, 202) << ev.body;
    auto ev_id = std::string(parse(ev.body).at("evaluation").at("id").as_string());
    auto job_id = std::string(parse(ev.body).at("job").at("id").as_string());
    EXPECT_EQ(c.request("GET", "/api/v1/evaluations/" + ev_id, "", st1).status, 200);
    EXPECT_EQ(c.request("GET", "/api/v1/jobs/" + job_id, "", st1).status, 200);
    auto st2 = login("stud-a2", "student-pass-1");
    EXPECT_EQ(c.request("GET", "/api/v1/evaluations/" + ev_id, "", st2).status, 404);
    EXPECT_EQ(c.request("GET", "/api/v1/jobs/" + job_id, "", st2).status, 404);
    // Environment actions: own only; destroy is for teachers.
    auto env1 = parse(c.request("GET", "/api/v1/assignments/" + a1, "", st1).body).at("environment");
    auto env_id = std::string(env1.at("id").as_string());
    EXPECT_EQ(
        c.request("POST", "/api/v1/environments/" + env_id + "/actions", R"({"action":"start"})", st2).status,
        404);
    EXPECT_EQ(c.request("POST", "/api/v1/environments/" + env_id + "/actions", R"({"action":"destroy"})", st1)
                  .status,
              403);
    EXPECT_EQ(
        c.request("POST", "/api/v1/environments/" + env_id + "/actions", R"({"action":"fly"})", st1).status,
        400);
    EXPECT_EQ(
        c.request("POST", "/api/v1/environments/" + env_id + "/actions", R"({"action":"start"})", st1).status,
        202);
    // The audit log recorded the teacher's actions.
    auto audit =
        parse(c.request("GET", "/api/v1/audit?object_id=" + ex_id, "", t).body).at("items").as_array();
    EXPECT_GE(audit.size(), 2u);
}

TEST_F(Api, CookieSessionsNeedCsrfForWrites) {
    auto c = client();
    auto r = c.request(
        "POST", "/api/v1/auth/login",
        json::serialize(json::object{{"username", "admin"}, {"password", server_->admin_password()}}));
    ASSERT_EQ(r.status, 200);
    auto cookies = r.header("set-cookie");
    EXPECT_NE(cookies.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookies.find("SameSite=Strict"), std::string::npos);
    auto token = std::string(parse(r.body).at("token").as_string());
    auto csrf = std::string(parse(r.body).at("csrf_token").as_string());
    std::vector<std::pair<std::string, std::string>> cookie{{"Cookie", "np_session=" + token}};
    EXPECT_EQ(c.request("GET", "/api/v1/me", "", cookie).status, 200);
    auto body = R"({"username":"csrf-user","role":"student"})";
    EXPECT_EQ(c.request("POST", "/api/v1/users", body, cookie).status, 403);
    auto with = cookie;
    with.emplace_back("X-CSRF-Token", csrf);
    EXPECT_EQ(c.request("POST", "/api/v1/users", body, with).status, 201);
}

TEST_F(Api, PaginationWalksEveryPage) {
    auto c = client();
    auto t = admin();
    for (int i = 0; i < 7; ++i) make_student("page-" + std::to_string(i));
    std::string after;
    std::set<std::string> seen;
    int pages = 0;
    for (;;) {
        auto r = c.request(
            "GET", "/api/v1/users?role=student&q=page-&limit=3" + (after.empty() ? "" : "&after=" + after),
            "", t);
        ASSERT_EQ(r.status, 200);
        auto o = parse(r.body).as_object();
        for (auto& u : o.at("items").as_array()) seen.insert(std::string(u.at("username").as_string()));
        ++pages;
        if (o.at("next").is_null()) break;
        after = std::string(o.at("next").as_string());
    }
    EXPECT_EQ(seen.size(), 7u);
    EXPECT_EQ(pages, 3);
    EXPECT_EQ(c.request("GET", "/api/v1/users?limit=0", "", t).status, 400);
}

TEST_F(Api, EventsStreamResumesWithLastEventId) {
    auto t = admin();
    auto s = make_student("sse-student");
    auto c = client();
    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "sse-ex"}, {"title", "SSE"}, {"spec", kSpec}}), t);
    auto ex_id = std::string(parse(ex.body).at("id").as_string());
    c.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", t);
    auto as =
        c.request("POST", "/api/v1/assignments",
                  json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{s}}}), t);
    auto a_id = std::string(parse(as.body).at("items").at(0).at("id").as_string());

    auto stream = std::make_unique<HttpClient>(server_->port());
    ASSERT_EQ(stream->open_stream("/api/v1/events", t), 200);
    auto first = c.request("POST", "/api/v1/assignments/" + a_id + "/evaluations", "", t);
    ASSERT_EQ(first.status, 202);
    auto job1 = std::string(parse(first.body).at("job").at("id").as_string());
    auto got = stream->read_stream_until(job1, 5000);
    ASSERT_NE(got.find(job1), std::string::npos) << got;
    auto idpos = got.rfind("id: ");
    ASSERT_NE(idpos, std::string::npos);
    auto last_id = got.substr(idpos + 4, got.find('\n', idpos) - idpos - 4);

    // Disconnect, let more happen, reconnect with Last-Event-ID: the missed events arrive, the old do not.
    stream.reset();
    auto second = c.request("POST", "/api/v1/assignments/" + a_id + "/evaluations", "", t);
    auto job2 = std::string(parse(second.body).at("job").at("id").as_string());
    HttpClient again(server_->port());
    auto h = t;
    h.emplace_back("Last-Event-ID", last_id);
    ASSERT_EQ(again.open_stream("/api/v1/events", h), 200);
    auto resumed = again.read_stream_until(job2, 5000);
    EXPECT_NE(resumed.find(job2), std::string::npos);
    EXPECT_EQ(resumed.find("id: " + last_id + "\n"), std::string::npos);
}

TEST(ApiSessions, LogoutRevokesTheTokenOnEveryInstanceAndAfterARestart) {
    auto first = std::make_unique<ServerProcess>();
    const std::string store = "sqlite:" + first->dir() + "/np.db";
    const std::string password = first->admin_password();
    ServerProcess second({"--store", store}, "auth:\n  revocation_poll: 100ms\n");  // same store
    auto login = [&](std::uint16_t port) {
        HttpClient c(port);
        auto r = c.request("POST", "/api/v1/auth/login",
                           json::serialize(json::object{{"username", "admin"}, {"password", password}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return std::vector<std::pair<std::string, std::string>>{
            {"Authorization", "Bearer " + std::string(parse(r.body).at("token").as_string())}};
    };
    auto me = [](std::uint16_t port, const auto& auth) {
        return HttpClient(port).request("GET", "/api/v1/me", "", auth).status;
    };
    auto leaving = login(first->port());
    auto staying = login(first->port());
    EXPECT_EQ(me(second.port(), leaving), 200);  // one secret in the shared store: valid on both

    EXPECT_EQ(HttpClient(first->port()).request("POST", "/api/v1/auth/logout", "", leaving).status, 204);
    EXPECT_EQ(me(first->port(), leaving), 401);  // at once where the logout happened
    int on_second = 200;
    for (int i = 0; i < 50 && on_second == 200; ++i) {  // within a few polls on the other instance
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        on_second = me(second.port(), leaving);
    }
    EXPECT_EQ(on_second, 401);
    EXPECT_EQ(me(second.port(), staying), 200);

    // A restart does not bring the revoked token back.
    EXPECT_EQ(first->stop(SIGTERM), 0);  // (its folder, which holds the store, stays until the end)
    ServerProcess third({"--store", store});
    EXPECT_EQ(me(third.port(), leaving), 401);
    EXPECT_EQ(me(third.port(), staying), 200);
}

TEST(ApiShutdown, SigtermLetsTheServerExitCleanly) {
    ServerProcess server;
    HttpClient c(server.port());
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
    HttpClient stream(server.port());
    auto r = c.request(
        "POST", "/api/v1/auth/login",
        json::serialize(json::object{{"username", "admin"}, {"password", server.admin_password()}}));
    auto token = std::string(parse(r.body).at("token").as_string());
    ASSERT_EQ(stream.open_stream("/api/v1/events", {{"Authorization", "Bearer " + token}}), 200);
    // An open event stream and an idle keep-alive connection must not hold the shutdown up.
    EXPECT_EQ(server.stop(SIGTERM, 15000), 0) << server.output();
    EXPECT_NE(server.output().find("server.stopped"), std::string::npos);
}
