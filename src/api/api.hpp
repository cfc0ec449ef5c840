// api::Api: the HTTP API of netpraxis: dispatch through the route table, per-route access policy,
// body validation, problem JSON errors, metrics. `handle` is the np::http::Server handler.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "api/router.hpp"
#include "app/exercise_files.hpp"
#include "core/error.hpp"
#include "http/message.hpp"

namespace np::core {
class WorkerPool;
}
namespace np::http {
class StaticFiles;
}
namespace np::store {
class Store;
struct ExerciseVersion;
}  // namespace np::store
namespace np::auth {
class JwtCodec;
class LoginService;
}  // namespace np::auth
namespace np::app {
class EventBus;
class JobRunner;
class Consoles;
}  // namespace np::app

namespace np::api {

struct ApiOptions {
    std::string version = "0.1.0";
    bool secure_cookies = false;                 // set the Secure flag (behind HTTPS)
    std::string environment_provider = "local";  // provider of new environments
    std::chrono::milliseconds sse_keepalive{15'000};
    std::string
        static_dir;  // the web app's files, served for GET/HEAD outside /api/ when set (server.static_dir)
    // Origins (scheme://host[:port]) besides the server's own whose pages may open a WebSocket with the
    // session cookie (server.allowed_origins), e.g. the web app behind a proxy on another name.
    std::vector<std::string> allowed_origins;
    std::string metrics = "loopback";          // who reads /metrics: loopback | public | off
    std::vector<std::string> trusted_proxies;  // addresses whose X-Forwarded-Proto is believed
    app::UploadLimits uploads;                 // exercises.*: uploaded projects and zips
};

struct ApiDeps {
    store::Store& store;
    core::WorkerPool& pool;
    auth::JwtCodec& jwt;
    auth::LoginService& login;
    app::EventBus& bus;
    app::JobRunner& jobs;
    ApiOptions options;
    std::function<bool()> ready;  // /readyz
    // Errors of a grading spec (path and line); publishing refuses a version that has any.
    std::function<std::vector<core::FieldError>(const std::string& spec, const std::string& instructions)>
        lint;
    // Device consoles for the browser (GET .../nodes/{node}/console); null: that route answers 503.
    app::Consoles* consoles = nullptr;
    // Refuses (core::invalid) a version whose lab the server's providers cannot build (the GNS3 project of
    // the proxmox provider); null: no check. Blocking.
    std::function<void(const store::ExerciseVersion&)> check_lab;
    // More Prometheus text appended to /metrics (the lab providers' counters); null: none.
    std::function<std::string()> more_metrics;
};

class Metrics;
struct RefusalThrottle;

class Api {
 public:
    explicit Api(ApiDeps deps);
    ~Api();
    boost::asio::awaitable<http::Response> handle(http::Request& request);
    const Router& router() const { return router_; }
    // The body limit of the route a request goes to, for http::ServerOptions::body_limit_for: an upload
    // route's (exercises.max_file), 0 for any other (server.body_limit). Thread-safe.
    std::size_t body_limit(http::Method method, std::string_view target) const;

 private:
    ApiDeps deps_;
    Router router_;
    std::unique_ptr<Metrics> metrics_;
    std::unique_ptr<RefusalThrottle> refusals_;  // how many 403s of one caller reach the audit log
    std::unique_ptr<http::StaticFiles> static_;  // when options.static_dir is set
    std::string openapi_;
};

// Problem JSON (RFC 9457) for an error, with the request id; used by the API and tests.
http::Response problem_response(int status, std::string_view title, std::string_view detail,
                                std::string_view request_id, std::string_view type = "about:blank",
                                const std::vector<core::FieldError>& fields = {});

}  // namespace np::api
