// Two `netpraxis serve` instances on one PostgreSQL store: a job submitted to and run by one instance is
// seen on an event stream opened on the other (LISTEN/NOTIFY relay), and both honour one login.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http_client.hpp"
#include "pg_server.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

constexpr const char* kSpec = R"(id: one-pc
title: One PC
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

std::string field(const std::string& body, std::initializer_list<const char*> path) {
    json::value v = json::parse(body);
    for (const char* k : path) v = v.at(k);
    return std::string(v.as_string());
}

}  // namespace

TEST(Instances, EventsOfAJobRunByOneInstanceReachAStreamOnAnother) {
    const std::string store = np::store::test::create_database();
    // first on the empty store: creates the first teacher
    ServerProcess runner({"--store", store}, "server:\n  instance_id: runner\n");
    // runs no job itself (and offers no lab)
    ServerProcess viewer({"--store", store}, "server:\n  instance_id: viewer\njobs:\n  concurrency: 0\n");
    ASSERT_FALSE(runner.admin_password().empty());

    HttpClient b(runner.port());
    auto login = b.request(
        "POST", "/api/v1/auth/login",
        json::serialize(json::object{{"username", "admin"}, {"password", runner.admin_password()}}));
    ASSERT_EQ(login.status, 200) << login.body;
    std::vector<std::pair<std::string, std::string>> teacher{
        {"Authorization", "Bearer " + field(login.body, {"token"})}};

    // The viewer's stream, opened with a token issued by the runner (one secret in the shared store).
    HttpClient a(viewer.port());
    ASSERT_EQ(a.open_stream("/api/v1/events", teacher), 200);

    auto student = b.request("POST", "/api/v1/users",
                             json::serialize(json::object{
                                 {"username", "s1"}, {"role", "student"}, {"password", "student-pass-1"}}),
                             teacher);
    ASSERT_EQ(student.status, 201) << student.body;
    auto ex = b.request(
        "POST", "/api/v1/exercises",
        json::serialize(json::object{{"slug", "one-pc"}, {"title", "One PC"}, {"spec", kSpec}}), teacher);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = field(ex.body, {"id"});
    ASSERT_EQ(b.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", teacher).status,
              200);
    auto as =
        b.request("POST", "/api/v1/assignments",
                  json::serialize(json::object{{"exercise_id", ex_id},
                                               {"student_ids", json::array{field(student.body, {"id"})}}}),
                  teacher);
    ASSERT_EQ(as.status, 201) << as.body;
    auto assignment = std::string(json::parse(as.body).at("items").at(0).at("id").as_string());

    // An evaluation of a lab that is not running: a short job that fails with the reason, run by the runner
    // (the viewer claims no job).
    auto ev = b.request("POST", "/api/v1/assignments/" + assignment + "/evaluations", "", teacher);
    ASSERT_EQ(ev.status, 202) << ev.body;
    auto job = field(ev.body, {"job", "id"});
    auto seen = a.read_stream_until("\"state\":\"failed\"", 20000);
    EXPECT_NE(seen.find(job), std::string::npos) << seen;
    EXPECT_NE(seen.find("event: job.state"), std::string::npos) << seen;
    auto done = HttpClient(viewer.port()).request("GET", "/api/v1/jobs/" + job, "", teacher);
    EXPECT_EQ(done.status, 200);
    EXPECT_EQ(field(done.body, {"state"}), "failed") << done.body;
    EXPECT_NE(seen.find("not running"), std::string::npos) << seen;
}
