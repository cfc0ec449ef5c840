// Engine-generic logic of the Store (internal to src/store): every method of store.hpp written once over
// a connection type C that each engine provides (sqlite_store.cpp, pg_store.cpp). C supplies
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

template <class C>
class Ops {
 public:
    using Stmt = typename C::Stmt;
    using Error = typename C::Error;

    explicit Ops(C& connection) : c(connection) {}

    int migrate() {
        auto migrations = embedded_migrations();
        const int latest = migrations.empty() ? 0 : migrations.back().version;
        return run_transaction(c, [&] {
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
                throw core::unavailable("the database schema is at version " +
                                        std::to_string(*applied.rbegin()) +
                                        ", newer than this netpraxis knows (" + std::to_string(latest) +
                                        "): run a newer netpraxis");
            }
            int ran = 0;
            for (const auto& m : migrations) {
                if (applied.contains(m.version)) continue;
                try {
                    c.exec(sql_for_dialect(m.sql, C::kDialect));
                } catch (const core::Error& e) {
                    throw core::internal("migration " + std::to_string(m.version) + "_" +
                                         std::string(m.name) + " failed: " + e.what());
                }
                c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                    .bind(m.version, m.name, core::unix_now())
                    .run();
                log::info("store.migration.applied",
                          {{"version", m.version}, {"name", m.name}, {"engine", C::kDialect}});
                ++ran;
            }
            return ran;
        });
    }

    int schema_version() {
        if (!c.table_exists("schema_migrations")) return 0;
        auto stmt = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        return stmt.next() ? stmt.i32(0) : 0;
    }

    void transaction(const std::function<void()>& fn) { run_transaction(c, fn); }

    bool ping() {
        try {
            auto stmt = c.query("SELECT 1");
            return stmt.next() && stmt.i32(0) == 1;
        } catch (const std::exception&) {
            return false;
        }
    }

    // ---- settings

    std::optional<std::string> get_setting(const std::string& key) {
        auto stmt = c.query("SELECT value FROM settings WHERE key = ?");
        stmt.bind(key);
        if (!stmt.next()) return std::nullopt;
        return stmt.text(0);
    }

    std::string put_setting_if_absent(const std::string& key, const std::string& value) {
        return run_transaction(c, [&] {
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

    // ---- users

    void create_user(const User& u) {
        require_id(u.id, "user");
        try {
            run_transaction(c, [&] {
                c.query(std::string("INSERT INTO users (") + kUserCols +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .bind(u.id, u.username, u.realm, u.role, u.display_name, u.password_hash,
                          u.must_change_password, or_now(u.created_at),
                          std::max<std::int64_t>(u.session_gen, 1), u.disabled)
                    .run();
            });
        } catch (const Error& e) {
            if (e.is_primary_key()) throw core::conflict("a user with id '" + u.id + "' already exists");
            if (e.is_unique()) {
                throw core::conflict("user '" + u.username + "' already exists in realm '" + u.realm + "'");
            }
            throw;
        }
    }

    std::optional<User> get_user(const std::string& id) {
        auto stmt = c.query(std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
        stmt.bind(id);
        if (!stmt.next()) return std::nullopt;
        return read_user(stmt);
    }

    std::optional<User> find_user(const std::string& username, const std::string& realm) {
        auto stmt =
            c.query(std::string("SELECT ") + kUserCols + " FROM users WHERE username = ? AND realm = ?");
        stmt.bind(username, realm);
        if (!stmt.next()) return std::nullopt;
        return read_user(stmt);
    }

    PageResult<User> list_users(const UserFilter& filter, const Page& page) {
        Where w;
        if (!filter.role.empty()) w.add("role = ?", filter.role);
        if (!filter.realm.empty()) w.add("realm = ?", filter.realm);
        if (!filter.search.empty()) w.add_search("username", "display_name", filter.search, C::kLike);
        return page_query<User>(c, std::string("SELECT ") + kUserCols + " FROM users", "id", std::move(w),
                                page.after, !page.after.empty(), page, read_user<Stmt>);
    }

    void update_user(const User& u) {
        int changed = 0;
        try {
            changed = run_transaction(c, [&] {
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
        } catch (const Error& e) {
            if (e.is_unique()) {
                throw core::conflict("user '" + u.username + "' already exists in realm '" + u.realm + "'");
            }
            throw;
        }
        if (changed == 0) throw core::not_found("no user with id '" + u.id + "'");
    }

    void delete_user(const std::string& id) {
        int changed = 0;
        try {
            changed =
                run_transaction(c, [&] { return c.query("DELETE FROM users WHERE id = ?").bind(id).run(); });
        } catch (const Error& e) {
            if (e.is_foreign_key()) {
                throw core::conflict(
                    "user '" + id +
                    "' still has assignments, environments or evaluations; delete those first");
            }
            throw;
        }
        if (changed == 0) throw core::not_found("no user with id '" + id + "'");
    }

    std::int64_t count_users() {
        auto stmt = c.query("SELECT COUNT(*) FROM users");
        return stmt.next() ? stmt.i64(0) : 0;
    }

    // ---- exercises and versions

    void create_exercise(const Exercise& e) {
        require_id(e.id, "exercise");
        try {
            run_transaction(c, [&] {
                c.query(
                     "INSERT INTO exercises (id, slug, title, created_by, created_at) VALUES (?, ?, ?, ?, ?)")
                    .bind(e.id, e.slug, e.title, e.created_by, or_now(e.created_at))
                    .run();
            });
        } catch (const Error& err) {
            if (err.is_primary_key())
                throw core::conflict("an exercise with id '" + e.id + "' already exists");
            if (err.is_unique())
                throw core::conflict("an exercise with slug '" + e.slug + "' already exists");
            throw;
        }
    }

    std::optional<Exercise> get_exercise(const std::string& id_or_slug) {
        // An id match wins over a slug that happens to look like an id.
        auto stmt = c.query(std::string(kExerciseSelect) +
                            " WHERE e.id = ?1 OR e.slug = ?1 ORDER BY e.id = ?1 DESC LIMIT 1");
        stmt.bind(id_or_slug);
        if (!stmt.next()) return std::nullopt;
        return read_exercise(stmt);
    }

    PageResult<Exercise> list_exercises(const std::string& search, const Page& page) {
        Where w;
        if (!search.empty()) w.add_search("e.slug", "e.title", search, C::kLike);
        return page_query<Exercise>(c, kExerciseSelect, "e.id", std::move(w), page.after, !page.after.empty(),
                                    page, read_exercise<Stmt>);
    }

    void update_exercise_title(const std::string& id, const std::string& title) {
        int changed = run_transaction(
            c, [&] { return c.query("UPDATE exercises SET title = ? WHERE id = ?").bind(title, id).run(); });
        if (changed == 0) throw core::not_found("no exercise with id '" + id + "'");
    }

    ExerciseVersion add_version(const ExerciseVersion& v) {
        return run_transaction(c, [&] {
            {
                // locks the exercise row in PostgreSQL: concurrent add_version calls number one after the
                // other
                auto stmt = c.query(std::string("SELECT 1 FROM exercises WHERE id = ?") + C::kForUpdate);
                stmt.bind(v.exercise_id);
                if (!stmt.next()) throw core::not_found("no exercise with id '" + v.exercise_id + "'");
            }
            int next = 1;
            {
                auto stmt = c.query(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM exercise_versions WHERE exercise_id = ?");
                stmt.bind(v.exercise_id);
                if (stmt.next()) next = stmt.i32(0);
            }
            if (v.version != 0 && v.version != next) {
                throw core::conflict("exercise '" + v.exercise_id + "' cannot get version " +
                                     std::to_string(v.version) + ": its next version is " +
                                     std::to_string(next));
            }
            ExerciseVersion row = v;
            row.version = next;
            row.state = "draft";
            row.published_at = 0;
            if (row.id.empty()) row.id = core::new_id();
            row.created_at = or_now(row.created_at);
            try {
                c.query(std::string("INSERT INTO exercise_versions (") + kVersionCols +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .bind(row.id, row.exercise_id, row.version, row.state, row.instructions, row.spec,
                          row.topology, row.gns3_project, row.created_at, row.published_at)
                    .run();
            } catch (const Error& e) {
                if (e.is_primary_key())
                    throw core::conflict("an exercise version with id '" + row.id + "' already exists");
                throw;
            }
            return row;
        });
    }

    std::optional<ExerciseVersion> get_version(const std::string& exercise_id, int version) {
        auto stmt = c.query(std::string("SELECT ") + kVersionCols +
                            " FROM exercise_versions WHERE exercise_id = ? AND version = ?");
        stmt.bind(exercise_id, version);
        if (!stmt.next()) return std::nullopt;
        return read_version(stmt);
    }

    std::optional<ExerciseVersion> get_version_by_id(const std::string& version_id) {
        auto stmt = c.query(std::string("SELECT ") + kVersionCols + " FROM exercise_versions WHERE id = ?");
        stmt.bind(version_id);
        if (!stmt.next()) return std::nullopt;
        return read_version(stmt);
    }

    std::vector<ExerciseVersion> list_versions(const std::string& exercise_id) {
        auto stmt = c.query(std::string("SELECT ") + kVersionCols +
                            " FROM exercise_versions WHERE exercise_id = ? ORDER BY version");
        stmt.bind(exercise_id);
        std::vector<ExerciseVersion> out;
        while (stmt.next()) out.push_back(read_version(stmt));
        return out;
    }

    void update_draft(const ExerciseVersion& v) {
        run_transaction(c, [&] {
            auto stmt = c.query(
                v.id.empty() ? std::string("SELECT id, exercise_id, version, state FROM exercise_versions"
                                           " WHERE exercise_id = ? AND version = ?") +
                                   C::kForUpdate
                             : std::string("SELECT id, exercise_id, version, state FROM exercise_versions"
                                           " WHERE id = ?") +
                                   C::kForUpdate);
            if (v.id.empty()) {
                stmt.bind(v.exercise_id, v.version);
            } else {
                stmt.bind(v.id);
            }
            if (!stmt.next()) {
                throw core::not_found(v.id.empty() ? "no " + describe_version(v.exercise_id, v.version)
                                                   : "no exercise version with id '" + v.id + "'");
            }
            const std::string id = stmt.text(0);
            const std::string what = describe_version(stmt.text(1), stmt.i32(2));
            if (stmt.text(3) != "draft") {
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

    void publish_version(const std::string& exercise_id, int version, std::int64_t now) {
        run_transaction(c, [&] {
            std::string state;
            {
                auto stmt = c.query(
                    std::string("SELECT state FROM exercise_versions WHERE exercise_id = ? AND version = ?") +
                    C::kForUpdate);
                stmt.bind(exercise_id, version);
                if (!stmt.next()) throw core::not_found("no " + describe_version(exercise_id, version));
                state = stmt.text(0);
            }
            if (state != "draft")
                throw core::conflict(describe_version(exercise_id, version) + " is already published");
            c.query(
                 "UPDATE exercise_versions SET state = 'published', published_at = ? WHERE exercise_id = ? "
                 "AND "
                 "version = ?")
                .bind(or_now(now), exercise_id, version)
                .run();
        });
    }

    // ---- assignments

    void create_assignment(const Assignment& a) {
        require_id(a.id, "assignment");
        run_transaction(c, [&] {
            try {
                // a savepoint of its own: PostgreSQL refuses further statements in a failed one, and the
                // diagnosis below needs some
                run_transaction(c, [&] {
                    c.query(std::string("INSERT INTO assignments (") + kAssignmentCols +
                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                        .bind(a.id, a.exercise_id, a.exercise_version_id, a.student_id, a.created_by,
                              a.deadline, a.max_attempts, a.cooldown_seconds,
                              std::string(a.score_policy == "best" ? "best" : "last"), or_now(a.created_at))
                        .run();
                    c.query(
                         "INSERT INTO assignment_rules (assignment_id, course_id, score, late, late_penalty,"
                         " keep_hidden) VALUES (?, ?, ?, ?, ?, ?)")
                        .bind(a.id, a.course_id, a.score_policy, a.late_policy, a.late_penalty,
                              std::int64_t{a.keep_hidden ? 1 : 0})
                        .run();
                });
            } catch (const Error& e) {
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

    std::optional<Assignment> get_assignment(const std::string& id) {
        auto stmt = c.query(std::string(kAssignmentSelect) + " WHERE a.id = ?");
        stmt.bind(id);
        if (!stmt.next()) return std::nullopt;
        return read_assignment(stmt);
    }

    PageResult<Assignment> list_assignments(const AssignmentFilter& filter, const Page& page) {
        Where w;
        if (!filter.exercise_id.empty()) w.add("a.exercise_id = ?", filter.exercise_id);
        if (!filter.student_id.empty()) w.add("a.student_id = ?", filter.student_id);
        if (!filter.course_id.empty()) w.add("r.course_id = ?", filter.course_id);
        return page_query<Assignment>(c, kAssignmentSelect, "a.id", std::move(w), page.after,
                                      !page.after.empty(), page, read_assignment<Stmt>);
    }

    void delete_assignment(const std::string& id) {
        int changed = 0;
        try {
            changed = run_transaction(
                c, [&] { return c.query("DELETE FROM assignments WHERE id = ?").bind(id).run(); });
        } catch (const Error& e) {
            if (e.is_foreign_key()) {
                throw core::conflict("assignment '" + id +
                                     "' still has an environment; delete the environment first");
            }
            throw;
        }
        if (changed == 0) throw core::not_found("no assignment with id '" + id + "'");
    }

    // ---- environments

    void create_environment(const Environment& e) {
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
                          or_default(e.provider_ids, "{}"), or_default(e.addresses, "{}"), e.last_error,
                          created, e.updated_at != 0 ? e.updated_at : created, e.instance_id)
                    .run();
            } catch (const Error& err) {
                if (err.is_primary_key())
                    throw core::conflict("an environment with id '" + e.id + "' already exists");
                if (err.is_unique()) {
                    throw core::conflict("assignment '" + e.assignment_id + "' already has an environment");
                }
                throw;
            }
        });
    }

    std::optional<Environment> get_environment(const std::string& id) {
        auto stmt =
            c.query(std::string("SELECT ") + kEnvironmentCols + " FROM environments e WHERE e.id = ?");
        stmt.bind(id);
        if (!stmt.next()) return std::nullopt;
        return read_environment(stmt);
    }

    std::optional<Environment> environment_for_assignment(const std::string& assignment_id) {
        auto stmt = c.query(std::string("SELECT ") + kEnvironmentCols +
                            " FROM environments e WHERE e.assignment_id = ?");
        stmt.bind(assignment_id);
        if (!stmt.next()) return std::nullopt;
        return read_environment(stmt);
    }

    PageResult<Environment> list_environments(const EnvironmentFilter& filter, const Page& page) {
        Where w;
        std::string from = " FROM environments e";
        if (!filter.exercise_id.empty()) {
            from += " JOIN assignments a ON a.id = e.assignment_id";
            w.add("a.exercise_id = ?", filter.exercise_id);
        }
        if (!filter.assignment_id.empty()) w.add("e.assignment_id = ?", filter.assignment_id);
        if (!filter.student_id.empty()) w.add("e.student_id = ?", filter.student_id);
        if (!filter.observed_state.empty()) w.add("e.observed_state = ?", filter.observed_state);
        return page_query<Environment>(c, std::string("SELECT ") + kEnvironmentCols + from, "e.id",
                                       std::move(w), page.after, !page.after.empty(), page,
                                       read_environment<Stmt>);
    }

    void update_environment(const Environment& e) {
        int changed = run_transaction(c, [&] {
            return c
                .query(
                    "UPDATE environments SET provider = ?, desired_state = ?, observed_state = ?, "
                    "provider_ids = "
                    "?,"
                    " addresses = ?, last_error = ?, updated_at = ? WHERE id = ?")
                .bind(e.provider, e.desired_state, e.observed_state, or_default(e.provider_ids, "{}"),
                      or_default(e.addresses, "{}"), e.last_error, or_now(e.updated_at), e.id)
                .run();
        });
        if (changed == 0) throw core::not_found("no environment with id '" + e.id + "'");
    }

    void delete_environment(const std::string& id) {
        int changed = run_transaction(
            c, [&] { return c.query("DELETE FROM environments WHERE id = ?").bind(id).run(); });
        if (changed == 0) throw core::not_found("no environment with id '" + id + "'");
    }

    // ---- evaluations

    Evaluation create_evaluation(const Evaluation& e) {
        return run_transaction(c, [&] {
            Evaluation row = e;
            {
                // Locks the assignment row in PostgreSQL so concurrent evaluations number one after the
                // other. The attempt is read by a second statement: in READ COMMITTED each statement
                // sees the commits made while it waited for the lock only if it starts after the wait.
                auto stmt =
                    c.query(std::string("SELECT student_id FROM assignments WHERE id = ?") + C::kForUpdate);
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
            row.created_at = or_now(row.created_at);
            row.results = or_default(row.results, "[]");
            row.transcript = or_default(row.transcript, "[]");
            try {
                c.query(std::string("INSERT INTO evaluations (") + kEvaluationCols +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .bind(row.id, row.assignment_id, row.student_id, row.attempt, row.status, row.score,
                          row.max_score, row.results, row.transcript, row.error, row.job_id, row.created_at,
                          row.finished_at, row.exercise_version_id, std::int64_t{row.late ? 1 : 0},
                          row.run_id)
                    .run();
            } catch (const Error& err) {
                if (err.is_primary_key())
                    throw core::conflict("an evaluation with id '" + row.id + "' already exists");
                throw;
            }
            return row;
        });
    }

    std::optional<Evaluation> get_evaluation(const std::string& id) {
        auto stmt = c.query(std::string("SELECT ") + kEvaluationCols + " FROM evaluations WHERE id = ?");
        stmt.bind(id);
        if (!stmt.next()) return std::nullopt;
        return read_evaluation(stmt);
    }

    PageResult<Evaluation> list_evaluations(const EvaluationFilter& filter, const Page& page) {
        Where w;
        if (!filter.assignment_id.empty()) w.add("assignment_id = ?", filter.assignment_id);
        if (!filter.student_id.empty()) w.add("student_id = ?", filter.student_id);
        if (!filter.status.empty()) w.add("status = ?", filter.status);
        return page_query<Evaluation>(c, std::string("SELECT ") + kEvaluationCols + " FROM evaluations", "id",
                                      std::move(w), page.after, !page.after.empty(), page,
                                      read_evaluation<Stmt>);
    }

    void update_evaluation(const Evaluation& e) {
        int changed = run_transaction(c, [&] {
            return c
                .query(
                    "UPDATE evaluations SET status = ?, score = ?, max_score = ?, results = ?, transcript = "
                    "?, "
                    "error = ?,"
                    " job_id = ?, finished_at = ? WHERE id = ?")
                .bind(e.status, e.score, e.max_score, or_default(e.results, "[]"),
                      or_default(e.transcript, "[]"), e.error, e.job_id, e.finished_at, e.id)
                .run();
        });
        if (changed == 0) throw core::not_found("no evaluation with id '" + e.id + "'");
    }

    int count_evaluations(const std::string& assignment_id) {
        // Queued and running ones count (a burst of requests cannot exceed the limit); errors produced no
        // grade (lab not running, a device unreachable) and do not, nor do a class grading's (run_id).
        auto stmt = c.query(
            "SELECT COUNT(*) FROM evaluations WHERE assignment_id = ? AND status <> 'error' AND run_id = ''");
        stmt.bind(assignment_id);
        return stmt.next() ? stmt.i32(0) : 0;
    }

    std::optional<Evaluation> last_evaluation(const std::string& assignment_id) {
        auto stmt = c.query(std::string("SELECT ") + kEvaluationCols +
                            " FROM evaluations WHERE assignment_id = ? AND run_id = '' ORDER BY attempt DESC"
                            " LIMIT 1");
        stmt.bind(assignment_id);
        if (!stmt.next()) return std::nullopt;
        return read_evaluation(stmt);
    }

    // ---- jobs

    void create_job(const Job& j) {
        require_id(j.id, "job");
        try {
            run_transaction(c, [&] {
                c.query(std::string("INSERT INTO jobs (") + kJobCols +
                        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                    .bind(j.id, j.kind, or_default(j.params, "{}"), j.state, j.progress_done,
                          j.progress_total, j.message, j.owner_id, j.attempt, j.lease_owner, j.lease_expires,
                          or_default(j.result, "{}"), j.error, j.subject_type, j.subject_id,
                          or_now(j.created_at), j.started_at, j.finished_at, j.instance_id)
                    .run();
            });
        } catch (const Error& e) {
            if (e.is_primary_key()) throw core::conflict("a job with id '" + j.id + "' already exists");
            throw;
        }
    }

    std::optional<Job> get_job(const std::string& id) {
        auto stmt = c.query(std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?");
        stmt.bind(id);
        if (!stmt.next()) return std::nullopt;
        return read_job(stmt);
    }

    PageResult<Job> list_jobs(const JobFilter& filter, const Page& page) {
        Where w;
        if (!filter.state.empty()) w.add("state = ?", filter.state);
        if (!filter.kind.empty()) w.add("kind = ?", filter.kind);
        if (!filter.owner_id.empty()) w.add("owner_id = ?", filter.owner_id);
        if (!filter.subject_id.empty()) w.add("subject_id = ?", filter.subject_id);
        return page_query<Job>(c, std::string("SELECT ") + kJobCols + " FROM jobs", "id", std::move(w),
                               page.after, !page.after.empty(), page, read_job<Stmt>);
    }

    std::optional<Job> claim_job(const std::string& lease_owner, std::int64_t now, int lease_seconds,
                                 const ClaimFilter& filter) {
        if (lease_owner.empty()) throw core::invalid("claim_job needs a lease owner");
        if (lease_seconds <= 0) throw core::invalid("claim_job needs a positive lease duration");
        // One UPDATE ... RETURNING whose row choice is atomic in each engine (C::claim_job_sql): two
        // claimers never get one job.
        return run_transaction(c, [&]() -> std::optional<Job> {
            auto stmt = c.query(C::claim_job_sql(kJobCols));
            stmt.bind(lease_owner, now, std::int64_t{lease_seconds}, filter.kind,
                      std::int64_t{filter.one_per_owner ? 1 : 0}, filter.instance_id);
            std::optional<Job> job;
            if (stmt.next()) job = read_job(stmt);
            while (stmt.next()) {
            }
            return job;
        });
    }

    bool update_job_progress(const std::string& id, const std::string& lease_owner, std::int64_t done,
                             std::int64_t total, const std::string& message, std::int64_t lease_expires) {
        return run_transaction(c, [&] {
            return c.query(
                        "UPDATE jobs SET progress_done = ?, progress_total = ?, message = ?, lease_expires = "
                        "?"
                        " WHERE id = ? AND lease_owner = ? AND state = 'running'")
                       .bind(done, total, message, lease_expires, id, lease_owner)
                       .run() > 0;
        });
    }

    void finish_job(const std::string& id, const std::string& state, const std::string& result,
                    const std::string& error, std::int64_t now) {
        if (state != "succeeded" && state != "failed" && state != "cancelled") {
            throw core::invalid("a job finishes as succeeded, failed or cancelled, not '" + state + "'");
        }
        run_transaction(c, [&] {
            int changed =
                c.query(
                     "UPDATE jobs SET state = ?, result = ?, error = ?, finished_at = ?, lease_expires = 0"
                     " WHERE id = ? AND state IN ('queued', 'running')")
                    .bind(state, or_default(result, "{}"), error, or_now(now), id)
                    .run();
            if (changed > 0) return;
            auto stmt = c.query("SELECT state FROM jobs WHERE id = ?");
            stmt.bind(id);
            if (!stmt.next()) throw core::not_found("no job with id '" + id + "'");
            throw core::conflict("job '" + id + "' has already finished (" + stmt.text(0) + ")");
        });
    }

    bool cancel_job(const std::string& id, std::int64_t now) {
        return run_transaction(c, [&] {
            int changed = c.query(
                               "UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_expires = 0"
                               " WHERE id = ? AND state IN ('queued', 'running')")
                              .bind(or_now(now), id)
                              .run();
            if (changed > 0) return true;
            auto stmt = c.query("SELECT 1 FROM jobs WHERE id = ?");
            stmt.bind(id);
            if (!stmt.next()) throw core::not_found("no job with id '" + id + "'");
            return false;
        });
    }

    std::vector<std::pair<std::string, std::int64_t>> count_jobs_by_state() {
        std::vector<std::pair<std::string, std::int64_t>> out = {
            {"queued", 0}, {"running", 0}, {"succeeded", 0}, {"failed", 0}, {"cancelled", 0}};
        auto stmt = c.query("SELECT state, COUNT(*) FROM jobs GROUP BY state");
        while (stmt.next()) {
            auto state = stmt.text(0);
            auto it = std::find_if(out.begin(), out.end(), [&](auto& p) { return p.first == state; });
            if (it != out.end()) it->second = stmt.i64(1);
        }
        return out;
    }

    // ---- revoked tokens

    void revoke_token(const std::string& jti, std::int64_t expires_at, std::int64_t now) {
        run_transaction(c, [&] {
            c.query("DELETE FROM revoked_tokens WHERE expires_at <= ?").bind(now).run();
            c.query(
                 "INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES (?, ?, ?)"
                 " ON CONFLICT (jti) DO NOTHING")
                .bind(jti, expires_at, now)
                .run();
        });
    }

    std::vector<std::pair<std::string, std::int64_t>> revoked_tokens(std::int64_t since, std::int64_t now) {
        std::vector<std::pair<std::string, std::int64_t>> out;
        auto stmt = c.query(
            "SELECT jti, expires_at FROM revoked_tokens WHERE revoked_at >= ? AND expires_at > ?"
            " ORDER BY revoked_at, jti");
        stmt.bind(since, now);
        while (stmt.next()) out.emplace_back(stmt.text(0), stmt.i64(1));
        return out;
    }

    // ---- audit log

    void append_audit(const AuditEntry& a) {
        run_transaction(c, [&] {
            c.query(
                 "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail, actor_name, "
                 "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(or_now(a.at), a.actor_id, a.action, a.object_type, a.object_id,
                      or_default(a.detail, "{}"), a.actor_name, or_default(a.outcome, "ok"))
                .run();
        });
    }

    PageResult<AuditEntry> list_audit(const AuditFilter& f, const Page& page) {
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
        if (!f.newest_first)
            return page_query<AuditEntry>(c, select, "id", std::move(w), after, !page.after.empty(), page,
                                          read_audit<Stmt>);
        const int limit = clamp_limit(page.limit);
        if (!page.after.empty()) w.add("id < ?", after);
        w.args.emplace_back(std::int64_t{limit} + 1);
        auto stmt = c.query(select + w.sql() + " ORDER BY id DESC LIMIT ?");
        stmt.bind_args(w.args);
        PageResult<AuditEntry> out;
        while (stmt.next()) out.items.push_back(read_audit<Stmt>(stmt));
        if (out.items.size() > static_cast<std::size_t>(limit)) {
            out.items.pop_back();
            out.next = std::to_string(out.items.back().id);
        }
        return out;
    }

 private:
    C& c;
};

}  // namespace np::store::sql
