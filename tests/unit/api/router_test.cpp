#include "api/router.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>
#include <set>

using namespace np;
namespace json = boost::json;

namespace {
api::RouteHandler noop() {
    return [](api::Context&) -> boost::asio::awaitable<http::Response> { co_return http::Response{}; };
}
}  // namespace

TEST(Router, MatchesParamsAndTellsMethodMismatch) {
    api::Router r;
    r.add(
        {http::Method::get, "/api/v1/exercises/{id}", api::Policy::teacher, "x", "get", {}, {}, 200, noop()});
    r.add({http::Method::post,
           "/api/v1/exercises/{id}/versions/{version}/publish",
           api::Policy::teacher,
           "x",
           "pub",
           {},
           {},
           200,
           noop()});
    std::vector<std::pair<std::string, std::string>> params;
    bool mismatch = false;
    auto* route = r.match(http::Method::get, "/api/v1/exercises/abc", params, mismatch);
    ASSERT_NE(route, nullptr);
    ASSERT_EQ(params.size(), 1u);
    EXPECT_EQ(params[0].second, "abc");
    route = r.match(http::Method::post, "/api/v1/exercises/e1/versions/3/publish", params, mismatch);
    ASSERT_NE(route, nullptr);
    EXPECT_EQ(params[1].first, "version");
    EXPECT_EQ(params[1].second, "3");
    EXPECT_EQ(r.match(http::Method::del, "/api/v1/exercises/abc", params, mismatch), nullptr);
    EXPECT_TRUE(mismatch);
    EXPECT_EQ(r.match(http::Method::get, "/api/v1/exercises", params, mismatch), nullptr);
    EXPECT_FALSE(mismatch);
    EXPECT_NE(r.match(http::Method::head, "/api/v1/exercises/abc", params, mismatch), nullptr);
}

TEST(Router, OpenApiIsGeneratedFromTheTable) {
    api::Router r;
    r.add({http::Method::get,
           "/api/v1/users",
           api::Policy::teacher,
           "users",
           "List users",
           {},
           {{"role", "string", false, ""}},
           200,
           noop(),
           true});
    r.add({http::Method::post,
           "/api/v1/users",
           api::Policy::teacher,
           "users",
           "Create",
           {{"username", "string", true, ""}, {"tags", "array", false, ""}},
           {},
           201,
           noop()});
    r.add({http::Method::del,
           "/api/v1/users/{id}",
           api::Policy::teacher,
           "users",
           "Delete",
           {},
           {},
           204,
           noop()});
    r.add({http::Method::get, "/healthz", api::Policy::public_, "system", "Health", {}, {}, 200, noop()});
    auto doc = json::parse(r.openapi("1.2.3")).as_object();
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
    EXPECT_EQ(doc.at("info").at("version").as_string(), "1.2.3");
    auto& paths = doc.at("paths").as_object();
    ASSERT_TRUE(paths.contains("/api/v1/users"));
    auto& post = paths.at("/api/v1/users").at("post").as_object();
    auto& schema = post.at("requestBody").at("content").at("application/json").at("schema").as_object();
    EXPECT_EQ(schema.at("additionalProperties").as_bool(), false);
    EXPECT_EQ(schema.at("required").as_array().size(), 1u);
    EXPECT_EQ(schema.at("properties").at("tags").at("items").at("type").as_string(), "string");
    EXPECT_TRUE(post.at("responses").as_object().contains("201"));
    auto& del = paths.at("/api/v1/users/{id}").at("delete").as_object();
    EXPECT_EQ(del.at("parameters").at(0).at("in").as_string(), "path");
    EXPECT_TRUE(del.at("parameters").at(0).at("required").as_bool());
    auto& list = paths.at("/api/v1/users").at("get").as_object();
    EXPECT_EQ(list.at("parameters").as_array().size(), 3u);  // role + limit + after
    EXPECT_TRUE(paths.at("/healthz").at("get").at("security").as_array().empty());
}

// Structural checks of OpenAPI 3.1 that a validator would make: every operation has responses and a
// unique operationId, every {param} in a path is declared, methods are lowercase keys.
TEST(Router, OpenApiStructure) {
    api::Router r;
    r.add({http::Method::get, "/a/{x}/b/{y}", api::Policy::authenticated, "t", "s", {}, {}, 200, noop()});
    r.add({http::Method::put,
           "/a/{x}/b/{y}",
           api::Policy::authenticated,
           "t",
           "s",
           {{"f", "string", false, ""}},
           {},
           200,
           noop()});
    auto doc = json::parse(r.openapi("v")).as_object();
    std::set<std::string> ids;
    for (auto& [path, item] : doc.at("paths").as_object()) {
        for (auto& [method, op] : item.as_object()) {
            EXPECT_TRUE(
                std::regex_match(std::string(method), std::regex("get|put|post|delete|patch|head|options")));
            EXPECT_TRUE(op.as_object().contains("responses"));
            EXPECT_TRUE(ids.insert(std::string(op.at("operationId").as_string())).second);
            std::set<std::string> declared;
            for (auto& p : op.at("parameters").as_array())
                if (p.at("in").as_string() == "path") declared.insert(std::string(p.at("name").as_string()));
            EXPECT_EQ(declared, (std::set<std::string>{"x", "y"}));
        }
    }
}
