// Users: teachers manage accounts; everyone reads their own.
#include "api/handlers.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {
void check_role(const std::string& role) {
    if (!store::parse<store::Role>(role))
        throw core::invalid("role must be " + store::one_of<store::Role>(),
                            {{"role", "must be " + store::one_of<store::Role>()}});
}
void check_username(const std::string& u) {
    bool ok = !u.empty() && u.size() <= 64;
    for (char c : u)
        ok = ok &&
             (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '@');
    if (!ok) throw core::invalid("bad username", {{"username", "1-64 characters: letters, digits, . _ - @"}});
}
}  // namespace

void add_user_routes(Router& r, ApiDeps& d) {
    r.add({http::Method::get,
           "/api/v1/users",
           Policy::teacher,
           "users",
           "List users",
           {},
           {{"role", "string", false, "teacher or student"},
            {"realm", "string", false, "realm name"},
            {"q", "string", false, "substring of the username or display name"}},
           200,
           [&d](Context& ctx) -> Aw {
               store::UserFilter f{query_or(ctx, "role"), query_or(ctx, "realm"), query_or(ctx, "q")};
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_users(f, page); });
               co_return json_ok(page_json(res, user_json));
           },
           true});

    r.add(
        {http::Method::post,
         "/api/v1/users",
         Policy::teacher,
         "users",
         "Create a local user (password optional: without one the user logs in through a realm)",
         {{"username", "string", true, ""},
          {"role", "string", true, "teacher or student"},
          {"display_name", "string", false, ""},
          {"password", "string", false, "at least 8 characters"}},
         {},
         201,
         [&d](Context& ctx) -> Aw {
             store::User u;
             u.id = core::new_id();
             u.username = body_string(ctx, "username");
             u.role = body_string(ctx, "role");
             u.display_name = body_string(ctx, "display_name");
             u.realm = "local";
             u.created_at = core::unix_now();
             check_username(u.username);
             check_role(u.role);
             auto pw = body_string(ctx, "password");
             if (body_has(ctx, "password") && pw.size() < 8)
                 throw core::invalid("password too short", {{"password", "must have at least 8 characters"}});
             co_await d.pool.run([&] {
                 if (!pw.empty()) u.password_hash = auth::hash_password(pw);
                 d.store.transaction([&] {
                     d.store.create_user(u);
                     audit(d.store, ctx, "user.create", "user", u.id);
                 });
             });
             co_return json_ok(user_json(u), 201);
         }});

    r.add({http::Method::get,
           "/api/v1/users/{id}",
           Policy::authenticated,
           "users",
           "One user (students: only themselves)",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               if (!ctx.is_teacher() && id != ctx.caller->user_id) throw core::not_found("no such user");
               auto u = co_await d.pool.run([&] { return d.store.get_user(id); });
               if (!u) throw core::not_found("no user with id " + id);
               co_return json_ok(user_json(*u));
           }});

    r.add(
        {http::Method::patch,
         "/api/v1/users/{id}",
         Policy::teacher,
         "users",
         "Change a user's display name, role, status or (local) password. A change of role, password or "
         "status ends the user's sessions at once, on every instance: they log in again.",
         {{"display_name", "string", false, ""},
          {"role", "string", false, ""},
          {"password", "string", false, ""},
          {"disabled", "boolean", false, "a disabled user cannot log in"}},
         {},
         200,
         [&d](Context& ctx) -> Aw {
             auto id = ctx.param("id");
             if (body_has(ctx, "role")) check_role(body_string(ctx, "role"));
             auto pw = body_string(ctx, "password");
             if (body_has(ctx, "password") && pw.size() < 8)
                 throw core::invalid("password too short", {{"password", "must have at least 8 characters"}});
             if (body_has(ctx, "disabled") && ctx.body->at("disabled").as_bool() && id == ctx.caller->user_id)
                 throw core::conflict("you cannot disable your own account");
             auto u = co_await d.pool.run([&] {
                 auto user = d.store.get_user(id);
                 if (!user) throw core::not_found("no user with id " + id);
                 if (body_has(ctx, "display_name")) user->display_name = body_string(ctx, "display_name");
                 if (body_has(ctx, "role")) user->role = body_string(ctx, "role");
                 if (body_has(ctx, "disabled")) user->disabled = ctx.body->at("disabled").as_bool();
                 if (!pw.empty()) {
                     if (user->realm != "local")
                         throw core::conflict("user '" + user->username + "' logs in through realm '" +
                                              user->realm + "': change the password there");
                     user->password_hash = auth::hash_password(pw);
                     user->must_change_password = false;
                 }
                 auto before = user->session_gen;
                 d.store.transaction([&] {
                     d.store.update_user(*user);
                     user = d.store.get_user(id);
                     if (user->session_gen != before) end_sessions(d, user->id, user->session_gen);
                     audit(d.store, ctx, "user.update", "user", id);
                 });
                 return std::make_pair(*user, user->session_gen != before);
             });
             if (u.second)
                 d.jwt.revoke(auth::user_revocation_jti(u.first.id, u.first.session_gen),
                              core::unix_now() + d.jwt.ttl().count());
             co_return json_ok(user_json(u.first));
         }});

    r.add({http::Method::del,
           "/api/v1/users/{id}",
           Policy::teacher,
           "users",
           "Delete a user",
           {},
           {},
           204,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               if (id == ctx.caller->user_id) throw core::conflict("you cannot delete your own account");
               co_await d.pool.run([&] {
                   d.store.transaction([&] {
                       d.store.delete_user(id);
                       end_sessions(d, id, auth::kUserGone);
                       audit(d.store, ctx, "user.delete", "user", id);
                   });
               });
               d.jwt.revoke(auth::user_revocation_jti(id, auth::kUserGone),
                            core::unix_now() + d.jwt.ttl().count());
               http::Response res;
               res.status = 204;
               res.content_type = {};
               co_return res;
           }});
}

}  // namespace np::api
