// SqlStore<Conn>: users and revoked tokens (store.hpp documents each method), written once over the engine's
// connection type (sql_ops.hpp lists what it supplies). Internal to src/store; sql_store_impl.hpp includes
// it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/sql_ops.hpp"
#include "store/sql_store.hpp"

namespace np::store {

template <class Conn>
void SqlStore<Conn>::create_user(const User& u) {
    auto& c = connection();
    sql::require_id(u.id, "user");
    try {
        sql::run_transaction(c, [&] {
            c.query(std::string("INSERT INTO users (") + sql::kUserCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(u.id, u.username, u.realm, u.role, u.display_name, u.password_hash,
                      u.must_change_password, sql::or_now(u.created_at),
                      std::max<std::int64_t>(u.session_gen, 1), u.disabled)
                .run();
        });
    } catch (const typename Conn::Error& e) {
        if (e.is_primary_key()) throw core::conflict("a user with id '" + u.id + "' already exists");
        if (e.is_unique()) {
            throw core::conflict("user '" + u.username + "' already exists in realm '" + u.realm + "'");
        }
        throw;
    }
}

template <class Conn>
std::optional<User> SqlStore<Conn>::get_user(const std::string& id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kUserCols + " FROM users WHERE id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_user(stmt);
}

template <class Conn>
std::optional<User> SqlStore<Conn>::find_user(const std::string& username, const std::string& realm) {
    auto& c = connection();
    auto stmt =
        c.query(std::string("SELECT ") + sql::kUserCols + " FROM users WHERE username = ? AND realm = ?");
    stmt.bind(username, realm);
    if (!stmt.next()) return std::nullopt;
    return sql::read_user(stmt);
}

template <class Conn>
PageResult<User> SqlStore<Conn>::list_users(const UserFilter& filter, const Page& page) {
    auto& c = connection();
    sql::Where w;
    if (!filter.role.empty()) w.add("role = ?", filter.role);
    if (!filter.realm.empty()) w.add("realm = ?", filter.realm);
    if (!filter.search.empty()) w.add_search("username", "display_name", filter.search, Conn::kLike);
    return sql::page_query<User>(c, std::string("SELECT ") + sql::kUserCols + " FROM users", "id",
                                 std::move(w), page.after, !page.after.empty(), page,
                                 sql::read_user<typename Conn::Stmt>);
}

template <class Conn>
void SqlStore<Conn>::update_user(const User& u) {
    auto& c = connection();
    int changed = 0;
    try {
        changed = sql::run_transaction(c, [&] {
            return c
                .query(
                    // The right-hand sides read the row as it was: the generation goes up when
                    // what a session was granted on (role, password, status) changes.
                    "UPDATE users SET session_gen = session_gen + CASE WHEN role <> ? OR password_hash "
                    "<> ?"
                    " OR disabled <> ? THEN 1 ELSE 0 END, username = ?, realm = ?, role = ?,"
                    " display_name = ?, password_hash = ?, must_change_password = ?, disabled = ?"
                    " WHERE id = ?")
                .bind(u.role, u.password_hash, u.disabled, u.username, u.realm, u.role, u.display_name,
                      u.password_hash, u.must_change_password, u.disabled, u.id)
                .run();
        });
    } catch (const typename Conn::Error& e) {
        if (e.is_unique()) {
            throw core::conflict("user '" + u.username + "' already exists in realm '" + u.realm + "'");
        }
        throw;
    }
    if (changed == 0) throw core::not_found("no user with id '" + u.id + "'");
}

template <class Conn>
void SqlStore<Conn>::delete_user(const std::string& id) {
    auto& c = connection();
    int changed = 0;
    try {
        changed =
            sql::run_transaction(c, [&] { return c.query("DELETE FROM users WHERE id = ?").bind(id).run(); });
    } catch (const typename Conn::Error& e) {
        if (e.is_foreign_key()) {
            throw core::conflict("user '" + id +
                                 "' still has assignments, environments or evaluations; delete those first");
        }
        throw;
    }
    if (changed == 0) throw core::not_found("no user with id '" + id + "'");
}

template <class Conn>
std::int64_t SqlStore<Conn>::count_users() {
    auto& c = connection();
    auto stmt = c.query("SELECT COUNT(*) FROM users");
    return stmt.next() ? stmt.i64(0) : 0;
}

template <class Conn>
void SqlStore<Conn>::revoke_token(const std::string& jti, std::int64_t expires_at, std::int64_t now) {
    auto& c = connection();
    sql::run_transaction(c, [&] {
        c.query("DELETE FROM revoked_tokens WHERE expires_at <= ?").bind(now).run();
        c.query(
             "INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES (?, ?, ?)"
             " ON CONFLICT (jti) DO NOTHING")
            .bind(jti, expires_at, now)
            .run();
    });
}

template <class Conn>
std::vector<std::pair<std::string, std::int64_t>> SqlStore<Conn>::revoked_tokens(std::int64_t since,
                                                                                 std::int64_t now) {
    auto& c = connection();
    std::vector<std::pair<std::string, std::int64_t>> out;
    auto stmt = c.query(
        "SELECT jti, expires_at FROM revoked_tokens WHERE revoked_at >= ? AND expires_at > ?"
        " ORDER BY revoked_at, jti");
    stmt.bind(since, now);
    while (stmt.next()) out.emplace_back(stmt.text(0), stmt.i64(1));
    return out;
}

}  // namespace np::store
