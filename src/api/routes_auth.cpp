// Login, logout and the current user.
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

}  // namespace

void add_auth_routes(Router& r, ApiDeps& d) {
    Route login{
        http::Method::post,
        "/api/v1/auth/login",
        Policy::public_,
        "auth",
        "Log in through the configured realms (teacher realms first). Returns a bearer token and sets "
        "an HttpOnly session cookie; cookie-authenticated writes must send the csrf_token in X-CSRF-Token.",
        {{"username", "string", true, ""}, {"password", "string", true, ""}},
        {},
        200,
        [&d](Context& ctx) -> Aw {
            auto username = body_string(ctx, "username");
            auto identity =
                co_await d.login.login(username, body_string(ctx, "password"), ctx.request.remote_address);
            // External realms create their users on first login; the role follows the realm.
            auto found = co_await d.pool.run([&] {
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
                    return std::make_pair(nu, false);
                }
                bool ended = false;
                if (u->role != identity.role && identity.realm != "local") {
                    // The realm moved this user (e.g. from the student group to the teacher group): the
                    // sessions of the old role end everywhere (store::Store::update_user bumps the
                    // generation).
                    u->role = identity.role;
                    d.store.transaction([&] {
                        d.store.update_user(*u);
                        u = d.store.get_user(u->id);
                        end_sessions(d, u->id, u->session_gen);
                    });
                    ended = true;
                }
                return std::make_pair(*u, ended);
            });
            if (found.second)
                d.jwt.revoke(auth::user_revocation_jti(found.first.id, found.first.session_gen),
                             core::unix_now() + d.jwt.ttl().count());
            const auto& user = found.first;
            // Checked after the realm accepted the password, so the answer tells nothing to a guesser.
            if (user.disabled) throw core::forbidden("this account is disabled: ask a teacher");
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
               co_await d.pool.run(
                   [&] { d.store.revoke_token(caller->jti, caller->expires_at, core::unix_now()); });
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
