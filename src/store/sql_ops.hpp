// What the engine-generic SQL of the Store shares (internal to src/store): one argument type, transactions,
// WHERE building, keyset paging, id checks and the row readers of each table. The Store's methods are
// written once per entity over the engine's connection type: sql_users.hpp, sql_exercises.hpp,
// sql_assignments.hpp, sql_environments.hpp, sql_evaluations.hpp, sql_jobs.hpp, sql_audit.hpp,
// sql_schema.hpp (SqlStore<Conn> members), sql_course_ops.hpp and instances_ops.hpp. The connection type
// C (sqlite_store.cpp, pg_store.cpp) supplies
//   Stmt (bind/bind_args/next/run/text/i64/i32/real), Error (a core::Error with is_unique,
//   is_primary_key, is_foreign_key), query(sql) with `?`/`?N` placeholders, exec, exec_quietly, depth,
//   in_transaction(), table_exists(name), lock_migrations(), claim_job_sql(cols), WriterLock and
//   lock_writer() (held around each outermost transaction), and the dialect words
//   kBegin, kLike, kForUpdate, kDialect.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"

namespace np::store::sql {

// One SQL argument: text or integer or real.
using Arg = std::variant<std::string, std::int64_t, double>;

// Binary bytes to bind (a BLOB in SQLite, a BYTEA in PostgreSQL: migration 0006); the statement reads them
// back with blob(col).
struct Blob {
    std::string_view bytes;
};

// Runs `fn` as one transaction on `c`: C::kBegin at the outermost level (SQLite: `BEGIN IMMEDIATE` takes
// the write lock first, so a writer waits on the busy timeout instead of failing on a stale snapshot), a
// savepoint when nested (a nested failure undoes only its own writes; the outer transaction decides).
template <class C, class F>
auto run_transaction(C& c, F&& fn) -> decltype(fn()) {
    const bool outermost = c.depth == 0;
    const std::string savepoint = "np_sp" + std::to_string(c.depth);
    // Released after COMMIT or ROLLBACK (declared first, destroyed last).
    [[maybe_unused]] auto writer = outermost ? c.lock_writer() : typename C::WriterLock{};
    c.exec(outermost ? std::string(C::kBegin) : "SAVEPOINT " + savepoint);
    ++c.depth;
    bool closed = false;
    auto commit = [&] {
        c.exec(outermost ? std::string("COMMIT") : "RELEASE " + savepoint);
        closed = true;
        --c.depth;
    };
    try {
        if constexpr (std::is_void_v<decltype(fn())>) {
            fn();
            commit();
        } else {
            auto result = fn();
            commit();
            return result;
        }
    } catch (...) {
        if (!closed) {
            if (outermost) {
                if (c.in_transaction()) c.exec_quietly("ROLLBACK");
            } else {
                c.exec_quietly(("ROLLBACK TO " + savepoint + "; RELEASE " + savepoint).c_str());
            }
            --c.depth;
        }
        throw;
    }
}

inline int clamp_limit(int limit) {
    return std::clamp(limit, 1, 500);
}

// `%` and `_` are wildcards of LIKE: a search for "a_b" must match only that text.
inline std::string like_pattern(const std::string& text) {
    std::string out = "%";
    for (char ch : text) {
        if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
        out += ch;
    }
    return out + "%";
}

// WHERE clauses of a filtered list, built from fixed fragments (the statement cache keys on the text).
struct Where {
    std::vector<std::string> clauses;
    std::vector<Arg> args;
    void add(std::string clause, Arg arg) {
        clauses.push_back(std::move(clause));
        args.push_back(std::move(arg));
    }
    // `like` is the engine's case-insensitive LIKE ("LIKE" in SQLite for ASCII, "ILIKE" in PostgreSQL).
    void add_search(const std::string& col_a, const std::string& col_b, const std::string& text,
                    std::string_view like) {
        const std::string op = " " + std::string(like) + " ? ESCAPE '\\'";
        clauses.push_back("(" + col_a + op + " OR " + col_b + op + ")");
        args.emplace_back(like_pattern(text));
        args.emplace_back(like_pattern(text));
    }
    std::string sql() const {
        std::string out;
        for (const auto& c : clauses) out += (out.empty() ? " WHERE " : " AND ") + c;
        return out;
    }
};

constexpr const char* kUserCols =
    "id, username, realm, role, display_name, password_hash, must_change_password, created_at, session_gen, "
    "disabled";
template <class S>
User read_user(const S& s) {
    User u;
    u.id = s.text(0);
    u.username = s.text(1);
    u.realm = s.text(2);
    u.role = s.text(3);
    u.display_name = s.text(4);
    u.password_hash = s.text(5);
    u.must_change_password = s.i32(6) != 0;
    u.created_at = s.i64(7);
    u.session_gen = s.i64(8);
    u.disabled = s.i32(9) != 0;
    return u;
}

constexpr const char* kExerciseSelect =
    "SELECT e.id, e.slug, e.title, e.created_by, e.created_at,"
    " COALESCE((SELECT MAX(v.version) FROM exercise_versions v WHERE v.exercise_id = e.id), 0),"
    " COALESCE((SELECT MAX(v.version) FROM exercise_versions v WHERE v.exercise_id = e.id"
    " AND v.state = 'published'), 0) FROM exercises e";
template <class S>
Exercise read_exercise(const S& s) {
    Exercise e;
    e.id = s.text(0);
    e.slug = s.text(1);
    e.title = s.text(2);
    e.created_by = s.text(3);
    e.created_at = s.i64(4);
    e.latest_version = s.i32(5);
    e.published_version = s.i32(6);
    return e;
}

constexpr const char* kVersionCols =
    "id, exercise_id, version, state, instructions, spec, topology, gns3_project, created_at, published_at";
template <class S>
ExerciseVersion read_version(const S& s) {
    ExerciseVersion v;
    v.id = s.text(0);
    v.exercise_id = s.text(1);
    v.version = s.i32(2);
    v.state = s.text(3);
    v.instructions = s.text(4);
    v.spec = s.text(5);
    v.topology = s.text(6);
    v.gns3_project = s.text(7);
    v.created_at = s.i64(8);
    v.published_at = s.i64(9);
    return v;
}

constexpr const char* kAssignmentCols =
    "id, exercise_id, exercise_version_id, student_id, created_by, deadline, max_attempts, cooldown_seconds,"
    " score_policy, created_at";
// Migration 0004: the rules row (when there is one) completes the assignment; its score wins over 0001's
// score_policy column, whose CHECK cannot hold 'average'.
constexpr const char* kAssignmentSelect =
    "SELECT a.id, a.exercise_id, a.exercise_version_id, a.student_id, a.created_by, a.deadline,"
    " a.max_attempts, a.cooldown_seconds, COALESCE(r.score, a.score_policy), a.created_at,"
    " COALESCE(r.course_id, ''), COALESCE(r.late, 'refuse'), COALESCE(r.late_penalty, 0),"
    " COALESCE(r.keep_hidden, 0) FROM assignments a LEFT JOIN assignment_rules r ON r.assignment_id = a.id";
template <class S>
Assignment read_assignment(const S& s) {
    Assignment a;
    a.id = s.text(0);
    a.exercise_id = s.text(1);
    a.exercise_version_id = s.text(2);
    a.student_id = s.text(3);
    a.created_by = s.text(4);
    a.deadline = s.i64(5);
    a.max_attempts = s.i32(6);
    a.cooldown_seconds = s.i32(7);
    a.score_policy = s.text(8);
    a.created_at = s.i64(9);
    a.course_id = s.text(10);
    a.late_policy = s.text(11);
    a.late_penalty = s.i32(12);
    a.keep_hidden = s.i32(13) != 0;
    return a;
}

constexpr const char* kEnvironmentCols =
    "e.id, e.assignment_id, e.student_id, e.provider, e.desired_state, e.observed_state, e.provider_ids,"
    " e.addresses, e.last_error, e.created_at, e.updated_at, e.instance_id";
template <class S>
Environment read_environment(const S& s) {
    Environment e;
    e.id = s.text(0);
    e.assignment_id = s.text(1);
    e.student_id = s.text(2);
    e.provider = s.text(3);
    e.desired_state = s.text(4);
    e.observed_state = s.text(5);
    e.provider_ids = s.text(6);
    e.addresses = s.text(7);
    e.last_error = s.text(8);
    e.created_at = s.i64(9);
    e.updated_at = s.i64(10);
    e.instance_id = s.text(11);
    return e;
}

constexpr const char* kEvaluationCols =
    "id, assignment_id, student_id, attempt, status, score, max_score, results, transcript, error, job_id,"
    " created_at, finished_at, exercise_version_id, late, run_id";
template <class S>
Evaluation read_evaluation(const S& s) {
    Evaluation e;
    e.id = s.text(0);
    e.assignment_id = s.text(1);
    e.student_id = s.text(2);
    e.attempt = s.i32(3);
    e.status = s.text(4);
    e.score = s.real(5);
    e.max_score = s.real(6);
    e.results = s.text(7);
    e.transcript = s.text(8);
    e.error = s.text(9);
    e.job_id = s.text(10);
    e.created_at = s.i64(11);
    e.finished_at = s.i64(12);
    e.exercise_version_id = s.text(13);
    e.late = s.i32(14) != 0;
    e.run_id = s.text(15);
    return e;
}

constexpr const char* kJobCols =
    "id, kind, params, state, progress_done, progress_total, message, owner_id, attempt, lease_owner,"
    " lease_expires, result, error, subject_type, subject_id, created_at, started_at, finished_at,"
    " instance_id";
template <class S>
Job read_job(const S& s) {
    Job j;
    j.id = s.text(0);
    j.kind = s.text(1);
    j.params = s.text(2);
    j.state = s.text(3);
    j.progress_done = s.i64(4);
    j.progress_total = s.i64(5);
    j.message = s.text(6);
    j.owner_id = s.text(7);
    j.attempt = s.i32(8);
    j.lease_owner = s.text(9);
    j.lease_expires = s.i64(10);
    j.result = s.text(11);
    j.error = s.text(12);
    j.subject_type = s.text(13);
    j.subject_id = s.text(14);
    j.created_at = s.i64(15);
    j.started_at = s.i64(16);
    j.finished_at = s.i64(17);
    j.instance_id = s.text(18);
    return j;
}

template <class S>
AuditEntry read_audit(const S& s) {
    AuditEntry a;
    a.id = s.i64(0);
    a.at = s.i64(1);
    a.actor_id = s.text(2);
    a.action = s.text(3);
    a.object_type = s.text(4);
    a.object_id = s.text(5);
    a.detail = s.text(6);
    a.actor_name = s.text(7);
    a.outcome = s.text(8);
    return a;
}

inline std::string id_of(const User& x) {
    return x.id;
}
inline std::string id_of(const Exercise& x) {
    return x.id;
}
inline std::string id_of(const Assignment& x) {
    return x.id;
}
inline std::string id_of(const Environment& x) {
    return x.id;
}
inline std::string id_of(const Evaluation& x) {
    return x.id;
}
inline std::string id_of(const Job& x) {
    return x.id;
}
inline std::string id_of(const Course& x) {
    return x.id;
}
inline std::string id_of(const AuditEntry& x) {
    return std::to_string(x.id);
}

// Keyset page: `select` is the SELECT ... FROM ... part, `id_col` the (qualified) id column.
template <class T, class C, class Read>
PageResult<T> page_query(C& c, const std::string& select, const std::string& id_col, Where where, Arg after,
                         bool has_after, const Page& page, Read read) {
    const int limit = clamp_limit(page.limit);
    if (has_after) where.add(id_col + " > ?", std::move(after));
    where.args.emplace_back(std::int64_t{limit} + 1);
    auto stmt = c.query(select + where.sql() + " ORDER BY " + id_col + " LIMIT ?");
    stmt.bind_args(where.args);
    PageResult<T> out;
    while (stmt.next()) out.items.push_back(read(stmt));
    if (out.items.size() > static_cast<std::size_t>(limit)) {
        out.items.pop_back();
        out.next = id_of(out.items.back());
    }
    return out;
}

inline void require_id(const std::string& id, std::string_view what) {
    if (id.empty()) throw core::invalid(std::string(what) + " id is empty (set it with core::new_id())");
}

inline std::int64_t or_now(std::int64_t t) {
    return t != 0 ? t : core::unix_now();
}
inline std::string describe_version(const std::string& exercise_id, int version) {
    return "version " + std::to_string(version) + " of exercise '" + exercise_id + "'";
}

inline std::string or_default(const std::string& v, const char* fallback) {
    return v.empty() ? fallback : v;
}

}  // namespace np::store::sql
