// Issue 11's pages through the API: the login realm picker (GET /api/v1/auth/realms, login with `realm`)
// and the audit log (logins and grading requests recorded with actor and outcome; filters, paging, order).
// `netpraxis serve` as a child process on a fresh SQLite store with two local realms.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "http_client.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

json::value parse(const std::string& s) {
    return json::parse(s);
}

constexpr const char* kConfig = R"(auth:
  realms:
    - {name: local, kind: local, label: "School account"}
    - {name: guests, kind: local}
)";

constexpr const char* kSpec = R"(id: audit-one
title: One check
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

class WebPages : public ::testing::Test {
 protected:
    static void SetUpTestSuite() { server_ = new ServerProcess({}, kConfig); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static ServerProcess* server_;
    using Headers = std::vector<std::pair<std::string, std::string>>;

    HttpClient client() { return HttpClient(server_->port()); }
    HttpResult login_raw(const std::string& user, const std::string& pw, const std::string& realm = "") {
        json::object body{{"username", user}, {"password", pw}};
        if (!realm.empty()) body["realm"] = realm;
        return client().request("POST", "/api/v1/auth/login", json::serialize(body));
    }
    Headers login(const std::string& user, const std::string& pw) {
        auto r = login_raw(user, pw);
        EXPECT_EQ(r.status, 200) << r.body;
        return {{"Authorization", "Bearer " + std::string(parse(r.body).at("token").as_string())}};
    }
    Headers admin() { return login("admin", server_->admin_password()); }
    json::array audit(const std::string& query, const Headers& h) {
        auto r = client().request("GET", "/api/v1/audit?" + query, "", h);
        EXPECT_EQ(r.status, 200) << r.body;
        return parse(r.body).at("items").as_array();
    }
};
ServerProcess* WebPages::server_ = nullptr;

}  // namespace

TEST_F(WebPages, RealmsAreListedWithoutSecretsAndALoginMayNameOne) {
    auto r = client().request("GET", "/api/v1/auth/realms");
    ASSERT_EQ(r.status, 200) << r.body;
    auto items = parse(r.body).at("items").as_array();
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0].at("name").as_string(), "local");
    EXPECT_EQ(items[0].at("kind").as_string(), "local");
    EXPECT_EQ(items[0].at("label").as_string(), "School account");
    EXPECT_EQ(items[1].at("label").as_string(), "guests");  // no label: the name
    for (const auto& it : items) EXPECT_EQ(it.as_object().size(), 3u) << json::serialize(it);

    EXPECT_EQ(login_raw("admin", server_->admin_password(), "local").status, 200);
    // The admin lives in `local`: the guests realm alone does not know them.
    EXPECT_EQ(login_raw("admin", server_->admin_password(), "guests").status, 401);
    auto bad = login_raw("admin", server_->admin_password(), "nowhere");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_NE(bad.body.find("realm"), std::string::npos);
    EXPECT_NE(bad.body.find("nowhere"), std::string::npos);
}

TEST_F(WebPages, LoginsAreAuditedWithTheirOutcomeAndNeverThePassword) {
    auto h = admin();
    EXPECT_EQ(login_raw("admin", "not-the-password-42").status, 401);
    EXPECT_EQ(login_raw("ghost-user", "ghost-password-42").status, 401);

    auto denied = audit("action=auth.login&outcome=denied", h);
    ASSERT_GE(denied.size(), 2u);
    // Newest first: the ghost's attempt, then the admin's wrong password.
    EXPECT_EQ(denied[0].at("actor").as_string(), "ghost-user");
    EXPECT_EQ(denied[0].at("actor_id").as_string(), "");
    EXPECT_EQ(denied[1].at("actor").as_string(), "admin");
    auto all = client().request("GET", "/api/v1/audit?limit=500", "", h);
    EXPECT_EQ(all.body.find("not-the-password-42"), std::string::npos);
    EXPECT_EQ(all.body.find("ghost-password-42"), std::string::npos);

    auto ok = audit("actor=admin&action=auth.&outcome=ok", h);
    ASSERT_FALSE(ok.empty());
    EXPECT_EQ(ok[0].at("action").as_string(), "auth.login");
    EXPECT_EQ(ok[0].at("detail").at("realm").as_string(), "local");
    for (const auto& e : audit("outcome=denied", h)) EXPECT_EQ(e.at("outcome").as_string(), "denied");
}

TEST_F(WebPages, GradingRequestsAreAuditedAndTheLogPagesAndFilters) {
    auto h = admin();
    auto c = client();
    auto st = c.request("POST", "/api/v1/users",
                        json::serialize(json::object{
                            {"username", "audit-st"}, {"role", "student"}, {"password", "student-pass-1"}}),
                        h);
    ASSERT_EQ(st.status, 201) << st.body;
    auto student_id = std::string(parse(st.body).at("id").as_string());
    auto ex = c.request("POST", "/api/v1/exercises",
                        json::serialize(json::object{{"slug", "audit-one"},
                                                     {"title", "One"},
                                                     {"spec", kSpec},
                                                     {"topology", "name: t\nnodes:\n  pc1: {kind: vpcs}\n"}}),
                        h);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = std::string(parse(ex.body).at("id").as_string());
    ASSERT_EQ(c.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", h).status, 200);
    auto made = c.request("POST", "/api/v1/assignments",
                          json::serialize(json::object{{"exercise_id", ex_id},
                                                       {"student_ids", json::array{json::string(student_id)}},
                                                       {"deadline", "2001-01-01T00:00:00Z"}}),
                          h);
    ASSERT_EQ(made.status, 201) << made.body;
    auto assignment = std::string(parse(made.body).at("items").at(0).at("id").as_string());

    // The deadline has passed: the student's request is refused (and recorded so); a teacher's is not.
    auto sh = login("audit-st", "student-pass-1");
    EXPECT_EQ(c.request("POST", "/api/v1/assignments/" + assignment + "/evaluations", "", sh).status, 409);
    auto accepted = c.request("POST", "/api/v1/assignments/" + assignment + "/evaluations", "", h);
    EXPECT_EQ(accepted.status, 202);
    auto eval_id = std::string(parse(accepted.body).at("evaluation").at("id").as_string());
    auto grading = audit("action=evaluation.request&object_id=" + assignment, h);
    ASSERT_EQ(grading.size(), 2u);
    EXPECT_EQ(grading[0].at("outcome").as_string(), "ok");
    EXPECT_EQ(grading[0].at("actor").as_string(), "admin");
    EXPECT_EQ(grading[0].at("detail").at("attempt").as_int64(), 1);
    EXPECT_EQ(grading[1].at("outcome").as_string(), "denied");
    EXPECT_EQ(grading[1].at("actor").as_string(), "audit-st");
    EXPECT_NE(json::serialize(grading[1].at("detail")).find("deadline"), std::string::npos);

    // The grading finished (in error: the lab was never started) and is recorded as the student's, failed,
    // naming the environment and why.
    json::array finished;
    for (int i = 0; i < 600 && finished.empty(); ++i) {
        finished = audit("action=evaluation.finish&object_id=" + eval_id, h);
        if (finished.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(finished.size(), 1u);
    EXPECT_EQ(finished[0].at("outcome").as_string(), "failed");
    EXPECT_EQ(finished[0].at("actor").as_string(), "audit-st");
    EXPECT_EQ(finished[0].at("actor_id").as_string(), student_id);
    EXPECT_EQ(finished[0].at("object_type").as_string(), "evaluation");
    EXPECT_EQ(finished[0].at("detail").at("assignment_id").as_string(), assignment);
    EXPECT_FALSE(finished[0].at("detail").at("environment_id").as_string().empty());
    EXPECT_NE(json::serialize(finished[0].at("detail").at("error")).find("not running"), std::string::npos);

    // The publish is there under its prefix, with the teacher's name.
    auto ex_log = audit("action=exercise.&object_id=" + ex_id, h);
    ASSERT_GE(ex_log.size(), 2u);
    EXPECT_EQ(ex_log[0].at("action").as_string(), "exercise.version.publish");
    EXPECT_EQ(ex_log[0].at("actor").as_string(), "admin");

    // Paging newest first: pages do not overlap and follow each other; oldest first is the reverse.
    auto p1 = parse(c.request("GET", "/api/v1/audit?limit=2", "", h).body);
    ASSERT_TRUE(p1.at("next").is_string());
    auto p2 =
        parse(c.request("GET", "/api/v1/audit?limit=2&after=" + std::string(p1.at("next").as_string()), "", h)
                  .body);
    EXPECT_GT(p1.at("items").at(1).at("id").as_int64(), p2.at("items").at(0).at("id").as_int64());
    auto oldest = audit("order=oldest&limit=1", h);
    EXPECT_LT(oldest[0].at("id").as_int64(), p2.at("items").at(0).at("id").as_int64());
    EXPECT_TRUE(audit("since=2999-01-01T00:00:00Z", h).empty());
    EXPECT_FALSE(audit("until=2999-01-01T00:00:00Z", h).empty());

    // Bad filters are 400s naming the parameter; students do not read the log.
    for (auto [q, name] :
         {std::pair{"outcome=maybe", "outcome"}, {"since=yesterday", "since"}, {"order=random", "order"}}) {
        auto r = c.request("GET", std::string("/api/v1/audit?") + q, "", h);
        EXPECT_EQ(r.status, 400) << q;
        EXPECT_NE(r.body.find(name), std::string::npos) << r.body;
    }
    EXPECT_EQ(c.request("GET", "/api/v1/audit", "", sh).status, 403);
}

// A refused request (403) is recorded: who, which route, the reason, the objects it named; once only (a
// refusal its handler records itself, a disabled account's login, is not recorded twice).
TEST_F(WebPages, RefusedRequestsAreAudited) {
    auto h = admin();
    auto c = client();
    auto st = c.request("POST", "/api/v1/users",
                        json::serialize(json::object{
                            {"username", "nosy-st"}, {"role", "student"}, {"password", "student-pass-1"}}),
                        h);
    ASSERT_EQ(st.status, 201) << st.body;
    auto student_id = std::string(parse(st.body).at("id").as_string());
    auto sh = login("nosy-st", "student-pass-1");
    EXPECT_EQ(c.request("GET", "/api/v1/audit", "", sh).status, 403);
    EXPECT_EQ(c.request("DELETE", "/api/v1/users/" + student_id, "", sh).status, 403);

    auto denied = audit("action=request.denied&actor=nosy-st", h);
    ASSERT_EQ(denied.size(), 2u);
    EXPECT_EQ(denied[0].at("outcome").as_string(), "denied");
    EXPECT_EQ(denied[0].at("actor_id").as_string(), student_id);
    EXPECT_EQ(denied[0].at("object_type").as_string(), "route");
    EXPECT_EQ(denied[0].at("object_id").as_string(), "/api/v1/users/{id}");
    EXPECT_EQ(denied[0].at("detail").at("method").as_string(), "DELETE");
    EXPECT_EQ(denied[0].at("detail").at("id").as_string(), student_id);
    EXPECT_NE(denied[0].at("detail").at("reason").as_string().find("teachers"), std::string::npos);
    EXPECT_EQ(denied[1].at("object_id").as_string(), "/api/v1/audit");

    // A disabled account's login: one entry (auth.login, denied), no second request.denied.
    ASSERT_EQ(c.request("PATCH", "/api/v1/users/" + student_id, R"({"disabled":true})", h).status, 200);
    EXPECT_EQ(login_raw("nosy-st", "student-pass-1").status, 403);
    EXPECT_EQ(audit("action=auth.login&actor=nosy-st&outcome=denied", h).size(), 1u);
    EXPECT_EQ(audit("action=request.denied&actor=nosy-st", h).size(), 2u);
}

// A signed-in student scripting forbidden requests: every one is answered 403, but at most 30 a minute of
// one caller reach the audit log (the store and the log stay bounded); another caller's refusal is recorded.
TEST_F(WebPages, OneCallersRefusalsReachTheAuditLogAtMostThirtyAMinute) {
    auto h = admin();
    auto c = client();
    for (const char* name : {"spray-st", "calm-st"})
        ASSERT_EQ(c.request("POST", "/api/v1/users",
                            json::serialize(json::object{
                                {"username", name}, {"role", "student"}, {"password", "student-pass-1"}}),
                            h)
                      .status,
                  201);
    auto spray = login("spray-st", "student-pass-1");
    int refused = 0;
    for (int i = 0; i < 45; ++i) refused += c.request("GET", "/api/v1/audit", "", spray).status == 403;
    EXPECT_EQ(refused, 45);
    EXPECT_EQ(audit("action=request.denied&actor=spray-st&limit=100", h).size(), 30u);
    auto calm = login("calm-st", "student-pass-1");
    EXPECT_EQ(c.request("GET", "/api/v1/audit", "", calm).status, 403);
    EXPECT_EQ(audit("action=request.denied&actor=calm-st&limit=100", h).size(), 1u);
}

TEST_F(WebPages, ATeachersTrialIsTheirOwnAssignmentOfADraftMadeOnce) {
    auto h = admin();
    auto c = client();
    auto me = parse(c.request("GET", "/api/v1/me", "", h).body);
    auto ex = c.request("POST", "/api/v1/exercises",
                        json::serialize(json::object{{"slug", "trial-one"},
                                                     {"title", "Trial"},
                                                     {"spec", kSpec},
                                                     {"topology", "name: t\nnodes:\n  pc1: {kind: vpcs}\n"}}),
                        h);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = std::string(parse(ex.body).at("id").as_string());
    // Version 1 is a draft: a trial does not need it published.
    auto t1 = c.request("POST", "/api/v1/exercises/" + ex_id + "/trial", "{}", h);
    ASSERT_EQ(t1.status, 200) << t1.body;
    auto a = parse(t1.body);
    EXPECT_EQ(a.at("student_id"), me.at("id"));
    EXPECT_EQ(a.at("exercise_id").as_string(), ex_id);
    auto again = c.request("POST", "/api/v1/exercises/trial-one/trial", R"({"version":1})", h);
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(parse(again.body).at("id"), a.at("id"));
    auto aid = std::string(a.at("id").as_string());
    // It has its environment, and grading it is not limited.
    auto full = parse(c.request("GET", "/api/v1/assignments/" + aid, "", h).body);
    EXPECT_TRUE(full.at("environment").is_object());
    EXPECT_EQ(c.request("POST", "/api/v1/assignments/" + aid + "/evaluations", "", h).status, 202);
    EXPECT_EQ(c.request("POST", "/api/v1/assignments/" + aid + "/evaluations", "", h).status, 202);
    EXPECT_EQ(audit("action=exercise.trial&object_id=" + ex_id, h).size(), 2u);

    auto missing = c.request("POST", "/api/v1/exercises/" + ex_id + "/trial", R"({"version":9})", h);
    EXPECT_EQ(missing.status, 404) << missing.body;
    EXPECT_EQ(c.request("POST", "/api/v1/exercises/" + ex_id + "/trial", R"({"version":"x"})", h).status,
              400);
    auto st = c.request("POST", "/api/v1/users",
                        json::serialize(json::object{
                            {"username", "trial-st"}, {"role", "student"}, {"password", "student-pass-1"}}),
                        h);
    ASSERT_EQ(st.status, 201);
    EXPECT_EQ(
        c.request("POST", "/api/v1/exercises/" + ex_id + "/trial", "{}", login("trial-st", "student-pass-1"))
            .status,
        403);
}
