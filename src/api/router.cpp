#include "api/router.hpp"

#include <boost/json.hpp>

#include "core/error.hpp"

namespace np::api {
namespace json = boost::json;

std::string_view policy_name(Policy p) {
    switch (p) {
        case Policy::public_: return "public";
        case Policy::authenticated: return "authenticated";
        case Policy::student_own: return "student-own";
        case Policy::teacher: return "teacher";
    }
    return "teacher";
}

const std::string& Context::param(std::string_view name) const {
    for (const auto& [k, v] : params)
        if (k == name) return v;
    throw core::internal("route has no parameter " + std::string(name));
}

void Context::require_owner(const std::string& student_id) const {
    if (!caller) throw core::unauthenticated("log in first");
    if (store::is(caller->role, store::Role::teacher)) return;
    // Same answer as a missing object: a student must not learn which ids exist.
    if (caller->user_id != student_id) throw core::not_found("no such object");
}

void Router::add(Route route) {
    route.index = paths_.add(route.method, route.pattern);
    routes_.push_back(std::move(route));
}

const Route* Router::match(http::Method method, std::string_view path, http::PathParams& params,
                           bool& method_mismatch) const {
    auto index = paths_.match(method, path, params, method_mismatch);
    return index ? &routes_[*index] : nullptr;
}

namespace {

json::object schema_of(const Field& f) {
    json::object s;
    s["type"] = f.type;
    if (f.type == "array") s["items"] = json::object{{"type", f.items}};
    if (!f.description.empty()) s["description"] = f.description;
    return s;
}

std::string lower(std::string_view s) {
    std::string o(s);
    for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

}  // namespace

std::string Router::openapi(std::string_view version) const {
    json::object doc;
    doc["openapi"] = "3.1.0";
    doc["info"] = json::object{{"title", "netpraxis API"},
                               {"version", version},
                               {"description",
                                "Practical evaluations for network-administration courses. "
                                "Errors are RFC 9457 problem JSON."}};
    json::object problem{{"type", "object"},
                         {"properties", json::object{{"type", {{"type", "string"}}},
                                                     {"title", {{"type", "string"}}},
                                                     {"status", {{"type", "integer"}}},
                                                     {"detail", {{"type", "string"}}},
                                                     {"request_id", {{"type", "string"}}},
                                                     {"errors", {{"type", "array"}}}}}};
    doc["components"] = json::object{
        {"schemas", json::object{{"Problem", problem}}},
        {"securitySchemes",
         json::object{
             {"bearer", json::object{{"type", "http"}, {"scheme", "bearer"}, {"bearerFormat", "JWT"}}},
             {"cookie", json::object{{"type", "apiKey"}, {"in", "cookie"}, {"name", "np_session"}}}}}};
    json::object paths;
    for (const auto& r : routes_) {
        json::object op;
        std::string opid = lower(http::method_name(r.method));
        for (char c : r.pattern) opid.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
        op["operationId"] = opid;
        op["summary"] = r.summary;
        op["tags"] = json::array{json::value(r.tag)};
        op["x-policy"] = policy_name(r.policy);
        if (r.policy == Policy::public_)
            op["security"] = json::array{};
        else
            op["security"] =
                json::array{json::object{{"bearer", json::array{}}}, json::object{{"cookie", json::array{}}}};
        json::array parameters;
        std::string_view rest = r.pattern;  // its "{name}" segments are path parameters
        while (!rest.empty()) {
            auto slash = rest.find('/');
            auto seg = rest.substr(0, slash);
            rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
            if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}')
                parameters.push_back(json::object{{"name", seg.substr(1, seg.size() - 2)},
                                                  {"in", "path"},
                                                  {"required", true},
                                                  {"schema", {{"type", "string"}}}});
        }
        for (const auto& q : r.query)
            parameters.push_back(json::object{{"name", q.name},
                                              {"in", "query"},
                                              {"required", q.required},
                                              {"description", q.description},
                                              {"schema", schema_of(q)}});
        if (r.paginated) {
            parameters.push_back(json::object{{"name", "limit"},
                                              {"in", "query"},
                                              {"description", "page size, 1 to 500 (default 50)"},
                                              {"schema", {{"type", "integer"}}}});
            parameters.push_back(json::object{{"name", "after"},
                                              {"in", "query"},
                                              {"description", "the `next` value of the previous page"},
                                              {"schema", {{"type", "string"}}}});
        }
        if (!parameters.empty()) op["parameters"] = std::move(parameters);
        if (!r.body.empty()) {
            json::object props;
            json::array required;
            for (const auto& f : r.body) {
                props[f.name] = schema_of(f);
                if (f.required) required.push_back(json::value(f.name));
            }
            json::object schema{{"type", "object"}, {"properties", props}, {"additionalProperties", false}};
            if (!required.empty()) schema["required"] = required;
            op["requestBody"] =
                json::object{{"required", true}, {"content", {{"application/json", {{"schema", schema}}}}}};
        }
        if (!r.upload.empty()) {
            json::object content;
            for (const auto& type : r.upload)
                content[type] = json::object{{"schema", {{"type", "string"}, {"format", "binary"}}}};
            op["requestBody"] = json::object{{"required", true}, {"content", std::move(content)}};
            op["x-upload"] = true;
        }
        json::object responses;
        if (r.websocket) {
            op["x-websocket"] = true;
            responses["101"] = json::object{
                {"description",
                 "switching protocols: a WebSocket session (send Upgrade: websocket; a plain GET gets 426)"}};
        } else {
            responses[std::to_string(r.success_status)] = json::object{{"description", "success"}};
        }
        auto problem_ref = json::object{
            {"description", "problem"},
            {"content",
             {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
        responses["4XX"] = problem_ref;
        responses["5XX"] = problem_ref;
        op["responses"] = std::move(responses);

        auto& path_item = paths[r.pattern];
        if (!path_item.is_object()) path_item = json::object{};
        path_item.as_object()[lower(http::method_name(r.method) == "DELETE" ? "delete"
                                                                            : http::method_name(r.method))] =
            std::move(op);
    }
    doc["paths"] = std::move(paths);
    return json::serialize(doc);
}

}  // namespace np::api
