// Issue 12 on real local labs, as root: the final score by each policy (last, best, average) over a
// student's real evaluations, hidden checks revealed after the deadline unless the teacher keeps them
// hidden, a late evaluation's penalty, grading a whole class as one job (a student whose lab is down is an
// error line, not a zero, and uses no attempt), re-grading with a fixed spec version keeping both runs'
// reports, and the course gradebook in JSON and Moodle CSV. The student changes their lab between
// evaluations (an address on h1's loopback) with `ip netns exec`, as they would at its console.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "api_session.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

using H = std::vector<std::pair<std::string, std::string>>;

int sh(const std::string& cmd) {
    return std::system(cmd.c_str());
}

constexpr const char* kTopology = R"(name: course-hosts
nodes:
  h1: {kind: linux}
  h2: {kind: linux}
links:
  - endpoints: ["h1:eth1", "h2:eth1"]
)";

// Two checks on h1's loopback: `first` (visible, 1 point) and `second` (hidden, 1 point).
std::string spec(const std::string& second_address) {
    return R"(id: course-hosts
title: Course hosts
version: 1
devices:
  h1: {platform: linux}
  h2: {platform: linux}
checks:
  - id: first
    title: h1 has 10.88.0.1
    on: h1
    run: ip -br addr show dev lo
    expect: {contains: "10.88.0.1/32"}
    points: 1
  - id: second
    title: h1 has the secret address
    on: h1
    run: ip -br addr show dev lo
    expect: {contains: ")" +
           second_address + R"(/32"}
    points: 1
    hidden: true
grading:
  settle: off
  score: last
)";
}

class Flow : public ApiSession {
 public:
    explicit Flow(ServerProcess& s) : ApiSession(s.port()), c(http()) {}
    HttpClient& c;
    json::object view(const std::string& assignment, const H& who) {
        return call("GET", "/api/v1/assignments/" + assignment + "/view", who).as_object();
    }
};

}  // namespace

TEST(CourseGrading, PoliciesHiddenChecksLatenessClassRunsAndGradebook) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    ServerProcess server({}, "lab:\n  state_dir: {dir}/labs\n");
    Flow f(server);
    auto t = f.login("admin", server.admin_password());
    auto course = std::string(
        f.call("POST", "/api/v1/courses", t, R"({"slug":"cg-course"})", 201).at("id").as_string());
    f.call("POST", "/api/v1/courses/" + course + "/roster", t,
           json::serialize(
               json::object{{"csv", "username,display_name,group\ncg-ann,Ann,a\ncg-bob,\"=Bob\",b\n"}}));
    std::string ann_id, bob_id;
    auto roster = f.call("GET", "/api/v1/courses/" + course + "/roster", t);
    for (auto& m : roster.at("items").as_array())
        (m.at("username").as_string() == "cg-ann" ? ann_id : bob_id) = std::string(m.at("id").as_string());
    f.call("PATCH", "/api/v1/users/" + ann_id, t, R"({"password":"ann-pass-123"})");
    auto ex = f.call("POST", "/api/v1/exercises", t,
                     json::serialize(json::object{{"slug", "cg-hosts"},
                                                  {"title", "Course hosts"},
                                                  {"spec", spec("10.88.0.2")},
                                                  {"topology", kTopology}}),
                     201);
    auto ex_id = std::string(ex.at("id").as_string());
    f.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", t);
    auto job = f.call(
        "POST", "/api/v1/courses/" + course + "/assignments", t,
        json::serialize(json::object{{"exercise_id", ex_id}, {"deadline", "2030-01-01T00:00:00Z"}}), 202);
    ASSERT_EQ(f.wait_job(std::string(job.at("job").at("id").as_string()), t).at("state").as_string(),
              "succeeded");
    std::string ann_a, bob_a;
    auto assigned = f.call("GET", "/api/v1/assignments?exercise_id=" + ex_id, t);
    for (auto& a : assigned.at("items").as_array())
        (a.at("student_id").as_string() == ann_id ? ann_a : bob_a) = std::string(a.at("id").as_string());

    // Ann starts her lab (Bob never does).
    auto ann = f.login("cg-ann", "ann-pass-123");
    auto env = f.call("GET", "/api/v1/assignments/" + ann_a, ann).at("environment");
    auto env_id = std::string(env.at("id").as_string());
    auto start =
        f.call("POST", "/api/v1/environments/" + env_id + "/actions", ann, R"({"action":"start"})", 202);
    ASSERT_EQ(f.wait_job(std::string(start.at("job").at("id").as_string()), ann).at("state").as_string(),
              "succeeded");
    const std::string ns = "np" + env_id + "_h1";
    struct Destroy {  // the lab goes whatever happens below
        Flow& f;
        H t;
        std::string env;
        ~Destroy() {
            auto r =
                f.c.request("POST", "/api/v1/environments/" + env + "/actions", R"({"action":"destroy"})", t);
            if (r.status == 202)
                f.wait_job(std::string(json::parse(r.body).at("job").at("id").as_string()), t);
        }
    } destroy{f, t, env_id};

    // Three evaluations: 0, then 2 (both addresses), then 1 (the secret one removed).
    auto e1 = f.evaluate(ann_a, ann);
    ASSERT_EQ(e1.at("status").as_string(), "done") << json::serialize(e1);
    EXPECT_EQ(e1.at("score").as_double(), 0.0);
    ASSERT_EQ(sh("ip netns exec " + ns + " ip addr add 10.88.0.1/32 dev lo"), 0);
    ASSERT_EQ(sh("ip netns exec " + ns + " ip addr add 10.88.0.2/32 dev lo"), 0);
    auto e2 = f.evaluate(ann_a, ann);
    EXPECT_EQ(e2.at("score").as_double(), 2.0) << json::serialize(e2);
    ASSERT_EQ(sh("ip netns exec " + ns + " ip addr del 10.88.0.2/32 dev lo"), 0);
    auto e3 = f.evaluate(ann_a, ann);
    EXPECT_EQ(e3.at("score").as_double(), 1.0) << json::serialize(e3);
    // Before the deadline the hidden check is redacted for Ann.
    EXPECT_EQ(json::serialize(e3).find("secret address"), std::string::npos) << json::serialize(e3);

    // The final score follows the policy: last (the spec's), best, average.
    auto final_of = [&](const std::string& policy) {
        f.call("PATCH", "/api/v1/assignments/" + ann_a, t,
               json::serialize(json::object{{"score_policy", policy}}));
        auto v = f.view(ann_a, ann);
        EXPECT_EQ(v.at("attempts_used").as_int64(), 3) << json::serialize(v);
        return v.at("final").at("score").as_double();
    };
    EXPECT_EQ(f.view(ann_a, ann).at("score_policy").as_string(), "last");
    EXPECT_DOUBLE_EQ(final_of("last"), 1.0);
    EXPECT_DOUBLE_EQ(final_of("best"), 2.0);
    EXPECT_DOUBLE_EQ(final_of("average"), 1.0);

    // The deadline passes: the hidden check is revealed to Ann, unless the teacher keeps it hidden.
    f.call("PATCH", "/api/v1/assignments/" + ann_a, t, R"({"deadline":"2021-01-01T00:00:00Z"})");
    auto revealed =
        json::serialize(f.call("GET", "/api/v1/evaluations/" + std::string(e3.at("id").as_string()), ann));
    EXPECT_NE(revealed.find("secret address"), std::string::npos) << revealed;
    f.call("PATCH", "/api/v1/assignments/" + ann_a, t, R"({"keep_hidden":true})");
    auto kept = json::serialize(f.call("GET", "/api/v1/evaluations?assignment_id=" + ann_a, ann));
    EXPECT_EQ(kept.find("secret address"), std::string::npos) << kept;

    // Late: refused by default; accepted with a 50 % penalty, the late evaluation counts half.
    EXPECT_EQ(f.c.request("POST", "/api/v1/assignments/" + ann_a + "/evaluations", "", ann).status, 409);
    f.call("PATCH", "/api/v1/assignments/" + ann_a, t,
           R"({"late":"accept","late_penalty":50,"score_policy":"last"})");
    ASSERT_EQ(sh("ip netns exec " + ns + " ip addr add 10.88.0.2/32 dev lo"), 0);
    auto e4 = f.evaluate(ann_a, ann);
    EXPECT_TRUE(e4.at("late").as_bool());
    EXPECT_EQ(e4.at("score").as_double(), 2.0);
    auto v = f.view(ann_a, ann);
    EXPECT_DOUBLE_EQ(v.at("final").at("score").as_double(), 1.0) << json::serialize(v);
    EXPECT_TRUE(v.at("final").at("late").as_bool());

    // Grade the whole class as one job: Ann is graded (2/2), Bob's lab is not running: an error line.
    auto run1 = f.call("POST", "/api/v1/exercises/" + ex_id + "/class-grading", t,
                       json::serialize(json::object{{"course_id", course}, {"concurrency", 2}}), 202);
    auto run1_id = std::string(run1.at("job").at("id").as_string());
    auto run1_job = f.wait_job(run1_id, t);
    ASSERT_EQ(run1_job.at("state").as_string(), "succeeded") << json::serialize(run1_job);
    EXPECT_EQ(run1_job.at("progress").at("done").as_int64(), 2);
    auto rep1 = f.call("GET", "/api/v1/class-gradings/" + run1_id + "/report", t).as_object();
    EXPECT_EQ(rep1.at("graded").as_int64(), 1) << json::serialize(rep1);
    EXPECT_EQ(rep1.at("errors").as_int64(), 1);
    EXPECT_EQ(rep1.at("version").as_int64(), 1);
    EXPECT_EQ(rep1.at("histogram").at(9).at("students").as_int64(), 1);
    EXPECT_EQ(rep1.at("checks").as_array().size(), 2u);
    // Class gradings use none of the students' attempts.
    EXPECT_EQ(f.view(ann_a, ann).at("attempts_used").as_int64(), 4);
    auto csv1 =
        std::string(f.call("GET", "/api/v1/class-gradings/" + run1_id + "/report?format=csv", t).as_string());
    EXPECT_NE(csv1.find("cg-ann,Ann,done,2,2,100,"), std::string::npos) << csv1;
    EXPECT_NE(csv1.find("cg-bob,'=Bob,error"), std::string::npos) << csv1;  // no formula in a spreadsheet

    // The spec is fixed (the secret address was meant to be .3): version 2, re-graded. Both runs stay.
    auto v2 =
        f.call("POST", "/api/v1/exercises/" + ex_id + "/versions", t,
               json::serialize(json::object{{"spec", spec("10.88.0.3")}, {"topology", kTopology}}), 201);
    f.call("POST", "/api/v1/exercises/" + ex_id + "/versions/2/publish", t);
    auto run2 = f.call("POST", "/api/v1/exercises/" + ex_id + "/class-grading", t,
                       json::serialize(json::object{{"version", 2}}), 202);
    auto run2_id = std::string(run2.at("job").at("id").as_string());
    ASSERT_EQ(f.wait_job(run2_id, t).at("state").as_string(), "succeeded");
    auto rep2 = f.call("GET", "/api/v1/class-gradings/" + run2_id + "/report", t).as_object();
    EXPECT_EQ(rep2.at("version").as_int64(), 2);
    EXPECT_EQ(rep2.at("most_failed").at(0).as_string(), "second") << json::serialize(rep2);
    rep1 = f.call("GET", "/api/v1/class-gradings/" + run1_id + "/report", t).as_object();
    EXPECT_EQ(rep1.at("version").as_int64(), 1);
    EXPECT_EQ(rep1.at("graded").as_int64(), 1);

    // The gradebook counts the current version's grading: Ann 1 of 2; Bob nothing.
    auto book = f.call("GET", "/api/v1/courses/" + course + "/gradebook", t).as_object();
    ASSERT_EQ(book.at("columns").as_array().size(), 1u);
    EXPECT_EQ(book.at("columns").at(0).at("slug").as_string(), "cg-hosts");
    for (auto& row : book.at("rows").as_array()) {
        auto cell = row.at("cells").at(0);
        if (row.at("username").as_string() == "cg-ann") {
            EXPECT_DOUBLE_EQ(cell.at("score").as_double(), 1.0) << json::serialize(row);
        } else {
            EXPECT_FALSE(cell.at("graded").as_bool()) << json::serialize(row);
        }
    }
    auto csv =
        std::string(f.call("GET", "/api/v1/courses/" + course + "/gradebook?format=csv", t).as_string());
    EXPECT_EQ(csv.substr(0, csv.find("\r\n")), "username,email,display_name,group,cg-hosts") << csv;
    EXPECT_NE(csv.find("cg-ann,,Ann,a,1\r\n"), std::string::npos) << csv;
    EXPECT_NE(csv.find("cg-bob,,'=Bob,b,\r\n"), std::string::npos) << csv;
    // Students read neither the gradebook nor a class report.
    EXPECT_EQ(f.c.request("GET", "/api/v1/courses/" + course + "/gradebook", "", ann).status, 403);
    EXPECT_EQ(f.c.request("GET", "/api/v1/class-gradings/" + run1_id + "/report", "", ann).status, 403);
    (void)v2;
}
