// Login, logout and the current user.
#include <exception>
#include <optional>

#include "api/handlers.hpp"
#include "auth/jwt.hpp"
#include "auth/login.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

// GET /api/v1/me: every page of the web UI asks for it. Built in a plain function so the JSON lives in
// stack scratch memory (a coroutine frame would be heap-allocated and too big for Asio's frame recycling):
// the body string is the only allocation.
http::Response me_response(const auth::Claims& c) {
    unsigned char scratch[1024];
    json::monotonic_resource mr(scratch, sizeof scratch);
    json::object o({{"id", c.user_id},
                    {"username", c.username},
                    {"role", c.role},
                    {"realm", c.realm},
                    {"display_name", c.display_name},
                    {"session_expires_at", core::rfc3339(c.expires_at)}},
                   &mr);
    return json_ok(o);
}

// The store's user for an identity a realm accepted (blocking: on the worker pool). External realms create
// their users on first login; the role follows the realm. `second`: the user's sessions were ended (the
// realm moved them to another role).
std::pair<store::User, bool> provision_user(ApiDeps& d, const auth::Identity& identity) {
    auto u = d.store.find_user(identity.username, identity.realm);
    if (!u) {
        store::User nu;
        nu.id = core::new_id();
        nu.username = identity.username;
        nu.realm = identity.realm;
        nu.role = identity.role;
        nu.display_name = identity.display_name;
        nu.created_at = core::unix_now();
        d.store.create_user(nu);
        return {nu, false};
    }
    bool ended = false;
    if (u->role != identity.role && identity.realm != "local") {
        // The realm moved this user (e.g. from the student group to the teacher group): the sessions of the
        // old role end everywhere (store::Store::update_user bumps the generation).
        u->role = identity.role;
        d.store.transaction([&] {
            d.store.update_user(*u);
            u = d.store.get_user(u->id);
            end_sessions(d, u->id, u->session_gen);
        });
        ended = true;
    }
    return {*u, ended};
}

// Records a login attempt: the username tried, the address, the realm (never the password).
void audit_login(store::Store& store, const Context& ctx, const std::string& username,
                 const std::string& user_id, const std::string& realm, const char* outcome) {
    store::AuditEntry a;
    a.at = core::unix_now();
    a.actor_id = user_id;
    a.actor_name = username.substr(0, 128);
    a.action = "auth.login";
    a.object_type = "user";
    a.object_id = user_id;
    a.detail = json::serialize(json::object{{"realm", realm}, {"remote", ctx.request.remote_address}});
    a.outcome = outcome;
    store.append_audit(a);
    ctx.audited = true;
}

}  // namespace

void add_auth_routes(Router& r, ApiDeps& d) {
    Route login{
        http::Method::post,
        "/api/v1/auth/login",
        Policy::public_,
        "auth",
        "Log in through the configured realms (teacher realms first). Returns a bearer token and sets "
        "an HttpOnly session cookie; cookie-authenticated writes must send the csrf_token in X-CSRF-Token.",
        {{"username", "string", true, ""},
         {"password", "string", true, ""},
         {"realm", "string", false, "only this realm (GET /api/v1/auth/realms); default: each in order"}},
        {},
        200,
        [&d](Context& ctx) -> Aw {
            auto username = body_string(ctx, "username");
            auto realm = body_string(ctx, "realm");
            std::optional<auth::Identity> accepted;
            std::exception_ptr refused;
            try {
                accepted = co_await d.login.login(username, body_string(ctx, "password"),
                                                  ctx.request.remote_address, realm);
            } catch (const core::Error& e) {
                // Only wrong credentials are recorded: the rate limiter bounds them per address and user, so
                // a flood of guesses cannot flood the log (a rate-limited attempt is not recorded).
                if (e.code() != core::Code::unauthenticated) throw;
                refused = std::current_exception();
            }
            if (refused) {
                // A refused login is recorded (who tried, from where; never the password), then answered.
                co_await d.pool.run([&] { audit_login(d.store, ctx, username, "", realm, "denied"); });
                std::rethrow_exception(refused);
            }
            auto identity = std::move(*accepted);
            auto found = co_await d.pool.run([&] { return provision_user(d, identity); });
            if (found.second)
                d.jwt.revoke(auth::user_revocation_jti(found.first.id, found.first.session_gen),
                             core::unix_now() + d.jwt.ttl().count());
            const auto& user = found.first;
            // Checked after the realm accepted the password, so the answer tells nothing to a guesser.
            if (user.disabled) {
                co_await d.pool.run(
                    [&] { audit_login(d.store, ctx, user.username, user.id, user.realm, "denied"); });
                throw core::forbidden("this account is disabled: ask a teacher");
            }
            co_await d.pool.run([&] { audit_login(d.store, ctx, user.username, user.id, user.realm, "ok"); });
            auth::Claims claims;
            claims.user_id = user.id;
            claims.username = user.username;
            claims.role = user.role;
            claims.realm = user.realm;
            claims.display_name = user.display_name;
            claims.gen = user.session_gen;
            auto token = d.jwt.issue(claims, core::unix_now());
            json::object out{{"token", token},
                             {"token_type", "Bearer"},
                             {"csrf_token", claims.csrf},
                             {"expires_at", core::rfc3339(claims.expires_at)},
                             {"user", user_json(user)}};
            auto res = json_ok(out);
            std::string attrs = "; Path=/; SameSite=Strict; Max-Age=" + std::to_string(d.jwt.ttl().count());
            if (request_is_https(ctx, d.options)) attrs += "; Secure";
            res.header("Set-Cookie", "np_session=" + token + attrs + "; HttpOnly");
            res.header("Set-Cookie", "np_csrf=" + claims.csrf + attrs);
            res.header("Cache-Control", "no-store");
            co_return res;
        }};
    login.csrf_exempt = true;
    r.add(std::move(login));

    r.add({http::Method::get,
           "/api/v1/auth/realms",
           Policy::public_,
           "auth",
           "The configured login realms in the order they are tried: name, kind and display label (the "
           "login page's picker). Nothing else of their configuration is shown.",
           {},
           {},
           200,
           [&d](Context&) -> Aw {
               json::array items;
               for (const auto& realm : d.login.realms())
                   items.push_back(json::object{
                       {"name", realm->name()}, {"kind", realm->kind()}, {"label", realm->label()}});
               co_return json_ok(json::object{{"items", std::move(items)}});
           }});

    r.add({http::Method::post,
           "/api/v1/auth/logout",
           Policy::authenticated,
           "auth",
           "Log out: the token is revoked and the session cookie cleared",
           {},
           {},
           204,
           [&d](Context& ctx) -> Aw {
               // Stored first, so the revocation survives a restart and reaches the other instances
               // (they poll revoked_tokens); then refused here at once.
               auto caller = ctx.caller;
               co_await d.pool.run([&] {
                   d.store.revoke_token(caller->jti, caller->expires_at, core::unix_now());
                   audit(d.store, ctx, "auth.logout", "user", caller->user_id);
               });
               d.jwt.revoke(*caller);
               http::Response res;
               res.status = 204;
               std::string attrs = "; Path=/; SameSite=Strict; Max-Age=0";
               if (request_is_https(ctx, d.options)) attrs += "; Secure";
               res.header("Set-Cookie", "np_session=" + attrs + "; HttpOnly");
               res.header("Set-Cookie", "np_csrf=" + attrs);
               co_return res;
           }});

    r.add({http::Method::get,
           "/api/v1/me",
           Policy::authenticated,
           "auth",
           "The logged-in user (from the session token)",
           {},
           {},
           200,
           [](Context& ctx) -> Aw { co_return me_response(*ctx.caller); }});
}

}  // namespace np::api
