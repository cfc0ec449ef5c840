// The simulator's route table on http::PathRouter: patterns of literal segments and {placeholders}.
#include "pvesim/impl.hpp"

namespace np::pvesim {

void RouteTable::add(Route route) {
    router_.add(route.method, route.pattern);
    routes_.push_back(std::move(route));
}

const Route* RouteTable::match(http::Method method, std::string_view path,
                               std::map<std::string, std::string>& vars) const {
    // http::PathRouter answers HEAD with a GET route; pveproxy does not (501), so HEAD looks for no method.
    if (method == http::Method::head) method = http::Method::other;
    http::PathParams params;
    bool method_mismatch = false;
    auto index = router_.match(method, path, params, method_mismatch);
    if (!index) return nullptr;
    vars.clear();
    for (auto& [name, value] : params) vars[name] = std::move(value);
    return &routes_[*index];
}

}  // namespace np::pvesim
