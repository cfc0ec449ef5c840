#include "cmd/server_main.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <iostream>

#include "api/api.hpp"
#include "app/consoles.hpp"
#include "app/courses.hpp"
#include "app/event_relay.hpp"
#include "app/events.hpp"
#include "app/gradebook.hpp"
#include "app/instances.hpp"
#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "app/workflows.hpp"
#include "auth/jwt.hpp"
#include "auth/ldap_realm.hpp"
#include "auth/local_realm.hpp"
#include "auth/login.hpp"
#include "auth/password.hpp"
#include "auth/proxmox_realm.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "http/server.hpp"
#include "lab/local/local_provider.hpp"
#include "lab/registry.hpp"
#include "labpve/proxmox_provider.hpp"
#include "store/states.hpp"
#include "store/store.hpp"
#include "store/url.hpp"

namespace np::cmd {
namespace asio = boost::asio;
using app::EventBus;
using app::EventRelay;
using app::JobRunner;
using app::JobRunnerOptions;
using app::Workflows;

std::string store_url_from(const core::Config& config, const std::string& override_url) {
    if (!override_url.empty()) return override_url;
    return config.get_string("store.url", store::kDefaultStoreUrl);
}

// The web app's files when server.static_dir is not set: those of an installed binary
// (<prefix>/share/netpraxis/web), else the web/dist of the source tree it was built from (make run, make
// test); none: the server is API-only and / points a browser to /api/docs.
std::string default_web_dir() {
    std::error_code ec;
    std::vector<std::filesystem::path> candidates;
    if (auto exe = std::filesystem::read_symlink("/proc/self/exe", ec); !ec)
        candidates.push_back(exe.parent_path().parent_path() / "share" / "netpraxis" / "web");
#ifdef NP_WEB_DIST_DIR
    candidates.emplace_back(NP_WEB_DIST_DIR);
#endif
    for (const auto& dir : candidates)
        if (std::filesystem::is_regular_file(dir / "index.html", ec)) return dir.string();
    return {};
}

std::unique_ptr<store::Store> open_and_migrate(const std::string& url) {
    // open_store creates a SQLite file's folder itself.
    auto s = store::open_store(url);
    int applied = s->migrate();
    if (applied > 0) log::info("store.migrated", {{"applied", applied}, {"version", s->schema_version()}});
    return s;
}

namespace {

std::string jwt_secret(const core::Config& config, store::Store& store) {
    auto configured = config.get_string("auth.jwt_secret");
    if (!configured.empty()) return configured;
    // Generated once and kept in the store, so tokens survive restarts and every instance agrees.
    return store.put_setting_if_absent("jwt_secret", core::random_base64url(48));
}

void bootstrap_first_teacher(const core::Config& config, store::Store& store) {
    if (store.count_users() > 0) return;
    store::User u;
    u.id = core::new_id();
    u.username = config.get_string("auth.bootstrap_user", "admin");
    u.realm = "local";
    u.role = store::str(store::Role::teacher);
    u.display_name = "Administrator";
    u.must_change_password = true;
    u.created_at = core::unix_now();
    auto password = auth::generate_password();
    u.password_hash = auth::hash_password(password);
    store.create_user(u);
    // Printed once on the console (never logged), the way Jenkins and Grafana hand out their first login.
    std::cout << "\n  First teacher account created: username '" << u.username
              << "', one-time password: " << password
              << "\n  It is shown only now. Log in and change it (PATCH /api/v1/users/" << u.id << ").\n\n"
              << std::flush;
    log::info("auth.bootstrap_user_created", {{"user", u.username}});
}

std::vector<std::unique_ptr<auth::Realm>> make_realms(const core::Config& config, store::Store& store,
                                                      core::WorkerPool& pool) {
    std::vector<std::unique_ptr<auth::Realm>> realms;
    auto list = config.node("auth.realms");
    if (!list || list.IsNull()) {
        realms.push_back(std::make_unique<auth::LocalRealm>("local", store, pool));
        return realms;
    }
    if (!list.IsSequence()) throw core::invalid("auth.realms must be a list of {name, kind, ...}");
    auth::register_realm_kind("proxmox", auth::make_proxmox_realm);
    auth::register_realm_kind(
        "ldap", [](const YAML::Node& e, auth::RealmDeps& d) { return auth::make_ldap_realm(e, d); });
    auth::RealmDeps deps{store, pool, config};
    for (const auto& entry : list) realms.push_back(auth::make_realm(entry, deps));
    if (realms.empty()) throw core::invalid("auth.realms is empty: nobody could log in");
    return realms;
}

// Queues by job kind (jobs.kinds). Evaluations are I/O-bound (console round trips, bounded by the engine's
// eval.concurrency) and a student waits on them: many slots, one per student at a time, claimed first.
// Lab work is CPU- and root-bound: jobs.concurrency slots of its own, so it never holds evaluations up.
std::map<std::string, app::JobKindOptions> job_kinds(const core::Config& config) {
    std::map<std::string, app::JobKindOptions> kinds{
        {app::job::RunEvaluation::kind, {160, true, 0}},  // a class of 150 graded in one wave (issue 14)
        {app::job::ReconcileEnvironment::kind, {-1, false, 10}},
    };
    auto node = config.node("jobs.kinds");
    if (!node || node.IsNull()) return kinds;
    if (!node.IsMap()) throw core::invalid("jobs.kinds must map a job kind to {concurrency, one_per_owner}");
    for (const auto& entry : node) {
        auto kind = entry.first.as<std::string>();
        auto& k = kinds[kind];
        const auto& v = entry.second;
        if (!v.IsMap())
            throw core::invalid("jobs.kinds." + kind + " must be {concurrency: N, one_per_owner: BOOL}");
        for (const auto& field : v) {
            auto key = field.first.as<std::string>();
            if (key != "concurrency" && key != "one_per_owner" && key != "order")
                throw core::invalid("jobs.kinds." + kind + ": unknown key '" + key +
                                    "' (expected concurrency, one_per_owner, order)");
        }
        try {
            if (v["concurrency"]) k.concurrency = v["concurrency"].as<int>();
            if (v["one_per_owner"]) k.one_per_owner = v["one_per_owner"].as<bool>();
            if (v["order"]) k.order = v["order"].as<int>();
        } catch (const YAML::Exception&) {
            throw core::invalid("jobs.kinds." + kind +
                                ": concurrency and order are integers, one_per_owner a boolean");
        }
        if (k.concurrency < 0 || k.concurrency > 1024)
            throw core::invalid("jobs.kinds." + kind + ".concurrency must be 0-1024");
    }
    return kinds;
}

// exercises.*: how large an uploaded GNS3 project or exercise zip may be (examples/netpraxis.yaml).
app::UploadLimits upload_limits(const core::Config& config) {
    app::UploadLimits l;
    auto size = [&](const char* key, std::size_t fallback) {
        auto v = config.get_int(key, static_cast<std::int64_t>(fallback));
        if (v < 1) throw core::invalid(std::string(key) + " must be a positive number of bytes or entries");
        return static_cast<std::size_t>(v);
    };
    l.max_file = size("exercises.max_file", l.max_file);
    l.zip_max_entries = size("exercises.zip_max_entries", l.zip_max_entries);
    l.zip_max_total = size("exercises.zip_max_total", l.zip_max_total);
    return l;
}

// The lab providers of this server. A new provider is built and added here (one line), under its name.
std::unique_ptr<lab::ProviderRegistry> make_providers(const core::Config& config,
                                                      asio::any_io_executor executor,
                                                      core::WorkerPool& pool) {
    auto providers = std::make_unique<lab::ProviderRegistry>();
    if (config.get_bool("lab.local_labs", true))  // false: this host builds no local lab (issue 13)
        providers->add(
            std::make_unique<lab::LocalProvider>(executor, pool, lab::RuntimeOptions::from_config(config)));
    // issue 10: the proxmox provider, when it makes new environments or a base VM is configured for it.
    if (config.get_string("lab.provider", "local") == "proxmox" || config.has("pve.base_vmid"))
        providers->add(
            std::make_unique<labpve::ProxmoxProvider>(executor, labpve::ProxmoxOptions::from_config(config)));
    return providers;
}

// `lab.provider` (the provider of new environments) must name a registered provider: refused at start,
// instead of failing every environment job later.
std::string environment_provider(const core::Config& config, const lab::ProviderRegistry& providers) {
    auto name = config.get_string("lab.provider", "local");
    // A host without local labs may still create them: they are placed on an instance that has some.
    bool elsewhere = name == "local" && !config.get_bool("lab.local_labs", true);
    if (!providers.contains(name) && !elsewhere) {
        std::string known;
        for (const auto& n : providers.names()) known += (known.empty() ? "" : ", ") + n;
        throw core::invalid("lab.provider: '" + name +
                            "' is not a lab provider of this netpraxis build (registered: " + known + ")");
    }
    return name;
}

std::pair<std::string, std::uint16_t> parse_listen(const std::string& listen, const core::Config& config) {
    std::string address = config.get_string("server.address", "127.0.0.1");
    auto port = config.get_int("server.port", 8080);
    if (!listen.empty()) {
        auto colon = listen.rfind(':');
        if (colon == std::string::npos)
            throw core::invalid("--listen must be ADDRESS:PORT, e.g. 127.0.0.1:8080");
        address = listen.substr(0, colon);
        try {
            port = std::stoi(listen.substr(colon + 1));
        } catch (const std::exception&) {
            throw core::invalid("--listen: bad port in '" + listen + "'");
        }
    }
    if (port < 0 || port > 65535) throw core::invalid("server.port must be 0-65535");
    return {address, static_cast<std::uint16_t>(port)};
}

// This instance among those sharing the store (issue 13): `server.instance_id` (or the older
// jobs.instance_id), else the host name; what it offers; when the others count it gone.
app::InstanceOptions instance_options(const core::Config& config, const lab::ProviderRegistry& providers) {
    app::InstanceOptions o;
    o.id = config.get_string("server.instance_id", config.get_string("jobs.instance_id"));
    if (o.id.empty()) o.id = app::default_instance_id();
    // An instance that runs no job (jobs.concurrency 0) builds no lab: it offers none.
    if (config.get_int("jobs.concurrency", 4) > 0) o.providers = providers.names();
    o.max_labs = providers.contains("local") ? lab::RuntimeOptions::from_config(config).max_labs : 0;
    o.memory_reserve = config.get_int("lab.memory_reserve_mb", 256) * 1024 * 1024;
    o.address = config.get_string("instances.address");
    auto secs = [&](const char* key, std::chrono::seconds fallback) {
        return std::chrono::duration_cast<std::chrono::seconds>(config.get_duration(key, fallback));
    };
    o.heartbeat = secs("instances.heartbeat", std::chrono::seconds(10));
    o.gone_after = secs("instances.gone_after", std::chrono::seconds(60));
    o.fail_jobs_after = secs("instances.fail_jobs_after", std::chrono::seconds(0));
    if (o.heartbeat.count() < 1) throw core::invalid("instances.heartbeat must be at least 1s");
    return o;
}

}  // namespace

int serve(const core::Config& config, const ServeOptions& options,
          const std::function<void(std::uint16_t)>& on_ready) {
    auto url = store_url_from(config, options.store_url);
    auto store = open_and_migrate(url);
    auth::JwtCodec jwt(jwt_secret(config, *store),
                       std::chrono::duration_cast<std::chrono::seconds>(
                           config.get_duration("auth.token_ttl", std::chrono::hours(8))));

    // Tokens revoked before this start (logouts survive restarts); later ones are polled below.
    std::int64_t revocations_seen = core::unix_now();
    for (const auto& [jti, exp] : store->revoked_tokens(0, revocations_seen)) jwt.revoke(jti, exp);
    auto revocation_poll = config.get_duration("auth.revocation_poll", std::chrono::seconds(2));

    asio::io_context ioc(1);
    core::WorkerPool pool(static_cast<std::size_t>(config.get_int("server.workers", 4)));
    auto providers = make_providers(config, ioc.get_executor(), pool);
    auto new_environment_provider = environment_provider(config, *providers);
    // After the checks of the configuration: a start refused for a bad setting prints no password that
    // the next start would not print again.
    bootstrap_first_teacher(config, *store);
    auth::LoginService login(make_realms(config, *store, pool), core::Clock::system(),
                             static_cast<int>(config.get_int("auth.login_attempts_per_user", 10)),
                             static_cast<int>(config.get_int("auth.login_attempts_per_address", 30)));
    EventBus bus(ioc.get_executor(), static_cast<std::size_t>(config.get_int("events.buffer", 4096)));
    auto iopts = instance_options(config, *providers);
    JobRunnerOptions jopts;
    jopts.instance_id = iopts.id;
    jopts.max_concurrency = static_cast<int>(config.get_int("jobs.concurrency", 4));
    jopts.lease_seconds = static_cast<int>(config.get_int("jobs.lease_seconds", 60));
    jopts.kinds = job_kinds(config);
    JobRunner jobs(ioc.get_executor(), *store, pool, bus, jopts);
    EventRelay relay(ioc.get_executor(), *store, pool, bus);  // other instances' events (PostgreSQL)
    Workflows workflows(ioc.get_executor(), config, *store, pool, bus, *providers);
    workflows.register_with(jobs);
    app::Instances instances(ioc.get_executor(), *store, pool, bus, jobs, workflows, iopts);
    app::register_course_jobs(jobs, *store, pool);               // issue 12: course.assign
    app::register_class_grading(jobs, *store, pool, workflows);  // issue 12: class.grade
    // Browser consoles (the console WebSocket route): a cap per user and an idle timeout.
    app::ConsoleOptions copts;
    copts.max_per_user = static_cast<int>(config.get_int("consoles.max_per_user", copts.max_per_user));
    copts.idle_timeout = config.get_duration("consoles.idle_timeout", copts.idle_timeout);
    if (copts.max_per_user < 0) throw core::invalid("consoles.max_per_user must be 0 (no limit) or more");
    if (copts.idle_timeout.count() <= 0) throw core::invalid("consoles.idle_timeout must be positive");
    app::Consoles consoles(*providers, copts);
    consoles.route_through_owners(*store, pool, iopts.id);  // issue 13: labs on other instances
    // Grading takes the one connection of a VPCS console from its viewers, then gives it back.
    workflows.pause_consoles_with(consoles);

    bool shutting_down = false;
    api::ApiOptions aopts;
    aopts.secure_cookies = config.get_bool("server.secure_cookies", false);
    aopts.metrics = config.get_string("server.metrics", "loopback");
    if (aopts.metrics != "loopback" && aopts.metrics != "public" && aopts.metrics != "off")
        throw core::invalid("server.metrics must be loopback, public or off (got '" + aopts.metrics + "')");
    if (auto proxies = config.node("server.trusted_proxies"); proxies && proxies.IsSequence())
        for (const auto& p : proxies) aopts.trusted_proxies.push_back(p.as<std::string>());
    if (auto origins = config.node("server.allowed_origins"); origins && origins.IsSequence())
        for (const auto& o : origins) aopts.allowed_origins.push_back(o.as<std::string>());
    // Unset: the built web app if there is one; "" (set empty): no web app.
    aopts.static_dir =
        config.node("server.static_dir") ? config.get_string("server.static_dir", "") : default_web_dir();
    aopts.environment_provider = new_environment_provider;
    aopts.sse_keepalive = config.get_duration("events.keepalive", std::chrono::seconds(15));
    aopts.uploads = upload_limits(config);  // exercises.*: uploaded GNS3 projects and zips
    api::Api api(api::ApiDeps{*store, pool, jwt, login, bus, jobs, aopts, [&] { return !shutting_down; },
                              [&workflows](const std::string& spec, const std::string& instructions) {
                                  return workflows.lint(spec, instructions);
                              },
                              &consoles,
                              [&workflows](const store::ExerciseVersion& v) { workflows.check_lab(v); },
                              [&providers] { return providers->render_metrics(); }});

    http::ServerOptions sopts;
    std::tie(sopts.address, sopts.port) = parse_listen(options.listen, config);
    sopts.body_limit = static_cast<std::size_t>(config.get_int("server.body_limit", 1024 * 1024));
    sopts.header_limit = static_cast<std::size_t>(config.get_int("server.header_limit", 16 * 1024));
    sopts.idle_timeout = config.get_duration("server.idle_timeout", std::chrono::seconds(60));
    sopts.read_timeout = config.get_duration("server.read_timeout", std::chrono::seconds(30));
    sopts.write_timeout = config.get_duration("server.write_timeout", std::chrono::seconds(30));
    sopts.shutdown_grace = config.get_duration("server.shutdown_grace", std::chrono::seconds(20));
    sopts.access_log = config.get_bool("server.access_log", true);
    sopts.ws_idle_timeout = config.get_duration("server.websocket_idle_timeout", std::chrono::seconds(60));
    sopts.ws_max_message =
        static_cast<std::size_t>(config.get_int("server.websocket_max_message", 1024 * 1024));
    // HTTPS on the same port (issue 16): both PEM files, or neither; session cookies are then Secure.
    sopts.upload_limit = aopts.uploads.max_file;  // upload routes take larger bodies than server.body_limit
    sopts.body_limit_for = [&api](http::Method m, std::string_view target) {
        return api.body_limit(m, target);
    };
    sopts.tls_cert_file = config.get_string("server.tls.cert", "");
    sopts.tls_key_file = config.get_string("server.tls.key", "");
    const std::string scheme = sopts.tls_cert_file.empty() ? "http://" : "https://";
    http::Server server(ioc.get_executor(), sopts, [&api](http::Request& r) { return api.handle(r); });
    auto port = server.listen();
    if (iopts.address.empty()) iopts.address = scheme + sopts.address + ":" + std::to_string(port);
    instances.set_address(iopts.address);
    instances.register_now();  // before the API serves: new local environments can be placed here
    server.start();
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            co_await relay.start();
            co_await workflows.reconcile_at_start();
            co_await workflows.reconcile_owned(iopts.id);
            jobs.start();
            instances.start();
        },
        asio::detached);
    // Logouts on other instances sharing the store: poll what was revoked since the last look (a minute is
    // read again, for clocks that differ between hosts: revoking twice is harmless). Its own loop, so a
    // long reconcile at start does not hold it up.
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            asio::steady_timer timer(ioc);
            while (!shutting_down) {
                timer.expires_after(revocation_poll);
                co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
                if (shutting_down) break;
                auto now = core::unix_now();
                try {
                    auto fresh =
                        co_await pool.run([&] { return store->revoked_tokens(revocations_seen - 60, now); });
                    for (const auto& [jti, exp] : fresh) jwt.revoke(jti, exp);
                    revocations_seen = now;
                } catch (const std::exception& e) {
                    log::warn("auth.revocation_poll_failed", {{"error", e.what()}});
                }
            }
        },
        asio::detached);
    log::info("server.listening", {{"address", sopts.address},
                                   {"port", port},
                                   {"store", store::redacted_url(url)},
                                   {"instance", iopts.id}});
    if (options.print_banner)
        std::cout << "netpraxis listening on " << scheme << sopts.address << ":" << port << "\n"
                  << std::flush;
    if (on_ready) on_ready(port);

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        log::info("server.shutdown", {{"signal", sig}, {"in_flight", server.in_flight()}});
        shutting_down = true;
        asio::co_spawn(
            ioc,
            [&]() -> asio::awaitable<void> {
                relay.stop();
                instances.stop();
                bus.close();
                co_await server.shutdown();
                co_await jobs.stop(sopts.shutdown_grace);
                ioc.stop();
            },
            asio::detached);
    });
    ioc.run();
    log::info("server.stopped");
    return 0;
}

}  // namespace np::cmd
