// The route table: every route of the HTTP API with its method, path pattern, access policy, summary and
// input description. Dispatch, access checks and /api/v1/openapi.json are all derived from this one table,
// so the document can never drift from the code.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/jwt.hpp"
#include "http/message.hpp"
#include "http/path_router.hpp"
#include "store/states.hpp"

namespace boost::json {
class value;
class object;
}  // namespace boost::json

namespace np::api {

enum class Policy {
    public_,        // no token needed
    authenticated,  // any logged-in user
    student_own,    // a student reaches only their own objects (the handler checks ownership); teachers all
    teacher,        // teachers only
};
std::string_view policy_name(Policy p);

// One field of a JSON request body or one query parameter: drives validation and the OpenAPI schema.
struct Field {
    std::string name;
    std::string type;  // string | integer | number | boolean | array | object
    bool required = false;
    std::string description;
    std::string items = "string";  // element type for arrays
};

struct Context;
using RouteHandler = std::function<boost::asio::awaitable<http::Response>(Context&)>;

struct Route {
    http::Method method;
    std::string pattern;  // "/api/v1/exercises/{id}"
    Policy policy;
    std::string tag;
    std::string summary;
    std::vector<Field> body;   // accepted JSON body fields (unknown fields are rejected)
    std::vector<Field> query;  // query parameters
    int success_status = 200;
    RouteHandler handler;
    bool paginated = false;    // documents limit/after and the {items, next} envelope
    bool csrf_exempt = false;  // login: no session yet
    // A WebSocket route (GET). Authentication and the policy apply as on any route, and a browser's
    // cookie session must come with an Origin this server accepts (its own, or server.allowed_origins);
    // then the handler runs: it may still refuse (throw, e.g. not_found) or return
    // http::websocket_response(session), which the server runs on the upgraded connection. A refusal is
    // an ordinary problem response; a plain GET gets 426. Exported as x-websocket in the OpenAPI document.
    bool websocket = false;
    // An upload (issues 10 and 11): the body is raw bytes (`upload` names their media types, e.g.
    // "application/zip"), not JSON, up to exercises.max_file instead of server.body_limit; the handler reads
    // Request::body. Documented as such in the OpenAPI document.
    std::vector<std::string> upload;
    std::size_t index = 0;  // position in the table (set by Router::add; metrics use it)
};

// What a handler gets: the request, the authenticated caller, path parameters and the parsed body.
struct Context {
    http::Request& request;
    const Route& route;
    std::shared_ptr<const auth::Claims> caller;  // null on public routes
    http::PathParams params;
    boost::json::object* body = nullptr;  // parsed and validated when the route declares body fields
    // Set once the handler recorded its request in the audit log (a refusal it recorded is not recorded
    // again by the dispatcher's 403 entry).
    mutable bool audited = false;

    const std::string& param(std::string_view name) const;
    bool is_teacher() const { return caller && store::is(caller->role, store::Role::teacher); }
    // Throws forbidden unless the caller is a teacher or the student who owns the object.
    void require_owner(const std::string& student_id) const;
};

class Router {
 public:
    void add(Route route);
    // The matching route and its path parameters; `method_mismatch` tells 405 from 404.
    // (The path matching itself is http::PathRouter's.)
    const Route* match(http::Method method, std::string_view path, http::PathParams& params,
                       bool& method_mismatch) const;
    const std::vector<Route>& routes() const { return routes_; }
    // OpenAPI 3.1 document for every route.
    std::string openapi(std::string_view version) const;

 private:
    std::vector<Route> routes_;
    http::PathRouter paths_;  // routes_[i] is paths_'s pattern i
};

}  // namespace np::api
