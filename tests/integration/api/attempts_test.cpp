// Attempts through the API without a lab (no root needed): an evaluation that ends in error (here: the lab
// is not running) produced no grade and uses none of the assignment's `max_attempts`.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "http_client.hpp"

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

}  // namespace

TEST(ApiAttempts, AnEvaluationEndingInErrorIsNoAttemptUsed) {
    ServerProcess server;
    HttpClient c(server.port());
    using H = std::vector<std::pair<std::string, std::string>>;
    auto login = [&](const std::string& user, const std::string& pw) -> H {
        auto r = c.request("POST", "/api/v1/auth/login",
                           json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    };
    auto t = login("admin", server.admin_password());
    auto st = c.request("POST", "/api/v1/users",
                        R"({"username":"att-student","role":"student","password":"student-pass-1"})", t);
    ASSERT_EQ(st.status, 201) << st.body;
    auto student_id = std::string(json::parse(st.body).at("id").as_string());
    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "one-pc"}, {"title", "One PC"}, {"spec", kSpec}}), t);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = std::string(json::parse(ex.body).at("id").as_string());
    ASSERT_EQ(c.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", t).status, 200);
    auto as =
        c.request("POST", "/api/v1/assignments",
                  json::serialize(json::object{
                      {"exercise_id", ex_id}, {"student_ids", json::array{student_id}}, {"max_attempts", 1}}),
                  t);
    ASSERT_EQ(as.status, 201) << as.body;
    auto a_id = std::string(json::parse(as.body).at("items").at(0).at("id").as_string());
    auto student = login("att-student", "student-pass-1");

    // Three evaluations in a row on a lab that is not running: each ends in error, none is refused for
    // "all 1 attempts are used".
    for (int i = 0; i < 3; ++i) {
        auto ev = c.request("POST", "/api/v1/assignments/" + a_id + "/evaluations", "", student);
        ASSERT_EQ(ev.status, 202) << "evaluation " << i + 1 << ": " << ev.body;
        auto ev_id = std::string(json::parse(ev.body).at("evaluation").at("id").as_string());
        std::string status;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < deadline) {
            auto got = json::parse(c.request("GET", "/api/v1/evaluations/" + ev_id, "", student).body);
            status = std::string(got.at("status").as_string());
            if (status == "done" || status == "error") {
                EXPECT_NE(std::string(got.at("error").as_string()).find("not running"), std::string::npos)
                    << json::serialize(got);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        ASSERT_EQ(status, "error");
    }
}
