// http::PathRouter: matches a request's method and path against patterns such as
// "/api/v1/exercises/{id}/versions/{version}", in the order they were added, and extracts the `{name}`
// parameters. A last segment `{name...}` takes the rest of the path (one segment or more, as written, slashes
// included: "/v2/projects/{id}/files/{path...}"). It knows nothing of what a route does: a user (api::Router,
// with its handlers and access policies) keeps its own table and looks entries up by the index this router
// answers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.hpp"

namespace np::http {

using PathParams = std::vector<std::pair<std::string, std::string>>;

class PathRouter {
 public:
    // Routes have at most this many segments; a longer path matches nothing but a `{name...}` route.
    static constexpr std::size_t kMaxSegments = 12;

    // Adds a pattern ("{name}" segments are parameters) and returns its index (0, 1, ... in the order of
    // add). Throws core::Error(internal) on a pattern with more than kMaxSegments segments.
    std::size_t add(Method method, std::string_view pattern);
    // The index of the first pattern matching `path` whose method is `method` (a GET pattern also answers
    // HEAD), with `params` set to its parameters; nullopt when none does, with `method_mismatch` true when
    // a pattern matched the path under another method (405, not 404). A parameter never matches an empty
    // segment; repeated slashes count as one.
    std::optional<std::size_t> match(Method method, std::string_view path, PathParams& params,
                                     bool& method_mismatch) const;
    std::size_t size() const { return patterns_.size(); }

 private:
    struct Segment {
        std::string text;  // the literal, or the parameter's name
        bool is_param;
        bool is_rest = false;  // `{name...}`, the last segment: the rest of the path
    };
    struct Pattern {
        Method method;
        std::vector<Segment> segments;
    };
    // The patterns as a tree of segments, so a match walks the path's depth instead of every pattern (the
    // API has well over a hundred routes, nearly all under /api/v1). A node's children: one per literal,
    // one for a parameter; `ends` are the patterns that end at the node, `rests` those whose `{name...}`
    // takes the rest of the path after it. Of all the patterns that match, the first added wins.
    struct Node {
        std::vector<std::pair<std::string, std::uint32_t>> literals;  // sorted by text
        std::uint32_t param = kNone;
        std::vector<std::uint32_t> ends, rests;
    };
    static constexpr std::uint32_t kNone = 0xffffffffu;
    struct Walk;
    void walk(Walk& w, std::uint32_t node, std::size_t depth) const;
    static bool by_text(const std::pair<std::string, std::uint32_t>& literal, std::string_view text);
    static std::vector<std::pair<std::string, std::uint32_t>>::const_iterator find_literal(
        const Node& node, std::string_view text);

    std::vector<Pattern> patterns_;
    std::vector<Node> nodes_{Node{}};  // nodes_[0]: the root
};

}  // namespace np::http
