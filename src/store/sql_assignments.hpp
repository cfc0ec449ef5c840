// SqlStore<Conn>: assignments (store.hpp documents each method), written once over the engine's
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
void SqlStore<Conn>::create_assignment(const Assignment& a) {
    auto& c = connection();
    sql::require_id(a.id, "assignment");
    sql::run_transaction(c, [&] {
        try {
            // a savepoint of its own: PostgreSQL refuses further statements in a failed one, and the
            // diagnosis below needs some
            sql::run_transaction(c, [&] {
                c.query(std::string("INSERT INTO assignments (") + sql::kAssignmentCols +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .bind(a.id, a.exercise_id, a.exercise_version_id, a.student_id, a.created_by, a.deadline,
                          a.max_attempts, a.cooldown_seconds,
                          std::string(a.score_policy == "best" ? "best" : "last"), sql::or_now(a.created_at))
                    .run();
                c.query(
                     "INSERT INTO assignment_rules (assignment_id, course_id, score, late, late_penalty,"
                     " keep_hidden) VALUES (?, ?, ?, ?, ?, ?)")
                    .bind(a.id, a.course_id, a.score_policy, a.late_policy, a.late_penalty,
                          std::int64_t{a.keep_hidden ? 1 : 0})
                    .run();
            });
        } catch (const typename Conn::Error& e) {
            if (e.is_primary_key())
                throw core::conflict("an assignment with id '" + a.id + "' already exists");
            if (e.is_unique()) {
                throw core::conflict("student '" + a.student_id +
                                     "' already has an assignment of exercise '" + a.exercise_id + "'");
            }
            if (!e.is_foreign_key()) throw;
            // Name the missing reference (the engine does not say which key failed).
            auto exists = [&](const char* sql, auto... args) {
                auto stmt = c.query(sql);
                stmt.bind(args...);
                return stmt.next();
            };
            if (!exists("SELECT 1 FROM exercises WHERE id = ?", a.exercise_id)) {
                throw core::not_found("no exercise with id '" + a.exercise_id + "'");
            }
            if (!exists("SELECT 1 FROM users WHERE id = ?", a.student_id)) {
                throw core::not_found("no user with id '" + a.student_id + "'");
            }
            throw core::invalid("exercise version '" + a.exercise_version_id +
                                "' is not a version of exercise '" + a.exercise_id + "'");
        }
    });
}

template <class Conn>
std::optional<Assignment> SqlStore<Conn>::get_assignment(const std::string& id) {
    auto& c = connection();
    auto stmt = c.query(std::string(sql::kAssignmentSelect) + " WHERE a.id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_assignment(stmt);
}

template <class Conn>
PageResult<Assignment> SqlStore<Conn>::list_assignments(const AssignmentFilter& filter, const Page& page) {
    auto& c = connection();
    sql::Where w;
    if (!filter.exercise_id.empty()) w.add("a.exercise_id = ?", filter.exercise_id);
    if (!filter.student_id.empty()) w.add("a.student_id = ?", filter.student_id);
    if (!filter.course_id.empty()) w.add("r.course_id = ?", filter.course_id);
    return sql::page_query<Assignment>(c, sql::kAssignmentSelect, "a.id", std::move(w), page.after,
                                       !page.after.empty(), page, sql::read_assignment<typename Conn::Stmt>);
}

template <class Conn>
void SqlStore<Conn>::delete_assignment(const std::string& id) {
    auto& c = connection();
    int changed = 0;
    try {
        changed = sql::run_transaction(
            c, [&] { return c.query("DELETE FROM assignments WHERE id = ?").bind(id).run(); });
    } catch (const typename Conn::Error& e) {
        if (e.is_foreign_key()) {
            throw core::conflict("assignment '" + id +
                                 "' still has an environment; delete the environment first");
        }
        throw;
    }
    if (changed == 0) throw core::not_found("no assignment with id '" + id + "'");
}

}  // namespace np::store
