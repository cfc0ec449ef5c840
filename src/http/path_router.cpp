#include "http/path_router.hpp"

#include <algorithm>
#include <array>

#include "core/error.hpp"

namespace np::http {
namespace {

// Path segments without allocating; `size` counts every segment, also beyond kMaxSegments.
struct Segments {
    std::array<std::string_view, PathRouter::kMaxSegments + 1> items;  // views into the path
    std::size_t size = 0;
};

Segments split(std::string_view path) {
    Segments out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        std::size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        if (out.size <= PathRouter::kMaxSegments) out.items[out.size] = path.substr(i, j - i);
        ++out.size;
        i = j;
    }
    return out;
}

}  // namespace

std::size_t PathRouter::add(Method method, std::string_view pattern) {
    auto segs = split(pattern);
    if (segs.size > kMaxSegments)
        throw core::internal("route pattern has too many segments: " + std::string(pattern));
    Pattern p{method, {}};
    for (std::size_t k = 0; k < segs.size; ++k) {
        auto seg = segs.items[k];
        bool param = seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
        bool rest = param && seg.size() > 5 && seg.substr(seg.size() - 4) == "...}";
        if (rest && k + 1 != segs.size)
            throw core::internal("a {name...} segment must be the last: " + std::string(pattern));
        auto name = param ? seg.substr(1, seg.size() - (rest ? 5 : 2)) : seg;
        p.segments.push_back({std::string(name), param, rest});
    }
    auto index = static_cast<std::uint32_t>(patterns_.size());
    // Into the tree: one node per segment (a rest segment hangs on the node before it).
    std::uint32_t node = 0;
    for (const auto& seg : p.segments) {
        if (seg.is_rest) break;
        std::uint32_t next = kNone;
        if (seg.is_param) {
            next = nodes_[node].param;
        } else if (auto it = find_literal(nodes_[node], seg.text); it != nodes_[node].literals.end()) {
            next = it->second;
        }
        if (next == kNone) {
            next = static_cast<std::uint32_t>(nodes_.size());
            nodes_.emplace_back();
            auto& literals = nodes_[node].literals;
            if (seg.is_param)
                nodes_[node].param = next;
            else
                literals.emplace(std::lower_bound(literals.begin(), literals.end(), seg.text, by_text),
                                 seg.text, next);
        }
        node = next;
    }
    if (!p.segments.empty() && p.segments.back().is_rest)
        nodes_[node].rests.push_back(index);
    else
        nodes_[node].ends.push_back(index);
    patterns_.push_back(std::move(p));
    return index;
}

bool PathRouter::by_text(const std::pair<std::string, std::uint32_t>& literal, std::string_view text) {
    return std::string_view(literal.first) < text;
}

std::vector<std::pair<std::string, std::uint32_t>>::const_iterator PathRouter::find_literal(
    const Node& node, std::string_view text) {
    auto it = std::lower_bound(node.literals.begin(), node.literals.end(), text, by_text);
    return it != node.literals.end() && it->first == text ? it : node.literals.end();
}

// One match in progress: the path's segments, the best pattern so far (the lowest index whose method fits)
// and whether some pattern matched the path under another method.
struct PathRouter::Walk {
    const Segments& parts;
    Method method;
    std::uint32_t best = kNone;
    bool other_method = false;
};

void PathRouter::walk(Walk& w, std::uint32_t node_index, std::size_t depth) const {
    const Node& node = nodes_[node_index];
    auto consider = [&](std::uint32_t index) {
        auto m = patterns_[index].method;
        if (m == w.method || (m == Method::get && w.method == Method::head)) {
            if (index < w.best) w.best = index;
        } else {
            w.other_method = true;
        }
    };
    if (depth == w.parts.size)
        for (auto index : node.ends) consider(index);
    if (depth < w.parts.size)
        for (auto index : node.rests) consider(index);
    // Deeper only within the segments kept (a path longer than kMaxSegments matches only a rest route).
    if (depth >= w.parts.size || depth >= kMaxSegments) return;
    auto part = w.parts.items[depth];
    if (auto it = find_literal(node, part); it != node.literals.end()) walk(w, it->second, depth + 1);
    if (node.param != kNone && !part.empty()) walk(w, node.param, depth + 1);
}

std::optional<std::size_t> PathRouter::match(Method method, std::string_view path, PathParams& params,
                                             bool& method_mismatch) const {
    auto parts = split(path);
    Walk w{parts, method};
    walk(w, 0, 0);
    method_mismatch = w.best == kNone && w.other_method;
    if (w.best == kNone) return std::nullopt;
    const auto& segs = patterns_[w.best].segments;
    params.clear();
    for (std::size_t i = 0; i < segs.size(); ++i)
        if (segs[i].is_rest)
            params.emplace_back(
                segs[i].text,
                std::string(path.substr(static_cast<std::size_t>(parts.items[i].data() - path.data()))));
        else if (segs[i].is_param)
            params.emplace_back(segs[i].text, std::string(parts.items[i]));
    return w.best;
}

}  // namespace np::http
