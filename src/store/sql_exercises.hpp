// SqlStore<Conn>: exercises and their versions (store.hpp documents each method), written once over the
// engine's connection type (sql_ops.hpp lists what it supplies). Internal to src/store; sql_store_impl.hpp
// includes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/sql_ops.hpp"
#include "store/sql_store.hpp"
#include "store/states.hpp"

namespace np::store {

template <class Conn>
void SqlStore<Conn>::create_exercise(const Exercise& e) {
    auto& c = connection();
    sql::require_id(e.id, "exercise");
    try {
        sql::run_transaction(c, [&] {
            c.query("INSERT INTO exercises (id, slug, title, created_by, created_at) VALUES (?, ?, ?, ?, ?)")
                .bind(e.id, e.slug, e.title, e.created_by, sql::or_now(e.created_at))
                .run();
        });
    } catch (const typename Conn::Error& err) {
        if (err.is_primary_key()) throw core::conflict("an exercise with id '" + e.id + "' already exists");
        if (err.is_unique()) throw core::conflict("an exercise with slug '" + e.slug + "' already exists");
        throw;
    }
}

template <class Conn>
std::optional<Exercise> SqlStore<Conn>::get_exercise(const std::string& id_or_slug) {
    auto& c = connection();
    // An id match wins over a slug that happens to look like an id.
    auto stmt = c.query(std::string(sql::kExerciseSelect) +
                        " WHERE e.id = ?1 OR e.slug = ?1 ORDER BY e.id = ?1 DESC LIMIT 1");
    stmt.bind(id_or_slug);
    if (!stmt.next()) return std::nullopt;
    return sql::read_exercise(stmt);
}

template <class Conn>
PageResult<Exercise> SqlStore<Conn>::list_exercises(const std::string& search, const Page& page) {
    auto& c = connection();
    sql::Where w;
    if (!search.empty()) w.add_search("e.slug", "e.title", search, Conn::kLike);
    return sql::page_query<Exercise>(c, sql::kExerciseSelect, "e.id", std::move(w), page.after,
                                     !page.after.empty(), page, sql::read_exercise<typename Conn::Stmt>);
}

template <class Conn>
void SqlStore<Conn>::update_exercise_title(const std::string& id, const std::string& title) {
    auto& c = connection();
    int changed = sql::run_transaction(
        c, [&] { return c.query("UPDATE exercises SET title = ? WHERE id = ?").bind(title, id).run(); });
    if (changed == 0) throw core::not_found("no exercise with id '" + id + "'");
}

template <class Conn>
ExerciseVersion SqlStore<Conn>::add_version(const ExerciseVersion& v) {
    auto& c = connection();
    return sql::run_transaction(c, [&] {
        {
            // locks the exercise row in PostgreSQL: concurrent add_version calls number one after the
            // other
            auto stmt = c.query(std::string("SELECT 1 FROM exercises WHERE id = ?") + Conn::kForUpdate);
            stmt.bind(v.exercise_id);
            if (!stmt.next()) throw core::not_found("no exercise with id '" + v.exercise_id + "'");
        }
        int next = 1;
        {
            auto stmt =
                c.query("SELECT COALESCE(MAX(version), 0) + 1 FROM exercise_versions WHERE exercise_id = ?");
            stmt.bind(v.exercise_id);
            if (stmt.next()) next = stmt.i32(0);
        }
        if (v.version != 0 && v.version != next) {
            throw core::conflict("exercise '" + v.exercise_id + "' cannot get version " +
                                 std::to_string(v.version) + ": its next version is " + std::to_string(next));
        }
        ExerciseVersion row = v;
        row.version = next;
        row.state = str(VersionState::draft);
        row.published_at = 0;
        if (row.id.empty()) row.id = core::new_id();
        row.created_at = sql::or_now(row.created_at);
        try {
            c.query(std::string("INSERT INTO exercise_versions (") + sql::kVersionCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(row.id, row.exercise_id, row.version, row.state, row.instructions, row.spec,
                      row.topology, row.gns3_project, row.created_at, row.published_at)
                .run();
        } catch (const typename Conn::Error& e) {
            if (e.is_primary_key())
                throw core::conflict("an exercise version with id '" + row.id + "' already exists");
            throw;
        }
        return row;
    });
}

template <class Conn>
std::optional<ExerciseVersion> SqlStore<Conn>::get_version(const std::string& exercise_id, int version) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kVersionCols +
                        " FROM exercise_versions WHERE exercise_id = ? AND version = ?");
    stmt.bind(exercise_id, version);
    if (!stmt.next()) return std::nullopt;
    return sql::read_version(stmt);
}

template <class Conn>
std::optional<ExerciseVersion> SqlStore<Conn>::get_version_by_id(const std::string& version_id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kVersionCols + " FROM exercise_versions WHERE id = ?");
    stmt.bind(version_id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_version(stmt);
}

template <class Conn>
std::vector<ExerciseVersion> SqlStore<Conn>::list_versions(const std::string& exercise_id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kVersionCols +
                        " FROM exercise_versions WHERE exercise_id = ? ORDER BY version");
    stmt.bind(exercise_id);
    std::vector<ExerciseVersion> out;
    while (stmt.next()) out.push_back(sql::read_version(stmt));
    return out;
}

template <class Conn>
void SqlStore<Conn>::update_draft(const ExerciseVersion& v) {
    auto& c = connection();
    sql::run_transaction(c, [&] {
        auto stmt =
            c.query(v.id.empty() ? std::string("SELECT id, exercise_id, version, state FROM exercise_versions"
                                               " WHERE exercise_id = ? AND version = ?") +
                                       Conn::kForUpdate
                                 : std::string("SELECT id, exercise_id, version, state FROM exercise_versions"
                                               " WHERE id = ?") +
                                       Conn::kForUpdate);
        if (v.id.empty()) {
            stmt.bind(v.exercise_id, v.version);
        } else {
            stmt.bind(v.id);
        }
        if (!stmt.next()) {
            throw core::not_found(v.id.empty() ? "no " + sql::describe_version(v.exercise_id, v.version)
                                               : "no exercise version with id '" + v.id + "'");
        }
        const std::string id = stmt.text(0);
        const std::string what = sql::describe_version(stmt.text(1), stmt.i32(2));
        if (!is(stmt.text(3), VersionState::draft)) {
            throw core::conflict(what + " is published and immutable; add a new version instead");
        }
        c.query(
             "UPDATE exercise_versions SET instructions = ?, spec = ?, topology = ?, gns3_project = ? "
             "WHERE "
             "id = ?")
            .bind(v.instructions, v.spec, v.topology, v.gns3_project, id)
            .run();
    });
}

template <class Conn>
void SqlStore<Conn>::publish_version(const std::string& exercise_id, int version, std::int64_t now) {
    auto& c = connection();
    sql::run_transaction(c, [&] {
        std::string state;
        {
            auto stmt = c.query(
                std::string("SELECT state FROM exercise_versions WHERE exercise_id = ? AND version = ?") +
                Conn::kForUpdate);
            stmt.bind(exercise_id, version);
            if (!stmt.next()) throw core::not_found("no " + sql::describe_version(exercise_id, version));
            state = stmt.text(0);
        }
        if (!is(state, VersionState::draft))
            throw core::conflict(sql::describe_version(exercise_id, version) + " is already published");
        c.query(
             "UPDATE exercise_versions SET state = 'published', published_at = ? WHERE exercise_id = ? "
             "AND "
             "version = ?")
            .bind(sql::or_now(now), exercise_id, version)
            .run();
    });
}

}  // namespace np::store
