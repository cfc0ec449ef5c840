// SqlStore<Conn>: schema (migrate, schema_version), transactions, ping and settings (store.hpp documents each
// method), written once over the engine's connection type (sql_ops.hpp lists what it supplies). Internal to
// src/store; sql_store_impl.hpp includes it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "store/migrations.hpp"
#include "store/sql_ops.hpp"
#include "store/sql_store.hpp"

namespace np::store {

template <class Conn>
int SqlStore<Conn>::migrate() {
    auto& c = connection();
    auto migrations = embedded_migrations();
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    return sql::run_transaction(c, [&] {
        c.lock_migrations();  // several instances starting at once: one migrates, the others wait
        c.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
            "NULL,"
            " applied_at BIGINT NOT NULL)");
        std::set<int> applied;
        {
            auto stmt = c.query("SELECT version FROM schema_migrations");
            while (stmt.next()) applied.insert(stmt.i32(0));
        }
        if (!applied.empty() && *applied.rbegin() > latest) {
            throw core::unavailable("the database schema is at version " + std::to_string(*applied.rbegin()) +
                                    ", newer than this netpraxis knows (" + std::to_string(latest) +
                                    "): run a newer netpraxis");
        }
        int ran = 0;
        for (const auto& m : migrations) {
            if (applied.contains(m.version)) continue;
            try {
                c.exec(sql_for_dialect(m.sql, Conn::kDialect));
            } catch (const core::Error& e) {
                throw core::internal("migration " + std::to_string(m.version) + "_" + std::string(m.name) +
                                     " failed: " + e.what());
            }
            c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                .bind(m.version, m.name, core::unix_now())
                .run();
            log::info("store.migration.applied",
                      {{"version", m.version}, {"name", m.name}, {"engine", Conn::kDialect}});
            ++ran;
        }
        return ran;
    });
}

template <class Conn>
int SqlStore<Conn>::schema_version() {
    auto& c = connection();
    if (!c.table_exists("schema_migrations")) return 0;
    auto stmt = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    return stmt.next() ? stmt.i32(0) : 0;
}

template <class Conn>
void SqlStore<Conn>::transaction(const std::function<void()>& fn) {
    sql::run_transaction(connection(), fn);
}

template <class Conn>
bool SqlStore<Conn>::ping() {
    auto& c = connection();
    try {
        auto stmt = c.query("SELECT 1");
        return stmt.next() && stmt.i32(0) == 1;
    } catch (const std::exception&) {
        return false;
    }
}

template <class Conn>
std::optional<std::string> SqlStore<Conn>::get_setting(const std::string& key) {
    auto& c = connection();
    auto stmt = c.query("SELECT value FROM settings WHERE key = ?");
    stmt.bind(key);
    if (!stmt.next()) return std::nullopt;
    return stmt.text(0);
}

template <class Conn>
std::string SqlStore<Conn>::put_setting_if_absent(const std::string& key, const std::string& value) {
    auto& c = connection();
    return sql::run_transaction(c, [&] {
        c.query(
             "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO "
             "NOTHING")
            .bind(key, value, core::unix_now())
            .run();
        auto stmt = c.query("SELECT value FROM settings WHERE key = ?");
        stmt.bind(key);
        if (!stmt.next()) throw core::internal("setting '" + key + "' vanished after its insert");
        return stmt.text(0);
    });
}

}  // namespace np::store
