#include "api/api.hpp"

#include <array>
#include <charconv>
#include <map>
#include <unordered_map>

#include "api/handlers.hpp"
#include "app/events.hpp"
#include "app/jobs.hpp"
#include "auth/jwt.hpp"
#include "auth/login.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "http/static_files.hpp"

namespace np::api {

// Prometheus counters and latency histograms per route. Lives on the event loop: plain integers suffice.
class Metrics {
 public:
    static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
    struct Series {
        std::vector<std::pair<int, std::uint64_t>> by_status;  // a handful of codes: a flat list is fastest
        std::array<std::uint64_t, kBuckets.size() + 1> buckets{};
        double sum = 0;
        std::uint64_t count = 0;
    };
    // Route series are made once, when the table is built; the hot path indexes a vector.
    void add_route(std::string key) { series_.push_back({std::move(key), {}}); }
    void record(std::size_t route, int status, double seconds) {
        auto& s = series_[route].second;
        for (auto& [code, n] : s.by_status)
            if (code == status) {
                ++n;
                status = 0;
                break;
            }
        if (status) s.by_status.emplace_back(status, 1);
        size_t i = 0;
        while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
        ++s.buckets[i];
        s.sum += seconds;
        ++s.count;
    }
    std::string render(const std::vector<std::pair<std::string, std::int64_t>>& jobs, std::size_t sse) const {
        std::string out;
        out += "# HELP netpraxis_http_requests_total HTTP requests by route and status.\n";
        out += "# TYPE netpraxis_http_requests_total counter\n";
        for (const auto& [key, s] : series_)
            for (const auto& [status, n] : s.by_status)
                out += "netpraxis_http_requests_total{" + key + ",status=\"" + std::to_string(status) +
                       "\"} " + std::to_string(n) + "\n";
        out += "# HELP netpraxis_http_request_duration_seconds Time to handle a request, by route.\n";
        out += "# TYPE netpraxis_http_request_duration_seconds histogram\n";
        for (const auto& [key, s] : series_) {
            std::uint64_t cum = 0;
            for (size_t i = 0; i < kBuckets.size(); ++i) {
                cum += s.buckets[i];
                char le[32];
                std::snprintf(le, sizeof le, "%g", kBuckets[i]);
                out += "netpraxis_http_request_duration_seconds_bucket{" + key + ",le=\"" + le + "\"} " +
                       std::to_string(cum) + "\n";
            }
            cum += s.buckets.back();
            out += "netpraxis_http_request_duration_seconds_bucket{" + key + ",le=\"+Inf\"} " +
                   std::to_string(cum) + "\n";
            char sum[40];
            std::snprintf(sum, sizeof sum, "%.6f", s.sum);
            out += "netpraxis_http_request_duration_seconds_sum{" + key + "} " + sum + "\n";
            out += "netpraxis_http_request_duration_seconds_count{" + key + "} " + std::to_string(s.count) +
                   "\n";
        }
        out += "# HELP netpraxis_jobs Jobs by state.\n# TYPE netpraxis_jobs gauge\n";
        for (const char* st : {"queued", "running", "succeeded", "failed", "cancelled"}) {
            std::int64_t n = 0;
            for (const auto& [k, v] : jobs)
                if (k == st) n = v;
            out += std::string("netpraxis_jobs{state=\"") + st + "\"} " + std::to_string(n) + "\n";
        }
        out += "# HELP netpraxis_sse_clients Open event streams.\n# TYPE netpraxis_sse_clients gauge\n";
        out += "netpraxis_sse_clients " + std::to_string(sse) + "\n";
        return out;
    }
    std::size_t sse_clients = 0;

 private:
    std::vector<std::pair<std::string, Series>> series_;  // route index -> (labels, series); last: unmatched
};

namespace {

bool unsafe_method(http::Method m) {
    return m != http::Method::get && m != http::Method::head && m != http::Method::options;
}

struct WebSocketRequired {};  // a plain request to a WebSocket route: 426

// Paths the web app's files never answer: the API and the operator's endpoints.
bool is_api_path(std::string_view path) {
    return path.starts_with("/api/") || path == "/api" || path == "/healthz" || path == "/readyz" ||
           path == "/metrics";
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// A browser sends the session cookie with a WebSocket upgrade from any page (no CORS, no CSRF header on
// a GET): the page's Origin must be this server's own (scheme and Host of the request) or one the
// operator allowed, else any site the student visits could drive their session (cross-site WebSocket
// hijacking). Throws forbidden.
void check_websocket_origin(const Context& ctx, const ApiOptions& options) {
    auto origin = ctx.request.header("origin");
    if (origin.empty())
        throw core::forbidden("a WebSocket opened with the session cookie must carry an Origin header");
    auto host = ctx.request.header("host");
    std::string own =
        std::string(request_is_https(ctx, options) ? "https://" : "http://") + std::string(host);
    if (!host.empty() && iequal(origin, own)) return;
    for (const auto& allowed : options.allowed_origins)
        if (iequal(origin, allowed)) return;
    throw core::forbidden("WebSocket from origin " + std::string(origin) +
                          " refused: not this server's origin nor in server.allowed_origins");
}

// Validates a JSON body against the route's declared fields: an object, no unknown fields, required
// fields present, types right. Collects every problem with its path.
json::object validate_body(const Route& route, const std::string& text) {
    if (text.size() == 0) throw core::invalid("a JSON body is required");
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) throw core::invalid("malformed JSON: " + ec.message());
    if (!v.is_object()) throw core::invalid("the body must be a JSON object");
    auto& obj = v.as_object();
    std::vector<core::FieldError> errors;
    for (const auto& [k, val] : obj) {
        const Field* f = nullptr;
        for (const auto& d : route.body)
            if (d.name == k) f = &d;
        if (!f) {
            errors.push_back({std::string(k), "unknown field"});
            continue;
        }
        bool ok = true;
        if (val.is_null())
            ok = !f->required;
        else if (f->type == "string")
            ok = val.is_string();
        else if (f->type == "integer")
            ok = val.is_int64() || val.is_uint64();
        else if (f->type == "number")
            ok = val.is_number();
        else if (f->type == "boolean")
            ok = val.is_bool();
        else if (f->type == "array") {
            ok = val.is_array();
            if (ok && f->items == "string")
                for (const auto& e : val.as_array()) ok = ok && e.is_string();
        } else if (f->type == "object")
            ok = val.is_object();
        if (!ok)
            errors.push_back(
                {std::string(k),
                 "must be " + (f->type == "array" ? "an array of " + f->items + "s" : "of type " + f->type)});
    }
    for (const auto& d : route.body)
        if (d.required && !obj.contains(d.name)) errors.push_back({d.name, "is required"});
    if (!errors.empty()) throw core::invalid("the request body is not valid", std::move(errors));
    return std::move(obj);
}

}  // namespace

http::Response problem_response(int status, std::string_view title, std::string_view detail,
                                std::string_view request_id, std::string_view type,
                                const std::vector<core::FieldError>& fields) {
    json::object p{
        {"type", type}, {"title", title}, {"status", status}, {"detail", detail}, {"request_id", request_id}};
    if (!fields.empty()) {  // per-field errors (an RFC 9457 extension member)
        json::array errs;
        for (const auto& f : fields) errs.push_back(json::object{{"path", f.path}, {"message", f.message}});
        p["errors"] = std::move(errs);
    }
    auto r = http::json_response(status, json::serialize(p));
    r.content_type = "application/problem+json";
    return r;
}

static http::Response problem_from(const core::Error& e, std::string_view rid) {
    int status = core::http_status(e.code());
    // 5xx: what failed inside is logged (Api::handle); the caller gets a short reason (core::public_message).
    auto r = problem_response(
        status, core::code_title(e.code()), status >= 500 ? core::public_message(e) : std::string(e.what()),
        rid, "https://netpraxis.dev/problems/" + std::string(core::code_name(e.code())), e.fields());
    if (e.code() == core::Code::rate_limited) r.header("Retry-After", "60");
    if (e.code() == core::Code::unauthenticated) r.header("WWW-Authenticate", "Bearer");
    return r;
}

std::size_t Api::body_limit(http::Method method, std::string_view target) const {
    auto path = target.substr(0, target.find('?'));
    http::PathParams params;
    bool mismatch = false;
    const Route* route = router_.match(method, path, params, mismatch);
    return route && !route->upload.empty() ? deps_.options.uploads.max_file : 0;
}

// Refused requests (403) reach the audit log at most kRefusalAuditsPerMinute times a minute per caller (per
// client address without one): a signed-in student scripting forbidden requests cannot grow the store or
// flood the log. Past that, refusals are still answered 403 and counted; the caller's next entry says how
// many were left out ("suppressed_before"). Used on the event loop only (like the login limiter).
constexpr int kRefusalAuditsPerMinute = 30;

struct RefusalThrottle {
    auth::RateLimiter limiter{kRefusalAuditsPerMinute, std::chrono::seconds(60), core::Clock::system()};
    std::unordered_map<std::string, std::uint64_t> suppressed;  // per key, since its last entry
};

Api::Api(ApiDeps deps)
    : deps_(std::move(deps)),
      metrics_(std::make_unique<Metrics>()),
      refusals_(std::make_unique<RefusalThrottle>()) {
    auto& d = deps_;
    if (!d.options.static_dir.empty())
        static_ = std::make_unique<http::StaticFiles>(http::StaticOptions{d.options.static_dir}, d.pool);
    auto* m = metrics_.get();
    router_.add({http::Method::get,
                 "/healthz",
                 Policy::public_,
                 "system",
                 "Liveness: the process answers",
                 {},
                 {},
                 200,
                 [](Context&) -> boost::asio::awaitable<http::Response> {
                     co_return http::text_response(200, "ok\n");
                 }});
    router_.add({http::Method::get,
                 "/readyz",
                 Policy::public_,
                 "system",
                 "Readiness: the store answers and the server is not shutting down",
                 {},
                 {},
                 200,
                 [&d](Context& ctx) -> boost::asio::awaitable<http::Response> {
                     bool store_ok = co_await d.pool.run([&] { return d.store.ping(); });
                     bool ok = store_ok && (!d.ready || d.ready());
                     if (!ok)
                         co_return problem_response(503, "Not ready",
                                                    store_ok ? "shutting down" : "store unavailable",
                                                    ctx.request.request_id);
                     co_return http::text_response(200, "ready\n");
                 }});
    router_.add({http::Method::get,
                 "/metrics",
                 Policy::public_,
                 "system",
                 "Prometheus metrics",
                 {},
                 {},
                 200,
                 [&d, m](Context& ctx) -> boost::asio::awaitable<http::Response> {
                     // Job counts, routes and clients tell an outsider how the class is doing: by default
                     // only this host (a Prometheus agent beside the server) reads them (server.metrics).
                     if (d.options.metrics == "off" ||
                         (d.options.metrics != "public" && !is_loopback(ctx.request.remote_address)))
                         throw core::not_found("no route for " + ctx.request.path);
                     auto jobs = co_await d.pool.run([&] { return d.store.count_jobs_by_state(); });
                     auto text = m->render(jobs, m->sse_clients);
                     if (d.more_metrics) text += d.more_metrics();
                     co_return http::text_response(200, text, "text/plain; version=0.0.4; charset=utf-8");
                 }});
    router_.add({http::Method::get,
                 "/api/v1/openapi.json",
                 Policy::public_,
                 "system",
                 "This API's OpenAPI 3.1 document, generated from the route table",
                 {},
                 {},
                 200,
                 [this](Context&) -> boost::asio::awaitable<http::Response> {
                     co_return http::json_response(200, openapi_);
                 }});
    router_.add({http::Method::get,
                 "/api/v1/events",
                 Policy::authenticated,
                 "events",
                 "Server-sent events: job progress and state changes. Resume with the Last-Event-ID header.",
                 {},
                 {{"job", "string", false, "only events of this job"},
                  {"environment", "string", false, "only events of this environment"}},
                 200,
                 [&d, m](Context& ctx) -> boost::asio::awaitable<http::Response> {
                     app::EventFilter filter;
                     filter.job_id = query_or(ctx, "job");
                     filter.environment_id = query_or(ctx, "environment");
                     if (!ctx.is_teacher()) filter.owner_id = ctx.caller->user_id;
                     std::uint64_t after = 0;
                     auto last = ctx.request.header("last-event-id");
                     if (!last.empty())
                         after = static_cast<std::uint64_t>(parse_int(last, "Last-Event-ID", 0, INT64_MAX));
                     auto sub = std::shared_ptr<app::EventBus::Subscription>(d.bus.subscribe(filter, after));
                     http::Response res;
                     res.content_type = "text/event-stream";
                     res.header("X-Accel-Buffering", "no");
                     auto keepalive = d.options.sse_keepalive;
                     res.stream = [sub, keepalive, m](http::StreamWriter& w) -> boost::asio::awaitable<void> {
                         ++m->sse_clients;
                         if (co_await w.write("retry: 2000\n\n")) {
                             for (;;) {
                                 auto ev = co_await sub->next(keepalive);
                                 if (sub->closed() && !ev) break;
                                 std::string chunk;
                                 if (!ev) {
                                     chunk = ": ping\n\n";
                                 } else {
                                     chunk = "id: " + std::to_string(ev->id) + "\nevent: " + ev->type +
                                             "\ndata: " + ev->data + "\n\n";
                                 }
                                 if (!co_await w.write(std::move(chunk))) break;
                             }
                         }
                         --m->sse_clients;
                     };
                     co_return res;
                 }});
    add_auth_routes(router_, deps_);
    add_user_routes(router_, deps_);
    add_exercise_routes(router_, deps_);
    add_exercise_file_routes(router_, deps_);
    add_assignment_routes(router_, deps_);
    add_job_routes(router_, deps_);
    add_docs_routes(router_);
    add_websocket_routes(router_, deps_);
    add_course_routes(router_, deps_);
    add_gradebook_routes(router_, deps_);
    add_web_routes(router_, deps_);
    add_class_environment_routes(router_, deps_);
    openapi_ = router_.openapi(deps_.options.version);
    for (const auto& r : router_.routes())
        metrics_->add_route("method=\"" + std::string(http::method_name(r.method)) + "\",route=\"" +
                            r.pattern + "\"");
    metrics_->add_route("route=\"unmatched\"");
    metrics_->add_route("route=\"static\"");
}

Api::~Api() = default;

namespace {
// A refused request (403: a teacher's action tried by a student, a missing CSRF token, a WebSocket from a
// foreign origin...) in the audit log: who, which route, the reason; outcome denied. A failure to write it
// is logged and does not change the answer.
boost::asio::awaitable<void> audit_refusal(ApiDeps& d, RefusalThrottle& throttle, const Context& ctx,
                                           std::string reason) {
    const std::string key = ctx.caller ? "user:" + ctx.caller->user_id : "addr:" + ctx.request.remote_address;
    if (throttle.limiter.attempt(key) > 0) {
        if (throttle.suppressed.size() > 100'000) throttle.suppressed.clear();  // bounded, like the limiter
        if (++throttle.suppressed[key] == 1)
            log::warn("api.refusals_not_audited",
                      {{"rid", ctx.request.request_id},
                       {"caller", ctx.caller ? ctx.caller->username : ctx.request.remote_address},
                       {"limit_per_minute", kRefusalAuditsPerMinute}});
        co_return;
    }
    json::object detail{{"method", http::method_name(ctx.request.method)},
                        {"path", ctx.request.path.substr(0, 256)},
                        {"reason", std::move(reason)}};
    if (auto it = throttle.suppressed.find(key); it != throttle.suppressed.end()) {
        detail["suppressed_before"] = it->second;
        throttle.suppressed.erase(it);
    }
    for (const auto& [name, value] : ctx.params) detail[name] = value.substr(0, 128);  // the objects named
    try {
        co_await d.pool.run([&] {
            audit(d.store, ctx, "request.denied", "route", ctx.route.pattern, json::serialize(detail),
                  "denied");
        });
    } catch (const std::exception& e) {
        log::error("api.audit_failed", {{"rid", ctx.request.request_id}, {"error", core::redact(e.what())}});
    }
}
}  // namespace

boost::asio::awaitable<http::Response> Api::handle(http::Request& req) {
    auto started = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, std::string>> params;
    bool method_mismatch = false;
    const Route* route = router_.match(req.method, req.path, params, method_mismatch);
    http::Response res;
    std::size_t metric = router_.routes().size();  // the "unmatched" series
    if (!route && !method_mismatch && !is_api_path(req.path) &&
        (req.method == http::Method::get || req.method == http::Method::head)) {
        if (static_) {
            try {
                if (auto file = co_await static_->serve(req)) {
                    res = std::move(*file);
                    metric = router_.routes().size() + 1;  // the "static" series
                } else {
                    res = problem_response(404, "Not found", "no file or route for " + req.path,
                                           req.request_id);
                }
            } catch (const std::exception& e) {
                log::error("api.static", {{"rid", req.request_id}, {"error", core::redact(e.what())}});
                res = problem_response(500, "Internal error", "the server failed to read the file",
                                       req.request_id);
            }
        } else if (req.path == "/" && req.header("accept").find("text/html") != std::string_view::npos) {
            // A browser at the server's address, before the web app is installed: the API reference.
            res.status = 302;
            res.content_type = {};
            res.header("Location", "/api/docs");
        } else {
            res = problem_response(404, "Not found",
                                   req.path == "/" ? "the web app is not installed on this server "
                                                     "(server.static_dir is not set); the API is described "
                                                     "at /api/v1/openapi.json and can be read at /api/docs"
                                                   : "no route for " + req.path,
                                   req.request_id);
            if (req.path == "/") res.header("Link", "</api/v1/openapi.json>; rel=\"service-desc\"");
        }
    } else if (!route) {
        res =
            method_mismatch
                ? problem_response(405, "Method not allowed",
                                   "this path does not accept " + std::string(http::method_name(req.method)),
                                   req.request_id)
                : problem_response(404, "Not found", "no route for " + req.path, req.request_id);
    } else {
        metric = route->index;
        Context ctx{req, *route, nullptr, std::move(params), nullptr};
        json::object body;
        std::string refused;  // a 403's reason, recorded in the audit log below
        try {
            // Authentication: bearer token for API clients, the HttpOnly cookie for browsers.
            std::string_view token;  // points into the request or into `cookie`
            std::optional<std::string> cookie;
            bool from_cookie = false;
            auto authz = req.header("authorization");
            if (authz.size() > 7 && (authz.starts_with("Bearer ") || authz.starts_with("bearer "))) {
                token = authz.substr(7);
            } else if ((cookie = req.cookie("np_session"))) {
                token = *cookie;
                from_cookie = true;
            }
            if (route->policy != Policy::public_) {
                if (token.empty())
                    throw core::unauthenticated("log in first: no bearer token or session cookie");
                ctx.caller = deps_.jwt.verify(token, core::unix_now());
                if (from_cookie && unsafe_method(req.method) && !route->csrf_exempt &&
                    req.header("x-csrf-token") != ctx.caller->csrf)
                    throw core::forbidden(
                        "missing or wrong X-CSRF-Token header for a cookie-authenticated write");
                if (route->policy == Policy::teacher && !store::is(ctx.caller->role, store::Role::teacher))
                    throw core::forbidden("this action is reserved to teachers");
                if (route->websocket && req.websocket && from_cookie)
                    check_websocket_origin(ctx, deps_.options);
                // Tokens of a changed user are refused at once by the instance that made the change and
                // within auth.revocation_poll by the others. A teacher's write (creating users, publishing,
                // assigning) cannot wait that long: it is confirmed against the store, one row by key.
                if (route->policy == Policy::teacher && unsafe_method(req.method)) {
                    auto caller = ctx.caller;
                    auto current =
                        co_await deps_.pool.run([&] { return deps_.store.get_user(caller->user_id); });
                    if (!current) throw core::unauthenticated("this account no longer exists");
                    if (current->disabled || !store::is(current->role, store::Role::teacher) ||
                        current->session_gen > caller->gen)
                        throw core::unauthenticated(
                            "this account changed (role, password or status) since this session began: log "
                            "in "
                            "again");
                }
            }
            if (route->websocket && !req.websocket) throw WebSocketRequired{};
            if (!route->body.empty()) {
                auto ct = req.header("content-type");
                if (!ct.empty() && !ct.starts_with("application/json"))
                    throw core::invalid("Content-Type must be application/json");
                body = validate_body(*route, req.body);
                ctx.body = &body;
            } else if (!route->upload.empty()) {
                if (req.body.empty())
                    throw core::invalid("the upload is empty",
                                        {{"body", "send the file's bytes as the body"}});
            } else if (!req.body.empty() && unsafe_method(req.method)) {
                throw core::invalid("this request takes no body");
            }
            res = co_await route->handler(ctx);
            if (res.websocket && !route->websocket)
                throw core::internal("route " + route->pattern +
                                     " offered a WebSocket without the websocket flag");
            // What a session reads is that user's: no shared or browser cache keeps it.
            if (ctx.caller && !res.stream && !res.websocket) {
                bool has = false;
                for (const auto& h : res.headers) has = has || h.first == "Cache-Control";
                if (!has) res.header("Cache-Control", "no-store");
            }
        } catch (const WebSocketRequired&) {
            res = problem_response(426, "Upgrade required",
                                   "this route is a WebSocket: connect with Upgrade: websocket",
                                   req.request_id);
            res.header("Upgrade", "websocket");
        } catch (const core::Error& e) {
            if (e.code() == core::Code::forbidden && !ctx.audited) refused = core::public_message(e);
            if (core::http_status(e.code()) >= 500)
                log::error(
                    "api.error",
                    {{"rid", req.request_id}, {"route", route->pattern}, {"error", core::redact(e.what())}});
            res = problem_from(e, req.request_id);
        } catch (const std::exception& e) {
            log::error(
                "api.internal",
                {{"rid", req.request_id}, {"route", route->pattern}, {"error", core::redact(e.what())}});
            res = problem_response(500, "Internal error", "the server failed to handle the request",
                                   req.request_id);
        }
        if (!refused.empty()) co_await audit_refusal(deps_, *refusals_, ctx, std::move(refused));
    }
    if (!res.stream && !res.websocket) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        metrics_->record(metric, res.status, secs);
    } else {
        metrics_->record(metric, res.status, 0);
    }
    co_return res;
}

// ---- shared helpers (handlers.hpp) ----

http::Response json_ok(const json::value& v, int status) {
    return http::json_response(status, json::serialize(v));
}
http::Response json_ok(const json::object& o, int status) {
    return http::json_response(status, json::serialize(o));
}
http::Response json_ok(const json::array& a, int status) {
    return http::json_response(status, json::serialize(a));
}

store::Page page_of(const Context& ctx) {
    store::Page p;
    if (auto l = ctx.request.query_param("limit")) p.limit = static_cast<int>(parse_int(*l, "limit", 1, 500));
    if (auto a = ctx.request.query_param("after")) p.after = *a;
    return p;
}

std::string body_string(const Context& ctx, std::string_view key, std::string fallback) {
    if (!ctx.body) return fallback;
    auto* v = ctx.body->if_contains(key);
    if (!v || !v->is_string()) return fallback;
    return std::string(v->as_string());
}

std::int64_t parse_int(std::string_view text, std::string_view name, std::int64_t min, std::int64_t max) {
    // The whole text, decimal digits with an optional '-': "1e3", "5abc", " 5" and "+5" are refused, and a
    // value outside [min, max] (including one that does not fit 64 bits) is an error, never a wrap.
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    std::string range = "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size())
        throw core::invalid(std::string(name) + " is not an integer", {{std::string(name), range}});
    if (ec == std::errc::result_out_of_range || v < min || v > max)
        throw core::invalid(std::string(name) + " is out of range", {{std::string(name), range}});
    return v;
}

std::int64_t body_int(const Context& ctx, std::string_view key, std::int64_t fallback, std::int64_t min,
                      std::int64_t max) {
    if (!ctx.body) return fallback;
    auto* v = ctx.body->if_contains(key);
    if (!v || v->is_null()) return fallback;
    std::string range = "must be an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!(v->is_int64() || v->is_uint64()))
        throw core::invalid(std::string(key) + " is not an integer", {{std::string(key), range}});
    if (v->is_uint64() ? v->as_uint64() > static_cast<std::uint64_t>(max)
                       : (v->as_int64() < min || v->as_int64() > max))
        throw core::invalid(std::string(key) + " is out of range", {{std::string(key), range}});
    return v->is_int64() ? v->as_int64() : static_cast<std::int64_t>(v->as_uint64());
}

std::int64_t body_int(const Context& ctx, std::string_view key, std::int64_t fallback) {
    if (!ctx.body) return fallback;
    auto* v = ctx.body->if_contains(key);
    if (!v || !(v->is_int64() || v->is_uint64())) return fallback;
    return v->is_int64() ? v->as_int64() : static_cast<std::int64_t>(v->as_uint64());
}

bool body_has(const Context& ctx, std::string_view key) {
    return ctx.body && ctx.body->if_contains(key) && !ctx.body->at(key).is_null();
}

std::string query_or(const Context& ctx, std::string_view key, std::string fallback) {
    auto v = ctx.request.query_param(key);
    return v ? *v : fallback;
}

json::value parse_stored(const std::string& text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    return ec ? json::value(nullptr) : v;
}

bool is_loopback(std::string_view address) {
    return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

bool request_is_https(const Context& ctx, const ApiOptions& options) {
    if (options.secure_cookies || ctx.request.tls) return true;
    // Only a proxy the operator named may say the browser came over TLS; anyone else could claim it.
    for (const auto& proxy : options.trusted_proxies)
        if (proxy == ctx.request.remote_address) return ctx.request.header("x-forwarded-proto") == "https";
    return false;
}

void end_sessions(ApiDeps& d, const std::string& user_id, std::int64_t gen) {
    auto now = core::unix_now();
    d.store.revoke_token(auth::user_revocation_jti(user_id, gen), now + d.jwt.ttl().count(), now);
}

void audit(store::Store& store, const Context& ctx, std::string action, std::string object_type,
           std::string object_id, std::string detail, std::string outcome) {
    store::AuditEntry a;
    a.at = core::unix_now();
    a.actor_id = ctx.caller ? ctx.caller->user_id : "";
    a.actor_name = ctx.caller ? ctx.caller->username : "";
    a.outcome = std::move(outcome);
    a.action = std::move(action);
    a.object_type = std::move(object_type);
    a.object_id = std::move(object_id);
    a.detail = std::move(detail);
    store.append_audit(a);
    ctx.audited = true;
}

}  // namespace np::api
