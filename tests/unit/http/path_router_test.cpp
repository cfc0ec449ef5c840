// http::PathRouter: patterns match in the order they were added, parameters are extracted, HEAD answers
// through GET patterns and a path known under another method is told apart (405 vs 404).
#include "http/path_router.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

using namespace np;

TEST(PathRouter, MatchesInOrderWithParameters) {
    http::PathRouter r;
    EXPECT_EQ(r.add(http::Method::get, "/api/v1/exercises/lint"), 0u);
    EXPECT_EQ(r.add(http::Method::get, "/api/v1/exercises/{id}"), 1u);
    EXPECT_EQ(r.add(http::Method::post, "/api/v1/exercises/{id}/versions/{version}/publish"), 2u);
    http::PathParams params;
    bool mismatch = true;
    EXPECT_EQ(r.match(http::Method::get, "/api/v1/exercises/lint", params, mismatch), 0u);
    EXPECT_FALSE(mismatch);
    EXPECT_TRUE(params.empty());
    EXPECT_EQ(r.match(http::Method::get, "/api/v1/exercises/e7", params, mismatch), 1u);
    ASSERT_EQ(params.size(), 1u);
    EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"id", "e7"}));
    EXPECT_EQ(r.match(http::Method::post, "//api/v1/exercises/e1/versions/3/publish", params, mismatch), 2u);
    ASSERT_EQ(params.size(), 2u);
    EXPECT_EQ(params[1].first, "version");
    EXPECT_EQ(params[1].second, "3");
    EXPECT_EQ(r.size(), 3u);
}

TEST(PathRouter, TellsMethodMismatchFromNoMatchAndHeadUsesGet) {
    http::PathRouter r;
    r.add(http::Method::get, "/a/{id}");
    http::PathParams params;
    bool mismatch = false;
    EXPECT_FALSE(r.match(http::Method::del, "/a/1", params, mismatch));
    EXPECT_TRUE(mismatch);
    EXPECT_FALSE(r.match(http::Method::get, "/b/1", params, mismatch));
    EXPECT_FALSE(mismatch);
    EXPECT_FALSE(r.match(http::Method::get, "/a", params, mismatch));      // too short
    EXPECT_FALSE(r.match(http::Method::get, "/a/1/2", params, mismatch));  // too long
    EXPECT_EQ(r.match(http::Method::head, "/a/1", params, mismatch), 0u);
}

TEST(PathRouter, RefusesTooLongPatternsAndMatchesNoTooLongPath) {
    http::PathRouter r;
    std::string deep;
    for (std::size_t i = 0; i <= http::PathRouter::kMaxSegments; ++i) deep += "/s";
    EXPECT_THROW(r.add(http::Method::get, deep), core::Error);
    r.add(http::Method::get, "/{a}");
    http::PathParams params;
    bool mismatch = false;
    EXPECT_FALSE(r.match(http::Method::get, deep, params, mismatch));
}

TEST(PathRouter, ARestSegmentTakesTheRestOfThePathAtAnyDepth) {
    http::PathRouter r;
    r.add(http::Method::get, "/p/{id}/files/{path...}");
    r.add(http::Method::get, "/p/{id}/files");
    http::PathParams params;
    bool mismatch = false;
    EXPECT_EQ(r.match(http::Method::get, "/p/7/files/a.gns3", params, mismatch), 0u);
    ASSERT_EQ(params.size(), 2u);
    EXPECT_EQ(params[1], (std::pair<std::string, std::string>{"path", "a.gns3"}));
    // Deeper than kMaxSegments: still this route, the rest kept as written.
    std::string deep = "/p/7/files";
    std::string rest;
    for (std::size_t i = 0; i < http::PathRouter::kMaxSegments; ++i)
        rest += (rest.empty() ? "" : "/") + std::string("d");
    EXPECT_EQ(r.match(http::Method::get, deep + "/" + rest + "/f.txt", params, mismatch), 0u);
    EXPECT_EQ(params[1].second, rest + "/f.txt");
    // The rest is one segment or more: none is the other route.
    EXPECT_EQ(r.match(http::Method::get, "/p/7/files/", params, mismatch), 1u);
    EXPECT_FALSE(r.match(http::Method::post, "/p/7/files/x/y", params, mismatch));
    EXPECT_TRUE(mismatch);
    // Only as the last segment.
    EXPECT_THROW(r.add(http::Method::get, "/p/{path...}/x"), core::Error);
}
