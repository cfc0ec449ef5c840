// Issue 9, "a 1.6 KB spec takes the server down": the alias-bomb spec is refused with a 400 naming the
// limit at create, at a draft update and at publish (of one stored before the limits existed), nothing
// stored changes, and the server keeps answering.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "bounded.hpp"
#include "http_client.hpp"
#include "store/store.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

constexpr const char* kSpec = R"(id: ping-two-pcs
title: Two PCs
devices:
  pc1: {platform: vpcs}
checks:
  - id: addr
    on: pc1
    run: show ip
    expect: {contains: "10.0.0.1"}
    points: 1
)";

constexpr const char* kLimit = "line 16: YAML expands to more than 100000 nodes (aliases included)";

class YamlLimitsApi : public ::testing::Test {
 protected:
    void SetUp() override { server_ = std::make_unique<ServerProcess>(); }

    std::vector<std::pair<std::string, std::string>> teacher() {
        HttpClient c(server_->port());
        auto r = c.request(
            "POST", "/api/v1/auth/login",
            json::serialize(json::object{{"username", "admin"}, {"password", server_->admin_password()}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    }

    // Asserts a 400 problem whose body names the limit and its line.
    static void expect_refused(const HttpResult& r, const std::string& field) {
        EXPECT_EQ(r.status, 400) << r.body;
        EXPECT_NE(r.body.find(kLimit), std::string::npos) << r.body;
        if (!field.empty()) {
            EXPECT_NE(r.body.find("\"path\":\"" + field + "\""), std::string::npos) << r.body;
        }
    }

    std::unique_ptr<ServerProcess> server_;
};

}  // namespace

TEST_F(YamlLimitsApi, AliasBombSpecIsRefusedEverywhereAndNothingStoredChanges) {
    const std::string bomb = spec_bomb(9, 10);
    ASSERT_LT(bomb.size(), 1600u);
    auto t = teacher();
    HttpClient c(server_->port());

    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "ping"}, {"title", "Ping"}, {"spec", kSpec}}), t);
    ASSERT_EQ(ex.status, 201) << ex.body;
    const std::string id(json::parse(ex.body).at("id").as_string());
    const std::string v1 = "/api/v1/exercises/" + id + "/versions/1";

    // Create: refused, no exercise made.
    expect_refused(
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "bomb"}, {"title", "Bomb"}, {"spec", bomb}}), t),
        "spec");
    EXPECT_EQ(c.request("GET", "/api/v1/exercises/bomb", "", t).status, 404);
    // As a topology, too.
    expect_refused(c.request("POST", "/api/v1/exercises",
                             json::serialize(json::object{
                                 {"slug", "bomb2"}, {"title", "Bomb"}, {"spec", kSpec}, {"topology", bomb}}),
                             t),
                   "topology");
    EXPECT_EQ(c.request("GET", "/api/v1/exercises/bomb2", "", t).status, 404);

    // Draft update and new version: refused, version 1 unchanged, no version 2.
    expect_refused(c.request("PUT", v1, json::serialize(json::object{{"spec", bomb}}), t), "spec");
    expect_refused(c.request("POST", "/api/v1/exercises/" + id + "/versions",
                             json::serialize(json::object{{"spec", bomb}}), t),
                   "spec");
    auto got = c.request("GET", v1, "", t);
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(json::parse(got.body).at("spec").as_string(), kSpec);
    EXPECT_EQ(c.request("GET", "/api/v1/exercises/" + id + "/versions/2", "", t).status, 404);

    // Publish of a bomb stored before the limits existed (written straight into the store): refused with
    // the limit, the version stays a draft with its content, and the server answers the next request.
    {
        auto store = np::store::open_store("sqlite:" + server_->dir() + "/np.db");
        auto v = store->get_version(id, 1);
        ASSERT_TRUE(v);
        v->spec = bomb;
        store->update_draft(*v);
    }
    expect_refused(c.request("POST", v1 + "/publish", "", t), "");
    got = c.request("GET", v1, "", t);
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(json::parse(got.body).at("state").as_string(), "draft");
    EXPECT_EQ(json::parse(got.body).at("spec").as_string(), bomb);
    EXPECT_EQ(c.request("GET", "/healthz").status, 200);
}

TEST_F(YamlLimitsApi, SpecLimitsAreNamedAtPublish) {
    // 201 checks: valid YAML well under the YAML limits, so it is stored; publishing names the spec limit.
    std::string spec = "id: many\ndevices:\n  pc1: {platform: vpcs}\nchecks:\n";
    for (int i = 0; i < 201; ++i)
        spec += "  - {id: c" + std::to_string(i) + ", on: pc1, run: show ip, expect: {contains: x}}\n";
    auto t = teacher();
    HttpClient c(server_->port());
    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "many"}, {"title", "Many"}, {"spec", spec}}), t);
    ASSERT_EQ(ex.status, 201) << ex.body;
    const std::string id(json::parse(ex.body).at("id").as_string());
    auto r = c.request("POST", "/api/v1/exercises/" + id + "/versions/1/publish", "", t);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("the spec has more than 200 checks"), std::string::npos) << r.body;
    auto got = c.request("GET", "/api/v1/exercises/" + id + "/versions/1", "", t);
    EXPECT_EQ(json::parse(got.body).at("state").as_string(), "draft");
}
