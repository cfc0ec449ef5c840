// The whole loop through the server, as root on a real local lab: a teacher publishes an exercise with a
// local topology (two Linux hosts), assigns it, the student starts the lab (a reconcile job builds the
// namespaces), evaluates (the grader runs commands in them) and reads an exact score; destroying the lab
// leaves no namespace behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "api_session.hpp"
#include "shell.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

std::string run(const std::string& cmd) {
    return np::testkit::shell_output(cmd);
}

constexpr const char* kTopology = R"(name: two-hosts
nodes:
  h1: {kind: linux, exec: ["ip addr add 10.77.0.1/24 dev eth1"]}
  h2: {kind: linux, exec: ["ip addr add 10.77.0.2/24 dev eth1"]}
links:
  - endpoints: ["h1:eth1", "h2:eth1"]
)";

// Three checks: two pass on the topology as built, one (h2 has .3) cannot: the score must be exactly 4/6. The
// lab is built before grading and does not converge: a short settle window (the key goes through publish and
// the job like any other) keeps the wrong check from holding the grade for 30 s.
constexpr const char* kSpec = R"(id: two-hosts
title: Two hosts
version: 1
devices:
  h1: {platform: linux}
  h2: {platform: linux}
checks:
  - id: h1-address
    on: h1
    run: ip -br addr
    expect: {match: '^eth1(@\S+)?\s+UP\s+10\.77\.0\.1/24'}
    points: 1
  - id: h1-reaches-h2
    on: h1
    run: ping -c 2 -W 1 10.77.0.2
    expect: {ping: {min_success: 50}}
    points: 3
    requires: [h1-address]
  - id: h2-wrong
    on: h2
    run: ip -br addr
    expect: {contains: "10.77.0.3/24"}
    points: 2
    hidden: true
grading: {settle: {for: 3s, every: 1s}}
)";

}  // namespace

// The test's session, with the server it talks to.
class E2e : public ApiSession {
 public:
    explicit E2e(ServerProcess& s) : ApiSession(s.port()), server(s), c(http()) {}
    ServerProcess& server;
    HttpClient& c;
};

TEST(E2eLab, TeacherAssignsStudentStartsEvaluatesAndTeacherDestroys) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    ServerProcess server({}, "lab:\n  state_dir: {dir}/labs\n");
    E2e t(server);
    auto teacher = t.login("admin", server.admin_password());
    auto student_id =
        std::string(t.call("POST", "/api/v1/users", teacher,
                           R"({"username":"e2e-student","role":"student","password":"student-pass-1"})", 201)
                        .at("id")
                        .as_string());
    // A spec with an error cannot be published; the error names path and line.
    auto bad = t.call("POST", "/api/v1/exercises", teacher,
                      json::serialize(json::object{{"slug", "bad-spec"},
                                                   {"title", "Bad"},
                                                   {"spec",
                                                    "id: bad\nchecks:\n  - id: x\n    on: nowhere\n    run: "
                                                    "show\n    expect: {match: '('}\n    points: 1\n"}}),
                      201);
    auto bad_pub = t.c.request(
        "POST", "/api/v1/exercises/" + std::string(bad.at("id").as_string()) + "/versions/1/publish", "",
        teacher);
    EXPECT_EQ(bad_pub.status, 400) << bad_pub.body;
    EXPECT_NE(bad_pub.body.find("line"), std::string::npos) << bad_pub.body;

    auto ex =
        t.call("POST", "/api/v1/exercises", teacher,
               json::serialize(json::object{
                   {"slug", "two-hosts"}, {"title", "Two hosts"}, {"spec", kSpec}, {"topology", kTopology}}),
               201);
    auto ex_id = std::string(ex.at("id").as_string());
    t.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);
    auto as = t.call(
        "POST", "/api/v1/assignments", teacher,
        json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{student_id}}}), 201);
    auto a_id = std::string(as.at("items").at(0).at("id").as_string());

    auto student = t.login("e2e-student", "student-pass-1");
    auto env = t.call("GET", "/api/v1/assignments/" + a_id, student, "", 200).at("environment");
    auto env_id = std::string(env.at("id").as_string());
    // Evaluating before the lab runs is an error result, not a crash or a silent zero.
    auto early = t.call("POST", "/api/v1/assignments/" + a_id + "/evaluations", student, "", 202);
    t.wait_job(std::string(early.at("job").at("id").as_string()), student);
    auto early_ev = t.call(
        "GET", "/api/v1/evaluations/" + std::string(early.at("evaluation").at("id").as_string()), student);
    EXPECT_EQ(early_ev.at("status").as_string(), "error");
    EXPECT_NE(std::string(early_ev.at("error").as_string()).find("not running"), std::string::npos);

    auto start =
        t.call("POST", "/api/v1/environments/" + env_id + "/actions", student, R"({"action":"start"})", 202);
    auto job = t.wait_job(std::string(start.at("job").at("id").as_string()), student);
    ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
    env = t.call("GET", "/api/v1/environments/" + env_id, student, "", 200);
    EXPECT_EQ(env.at("observed_state").as_string(), "running") << json::serialize(env);
    EXPECT_EQ(env.at("addresses").at("devices").as_array().size(), 2u);
    EXPECT_NE(run("ip netns list").find("np" + env_id), std::string::npos) << run("ip netns list");

    auto ev = t.call("POST", "/api/v1/assignments/" + a_id + "/evaluations", student, "", 202);
    auto ev_job = t.wait_job(std::string(ev.at("job").at("id").as_string()), student);
    EXPECT_EQ(ev_job.at("state").as_string(), "succeeded") << json::serialize(ev_job);
    auto ev_id = std::string(ev.at("evaluation").at("id").as_string());
    auto result = t.call("GET", "/api/v1/evaluations/" + ev_id, student, "", 200).as_object();
    EXPECT_EQ(result.at("status").as_string(), "done");
    EXPECT_EQ(result.at("score").as_double(), 4.0);
    EXPECT_EQ(result.at("max_score").as_double(), 6.0);
    std::map<std::string, std::string> status;
    for (auto& c : result.at("results").as_array())
        status[std::string(c.at("id").as_string())] = std::string(c.at("status").as_string());
    EXPECT_EQ(status["h1-address"], "passed");
    EXPECT_EQ(status["h1-reaches-h2"], "passed");
    EXPECT_EQ(status["h2-wrong"], "failed");
    // The student sees the hidden check's points, never its command, pattern or evidence; no transcript.
    auto student_view = json::serialize(result);
    EXPECT_EQ(student_view.find("10.77.0.3"), std::string::npos);
    EXPECT_FALSE(result.contains("transcript"));
    auto teacher_view = t.call("GET", "/api/v1/evaluations/" + ev_id, teacher, "", 200).as_object();
    EXPECT_TRUE(teacher_view.contains("transcript"));

    auto destroy = t.call("POST", "/api/v1/environments/" + env_id + "/actions", teacher,
                          R"({"action":"destroy"})", 202);
    auto djob = t.wait_job(std::string(destroy.at("job").at("id").as_string()), teacher);
    EXPECT_EQ(djob.at("state").as_string(), "succeeded") << json::serialize(djob);
    EXPECT_EQ(run("ip netns list").find("np" + env_id), std::string::npos);
    EXPECT_EQ(
        t.call("GET", "/api/v1/environments/" + env_id, teacher, "", 200).at("observed_state").as_string(),
        "absent");
}
