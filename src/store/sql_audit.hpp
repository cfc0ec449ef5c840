// SqlStore<Conn>: the audit log (store.hpp documents each method), written once over the engine's
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
void SqlStore<Conn>::append_audit(const AuditEntry& a) {
    auto& c = connection();
    sql::run_transaction(c, [&] {
        c.query(
             "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail, actor_name, "
             "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
            .bind(sql::or_now(a.at), a.actor_id, a.action, a.object_type, a.object_id,
                  sql::or_default(a.detail, "{}"), a.actor_name, sql::or_default(a.outcome, "ok"))
            .run();
    });
}

namespace sql {
// The audit filter as WHERE clauses; empty fields do not filter.
inline Where audit_where(const AuditFilter& f) {
    Where w;
    if (!f.object_id.empty()) w.add("object_id = ?", f.object_id);
    if (!f.actor.empty()) {
        w.clauses.push_back("(actor_id = ? OR actor_name = ?)");
        w.args.emplace_back(f.actor);
        w.args.emplace_back(f.actor);
    }
    if (f.action.ends_with('.')) {
        // A prefix: the range ["x.", "x/") (the character after "." is "/") uses the index, no LIKE.
        w.add("action >= ?", f.action);
        w.add("action < ?", f.action.substr(0, f.action.size() - 1) + "/");
    } else if (!f.action.empty()) {
        w.add("action = ?", f.action);
    }
    if (!f.object_type.empty()) w.add("object_type = ?", f.object_type);
    if (!f.outcome.empty()) w.add("outcome = ?", f.outcome);
    if (f.since) w.add("at >= ?", f.since);
    if (f.until) w.add("at < ?", f.until);
    return w;
}
}  // namespace sql

template <class Conn>
PageResult<AuditEntry> SqlStore<Conn>::list_audit(const AuditFilter& f, const Page& page) {
    auto& c = connection();
    sql::Where w = sql::audit_where(f);
    std::int64_t after = 0;
    if (!page.after.empty()) {
        try {
            std::size_t used = 0;
            after = std::stoll(page.after, &used);
            if (used != page.after.size()) throw std::invalid_argument("trailing text");
        } catch (const std::exception&) {
            throw core::invalid("audit page cursor '" + page.after + "' is not a number");
        }
    }
    static const std::string select =
        "SELECT id, at, actor_id, action, object_type, object_id, detail, actor_name, outcome FROM "
        "audit_log";
    using Stmt = typename Conn::Stmt;
    if (!f.newest_first)
        return sql::page_query<AuditEntry>(c, select, "id", std::move(w), after, !page.after.empty(), page,
                                           sql::read_audit<Stmt>);
    const int limit = sql::clamp_limit(page.limit);
    if (!page.after.empty()) w.add("id < ?", after);
    w.args.emplace_back(std::int64_t{limit} + 1);
    auto stmt = c.query(select + w.sql() + " ORDER BY id DESC LIMIT ?");
    stmt.bind_args(w.args);
    PageResult<AuditEntry> out;
    while (stmt.next()) out.items.push_back(sql::read_audit<Stmt>(stmt));
    if (out.items.size() > static_cast<std::size_t>(limit)) {
        out.items.pop_back();
        out.next = std::to_string(out.items.back().id);
    }
    return out;
}

}  // namespace np::store
