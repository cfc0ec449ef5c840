// Internal to src/api: helpers shared by the routes_*.cpp files (Boost.JSON is fine here: only api includes
// it).
#pragma once

#include <boost/json.hpp>

#include "api/api.hpp"
#include "api/router.hpp"
#include "core/error.hpp"
#include "store/store.hpp"

namespace np::api {

namespace json = boost::json;

http::Response json_ok(const json::value& v, int status = 200);
// Overloads so an object or array is serialized as it is, not deep-copied into a json::value first.
http::Response json_ok(const json::object& o, int status = 200);
http::Response json_ok(const json::array& a, int status = 200);
store::Page page_of(const Context& ctx);
template <class T, class F>
json::object page_json(const store::PageResult<T>& page, F&& to_json) {
    json::array items;
    for (const auto& item : page.items) items.push_back(to_json(item));
    json::object o{{"items", std::move(items)}};
    o["next"] = page.next.empty() ? json::value(nullptr) : json::value(page.next);
    return o;
}

// Body accessors (the body was validated against the route's fields already).
std::string body_string(const Context& ctx, std::string_view key, std::string fallback = {});
std::int64_t body_int(const Context& ctx, std::string_view key, std::int64_t fallback);
// An integer field that must lie in [min, max]: anything else is a 400 naming the field and the range.
std::int64_t body_int(const Context& ctx, std::string_view key, std::int64_t fallback, std::int64_t min,
                      std::int64_t max);
// A query or path integer, strictly: all of `text` in decimal, within [min, max], or a 400 naming `name`.
std::int64_t parse_int(std::string_view text, std::string_view name, std::int64_t min, std::int64_t max);
bool body_has(const Context& ctx, std::string_view key);
std::string query_or(const Context& ctx, std::string_view key, std::string fallback = {});
// Parses JSON text stored in the store; a corrupt value becomes null rather than a failed request.
json::value parse_stored(const std::string& text);

json::object user_json(const store::User& u);
json::object exercise_json(const store::Exercise& e);
json::object version_json(const store::ExerciseVersion& v, bool with_content);
json::object assignment_json(const store::Assignment& a);
json::object environment_json(const store::Environment& e);
// `reveal_hidden`: a student reads hidden checks too (after the deadline: app::hidden_revealed).
json::object evaluation_json(const store::Evaluation& e, bool teacher_view, bool reveal_hidden = false);
json::object job_json(const store::Job& j, bool teacher_view);

// 127.0.0.0/8, ::1 or their v4-mapped form: a client on this host.
bool is_loopback(std::string_view address);
// Whether the browser reached us over TLS: our own (server.tls), server.secure_cookies, or a trusted proxy's
// X-Forwarded-Proto.
bool request_is_https(const Context& ctx, const ApiOptions& options);

// Ends every session of a user older than generation `gen` (auth::kUserGone: all of them), for every
// instance: stores the revocation (blocking, inside the caller's transaction). The caller then tells its
// own JwtCodec on the event loop, with the same jti, so the very next request here is refused too.
void end_sessions(ApiDeps& d, const std::string& user_id, std::int64_t gen);
json::object audit_json(const store::AuditEntry& a);

// Appends an audit entry (call inside the worker-pool closure of the write it describes). The actor is the
// caller (id and username); `outcome`: ok | denied | failed. Never put a secret in `detail`.
void audit(store::Store& store, const Context& ctx, std::string action, std::string object_type,
           std::string object_id, std::string detail = "{}", std::string outcome = "ok");

// Exercises (routes_exercises.cpp), shared with routes_exercise_files.cpp. Blocking ones: inside pool.run.
int version_param(const Context& ctx);
store::Exercise require_exercise(store::Store& st, const std::string& id);  // by id or slug; not_found
std::pair<store::Exercise, store::ExerciseVersion> require_version(store::Store& st, const std::string& id,
                                                                   int n);
// A version's content checked as the API checks it when it is sent (YAML, topology, project name): a 400
// with one field per problem.
void check_version_content(const store::ExerciseVersion& v);

void add_auth_routes(Router& r, ApiDeps& d);
void add_user_routes(Router& r, ApiDeps& d);
void add_exercise_routes(Router& r, ApiDeps& d);
void add_assignment_routes(Router& r, ApiDeps& d);
void add_job_routes(Router& r, ApiDeps& d);
void add_docs_routes(Router& r);
void add_websocket_routes(Router& r, ApiDeps& d);
void add_course_routes(Router& r, ApiDeps& d);     // issue 12: courses, rosters, assigning to a course
void add_gradebook_routes(Router& r, ApiDeps& d);  // issue 12: gradebooks, class grading
void add_web_routes(Router& r, ApiDeps& d);
void add_exercise_file_routes(Router& r, ApiDeps& d);      // issues 10 and 11: uploaded projects and zips
void add_class_environment_routes(Router& r, ApiDeps& d);  // issue 10 part 4: a class's environments at once

}  // namespace np::api
