// The simulator's route table: patterns of literal segments and {placeholders}, matched segment by segment.
#include "pvesim/impl.hpp"

namespace np::pvesim {

void RouteTable::add(Route route) {
    Compiled c;
    c.parts = split_path(route.pattern);
    c.route = std::move(route);
    routes_.push_back(std::move(c));
}

const Route* RouteTable::match(http::Method method, const std::vector<std::string>& segments,
                               std::map<std::string, std::string>& vars, bool& path_known) const {
    path_known = false;
    for (const auto& c : routes_) {
        if (c.parts.size() != segments.size()) continue;
        std::map<std::string, std::string> found;
        bool ok = true;
        for (std::size_t i = 0; i < segments.size() && ok; ++i) {
            const auto& part = c.parts[i];
            if (part.size() > 2 && part.front() == '{' && part.back() == '}')
                found[part.substr(1, part.size() - 2)] = segments[i];
            else
                ok = part == segments[i];
        }
        if (!ok) continue;
        path_known = true;
        if (c.route.method != method) continue;
        vars = std::move(found);
        return &c.route;
    }
    return nullptr;
}

}  // namespace np::pvesim
