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
             "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail) VALUES (?, ?, "
             "?, "
             "?, ?, ?)")
            .bind(sql::or_now(a.at), a.actor_id, a.action, a.object_type, a.object_id,
                  sql::or_default(a.detail, "{}"))
            .run();
    });
}

template <class Conn>
PageResult<AuditEntry> SqlStore<Conn>::list_audit(const std::string& object_id, const Page& page) {
    auto& c = connection();
    sql::Where w;
    if (!object_id.empty()) w.add("object_id = ?", object_id);
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
    return sql::page_query<AuditEntry>(
        c, "SELECT id, at, actor_id, action, object_type, object_id, detail FROM audit_log", "id",
        std::move(w), after, !page.after.empty(), page, sql::read_audit<typename Conn::Stmt>);
}

}  // namespace np::store
