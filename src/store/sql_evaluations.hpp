// SqlStore<Conn>: evaluations (store.hpp documents each method), written once over the engine's
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
Evaluation SqlStore<Conn>::create_evaluation(const Evaluation& e) {
    auto& c = connection();
    return sql::run_transaction(c, [&] {
        Evaluation row = e;
        {
            // Locks the assignment row in PostgreSQL so concurrent evaluations number one after the
            // other. The attempt is read by a second statement: in READ COMMITTED each statement
            // sees the commits made while it waited for the lock only if it starts after the wait.
            auto stmt =
                c.query(std::string("SELECT student_id FROM assignments WHERE id = ?") + Conn::kForUpdate);
            stmt.bind(e.assignment_id);
            if (!stmt.next()) throw core::not_found("no assignment with id '" + e.assignment_id + "'");
            if (!e.student_id.empty() && e.student_id != stmt.text(0)) {
                throw core::invalid("evaluation student '" + e.student_id +
                                    "' is not the student of assignment '" + e.assignment_id + "'");
            }
            row.student_id = stmt.text(0);
        }
        {
            auto stmt =
                c.query("SELECT COALESCE(MAX(attempt), 0) + 1 FROM evaluations WHERE assignment_id = ?");
            stmt.bind(e.assignment_id);
            row.attempt = stmt.next() ? stmt.i32(0) : 1;
        }
        if (row.id.empty()) row.id = core::new_id();
        row.created_at = sql::or_now(row.created_at);
        row.results = sql::or_default(row.results, "[]");
        row.transcript = sql::or_default(row.transcript, "[]");
        try {
            c.query(std::string("INSERT INTO evaluations (") + sql::kEvaluationCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(row.id, row.assignment_id, row.student_id, row.attempt, row.status, row.score,
                      row.max_score, row.results, row.transcript, row.error, row.job_id, row.created_at,
                      row.finished_at, row.exercise_version_id, std::int64_t{row.late ? 1 : 0}, row.run_id)
                .run();
        } catch (const typename Conn::Error& err) {
            if (err.is_primary_key())
                throw core::conflict("an evaluation with id '" + row.id + "' already exists");
            throw;
        }
        return row;
    });
}

template <class Conn>
std::optional<Evaluation> SqlStore<Conn>::get_evaluation(const std::string& id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kEvaluationCols + " FROM evaluations WHERE id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_evaluation(stmt);
}

template <class Conn>
PageResult<Evaluation> SqlStore<Conn>::list_evaluations(const EvaluationFilter& filter, const Page& page) {
    auto& c = connection();
    sql::Where w;
    if (!filter.assignment_id.empty()) w.add("assignment_id = ?", filter.assignment_id);
    if (!filter.student_id.empty()) w.add("student_id = ?", filter.student_id);
    if (!filter.status.empty()) w.add("status = ?", filter.status);
    return sql::page_query<Evaluation>(c, std::string("SELECT ") + sql::kEvaluationCols + " FROM evaluations",
                                       "id", std::move(w), page.after, !page.after.empty(), page,
                                       sql::read_evaluation<typename Conn::Stmt>);
}

template <class Conn>
void SqlStore<Conn>::update_evaluation(const Evaluation& e) {
    auto& c = connection();
    int changed = sql::run_transaction(c, [&] {
        return c
            .query(
                "UPDATE evaluations SET status = ?, score = ?, max_score = ?, results = ?, transcript = "
                "?, "
                "error = ?,"
                " job_id = ?, finished_at = ? WHERE id = ?")
            .bind(e.status, e.score, e.max_score, sql::or_default(e.results, "[]"),
                  sql::or_default(e.transcript, "[]"), e.error, e.job_id, e.finished_at, e.id)
            .run();
    });
    if (changed == 0) throw core::not_found("no evaluation with id '" + e.id + "'");
}

template <class Conn>
int SqlStore<Conn>::count_evaluations(const std::string& assignment_id) {
    auto& c = connection();
    // Queued and running ones count (a burst of requests cannot exceed the limit); errors produced no
    // grade (lab not running, a device unreachable) and do not, nor do a class grading's (run_id).
    auto stmt = c.query(
        "SELECT COUNT(*) FROM evaluations WHERE assignment_id = ? AND status <> 'error' AND run_id = ''");
    stmt.bind(assignment_id);
    return stmt.next() ? stmt.i32(0) : 0;
}

template <class Conn>
std::optional<Evaluation> SqlStore<Conn>::last_evaluation(const std::string& assignment_id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kEvaluationCols +
                        " FROM evaluations WHERE assignment_id = ? AND run_id = '' ORDER BY attempt DESC"
                        " LIMIT 1");
    stmt.bind(assignment_id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_evaluation(stmt);
}

}  // namespace np::store
