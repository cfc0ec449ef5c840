#include "http/path_router.hpp"

#include <array>

#include "core/error.hpp"

namespace np::http {
namespace {

// Path segments without allocating; `size` counts every segment, also beyond kMaxSegments.
struct Segments {
    std::array<std::string_view, PathRouter::kMaxSegments + 1> items;
    std::array<std::size_t, PathRouter::kMaxSegments + 1> starts;  // each item's offset in the path
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
        if (out.size <= PathRouter::kMaxSegments) {
            out.items[out.size] = path.substr(i, j - i);
            out.starts[out.size] = i;
        }
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
    patterns_.push_back(std::move(p));
    return patterns_.size() - 1;
}

std::optional<std::size_t> PathRouter::match(Method method, std::string_view path, PathParams& params,
                                             bool& method_mismatch) const {
    method_mismatch = false;
    auto parts = split(path);
    for (std::size_t r = 0; r < patterns_.size(); ++r) {
        const auto& segs = patterns_[r].segments;
        bool rest = !segs.empty() && segs.back().is_rest;
        // Without a rest segment the sizes are equal (so never over kMaxSegments); with one, the path has
        // at least as many segments, and only the first segs.size() of them are compared.
        if (rest ? parts.size < segs.size() : segs.size() != parts.size) continue;
        bool ok = true;
        for (std::size_t i = 0; i < segs.size() && ok; ++i)
            ok = segs[i].is_param ? !parts.items[i].empty() : segs[i].text == parts.items[i];
        if (!ok) continue;
        auto m = patterns_[r].method;
        if (m != method && !(m == Method::get && method == Method::head)) {
            method_mismatch = true;
            continue;
        }
        params.clear();
        for (std::size_t i = 0; i < segs.size(); ++i)
            if (segs[i].is_rest)
                params.emplace_back(segs[i].text, std::string(path.substr(parts.starts[i])));
            else if (segs[i].is_param)
                params.emplace_back(segs[i].text, std::string(parts.items[i]));
        return r;
    }
    return std::nullopt;
}

}  // namespace np::http
