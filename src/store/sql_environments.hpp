// SqlStore<Conn>: environments (store.hpp documents each method), written once over the engine's
// connection type (sql_ops.hpp lists what it supplies). Internal to src/store; sql_store_impl.hpp includes
// it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/instances_ops.hpp"
#include "store/sql_ops.hpp"
#include "store/sql_store.hpp"

namespace np::store {

namespace sql {
// Inserts environment `e` as given (its instance already chosen or none).
template <class C>
void insert_environment(C& c, const Environment& e) {
    require_id(e.id, "environment");
    run_transaction(c, [&] {
        std::string student;
        {
            auto stmt = c.query("SELECT student_id FROM assignments WHERE id = ?");
            stmt.bind(e.assignment_id);
            if (!stmt.next()) throw core::not_found("no assignment with id '" + e.assignment_id + "'");
            student = stmt.text(0);
        }
        if (!e.student_id.empty() && e.student_id != student) {
            throw core::invalid("environment student '" + e.student_id +
                                "' is not the student of assignment '" + e.assignment_id + "'");
        }
        const std::int64_t created = or_now(e.created_at);
        try {
            c.query(
                 "INSERT INTO environments (id, assignment_id, student_id, provider, desired_state, "
                 "observed_state,"
                 " provider_ids, addresses, last_error, created_at, updated_at, instance_id)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(e.id, e.assignment_id, student, e.provider, e.desired_state, e.observed_state,
                      or_default(e.provider_ids, "{}"), or_default(e.addresses, "{}"), e.last_error, created,
                      e.updated_at != 0 ? e.updated_at : created, e.instance_id)
                .run();
        } catch (const typename C::Error& err) {
            if (err.is_primary_key())
                throw core::conflict("an environment with id '" + e.id + "' already exists");
            if (err.is_unique()) {
                throw core::conflict("assignment '" + e.assignment_id + "' already has an environment");
            }
            throw;
        }
    });
}
}  // namespace sql

template <class Conn>
void SqlStore<Conn>::create_environment(const Environment& e) {
    auto& c = connection();
    if (!e.instance_id.empty()) return sql::insert_environment(c, e);
    // Placed in the transaction that stores it: the choice and the row are one step.
    sql::run_transaction(c, [&] {
        Environment placed = e;
        placed.instance_id = sql::InstanceOps<Conn>(c).place_environment(e.provider, core::unix_now());
        sql::insert_environment(c, placed);
    });
}

template <class Conn>
std::optional<Environment> SqlStore<Conn>::get_environment(const std::string& id) {
    auto& c = connection();
    auto stmt =
        c.query(std::string("SELECT ") + sql::kEnvironmentCols + " FROM environments e WHERE e.id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_environment(stmt);
}

template <class Conn>
std::optional<Environment> SqlStore<Conn>::environment_for_assignment(const std::string& assignment_id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kEnvironmentCols +
                        " FROM environments e WHERE e.assignment_id = ?");
    stmt.bind(assignment_id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_environment(stmt);
}

template <class Conn>
PageResult<Environment> SqlStore<Conn>::list_environments(const EnvironmentFilter& filter, const Page& page) {
    auto& c = connection();
    sql::Where w;
    std::string from = " FROM environments e";
    if (!filter.exercise_id.empty()) {
        from += " JOIN assignments a ON a.id = e.assignment_id";
        w.add("a.exercise_id = ?", filter.exercise_id);
    }
    if (!filter.assignment_id.empty()) w.add("e.assignment_id = ?", filter.assignment_id);
    if (!filter.student_id.empty()) w.add("e.student_id = ?", filter.student_id);
    if (!filter.observed_state.empty()) w.add("e.observed_state = ?", filter.observed_state);
    return sql::page_query<Environment>(c, std::string("SELECT ") + sql::kEnvironmentCols + from, "e.id",
                                        std::move(w), page.after, !page.after.empty(), page,
                                        sql::read_environment<typename Conn::Stmt>);
}

template <class Conn>
void SqlStore<Conn>::update_environment(const Environment& e) {
    auto& c = connection();
    int changed = sql::run_transaction(c, [&] {
        return c
            .query(
                "UPDATE environments SET provider = ?, desired_state = ?, observed_state = ?, "
                "provider_ids = "
                "?,"
                " addresses = ?, last_error = ?, updated_at = ? WHERE id = ?")
            .bind(e.provider, e.desired_state, e.observed_state, sql::or_default(e.provider_ids, "{}"),
                  sql::or_default(e.addresses, "{}"), e.last_error, sql::or_now(e.updated_at), e.id)
            .run();
    });
    if (changed == 0) throw core::not_found("no environment with id '" + e.id + "'");
}

template <class Conn>
void SqlStore<Conn>::delete_environment(const std::string& id) {
    auto& c = connection();
    int changed = sql::run_transaction(
        c, [&] { return c.query("DELETE FROM environments WHERE id = ?").bind(id).run(); });
    if (changed == 0) throw core::not_found("no environment with id '" + id + "'");
}

}  // namespace np::store
