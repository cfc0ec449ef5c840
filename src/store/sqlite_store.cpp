#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "store/migrations.hpp"

namespace np::store {
namespace {

// SQLITE_TRANSIENT is a macro with an old-style cast; this is the same value (-1: SQLite copies the text).
const sqlite3_destructor_type kTransient =
    reinterpret_cast<sqlite3_destructor_type>(static_cast<std::intptr_t>(-1));

// A failed SQLite call as a core::Error, keeping the extended result code so callers can turn a
// constraint violation into a message that names the duplicate or the missing row.
class SqliteError : public core::Error {
 public:
    SqliteError(core::Code code, std::string message, int extended)
        : core::Error(code, std::move(message), code == core::Code::unavailable), extended_(extended) {}
    int extended() const noexcept { return extended_; }
    bool is_unique() const noexcept {
        return extended_ == SQLITE_CONSTRAINT_UNIQUE || extended_ == SQLITE_CONSTRAINT_PRIMARYKEY;
    }
    bool is_primary_key() const noexcept { return extended_ == SQLITE_CONSTRAINT_PRIMARYKEY; }
    bool is_foreign_key() const noexcept { return extended_ == SQLITE_CONSTRAINT_FOREIGNKEY; }

 private:
    int extended_;
};

[[noreturn]] void raise(sqlite3* db, int rc, std::string_view context) {
    const int extended = db ? sqlite3_extended_errcode(db) : rc;
    std::string engine = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    core::Code code = core::Code::internal;
    std::string message;
    switch (extended) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            code = core::Code::conflict;
            message = "duplicate: " + engine;
            break;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            code = core::Code::conflict;
            message = "the row refers to a missing row or is still referenced (" + engine + ")";
            break;
        case SQLITE_CONSTRAINT_CHECK:
        case SQLITE_CONSTRAINT_NOTNULL:
            code = core::Code::invalid;
            message = "a value is out of its allowed range: " + engine;
            break;
        case SQLITE_CONSTRAINT_TRIGGER:
            code = core::Code::conflict;
            message = engine;  // the trigger's own text, e.g. "audit_log is append-only"
            break;
        default:
            if ((extended & 0xff) == SQLITE_BUSY || (extended & 0xff) == SQLITE_LOCKED) {
                code = core::Code::unavailable;
                message = "the database is busy (another writer held it past the busy timeout); retry";
            } else {
                message = "SQLite error while " + std::string(context) + ": " + engine;
            }
    }
    throw SqliteError(code, std::move(message), extended);
}

// One SQL argument: text or integer or real.
using Arg = std::variant<std::string, std::int64_t, double>;

// A prepared statement in use: binds, steps, reads columns; reset on scope exit so no read transaction
// stays open. Statements come from the connection's cache (or are owned when the cached one is busy).
class Stmt {
 public:
    Stmt(sqlite3* db, sqlite3_stmt* stmt, bool owned) : db_(db), stmt_(stmt), owned_(owned) {}
    ~Stmt() {
        if (owned_) {
            sqlite3_finalize(stmt_);
        } else {
            sqlite3_reset(stmt_);
            sqlite3_clear_bindings(stmt_);
        }
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    template <class... A>
    Stmt& bind(const A&... args) {
        int i = 1;
        (bind_one(i++, args), ...);
        return *this;
    }
    Stmt& bind_args(const std::vector<Arg>& args) {
        int i = 1;
        for (const auto& a : args) std::visit([&](const auto& v) { bind_one(i, v); }, a), ++i;
        return *this;
    }

    // Steps once: true when a row is available.
    bool next() {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        raise(db_, rc, std::string("running `") + sqlite3_sql(stmt_) + "`");
    }
    // Steps to the end; returns the number of rows changed.
    int run() {
        while (next()) {
        }
        return sqlite3_changes(db_);
    }

    std::string text(int col) const {
        auto* p = sqlite3_column_text(stmt_, col);
        int n = sqlite3_column_bytes(stmt_, col);
        return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
    }
    std::int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
    int i32(int col) const { return sqlite3_column_int(stmt_, col); }
    double real(int col) const { return sqlite3_column_double(stmt_, col); }

 private:
    template <class T>
    void bind_one(int i, const T& v) {
        int rc;
        if constexpr (std::is_same_v<T, bool>) {
            rc = sqlite3_bind_int(stmt_, i, v ? 1 : 0);
        } else if constexpr (std::is_integral_v<T>) {
            rc = sqlite3_bind_int64(stmt_, i, static_cast<sqlite3_int64>(v));
        } else if constexpr (std::is_floating_point_v<T>) {
            rc = sqlite3_bind_double(stmt_, i, static_cast<double>(v));
        } else {
            std::string_view s(v);
            rc = sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), kTransient);
        }
        if (rc != SQLITE_OK) raise(db_, rc, "binding a parameter");
    }

    sqlite3* db_;
    sqlite3_stmt* stmt_;
    bool owned_;
};

}  // namespace

// One SQLite connection, used by one thread only; `depth` counts its open transaction levels.
struct Connection {
    sqlite3* db = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> statements;
    int depth = 0;

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() {
        for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
        sqlite3_close_v2(db);
    }

    Stmt query(const std::string& sql) {
        auto it = statements.find(sql);
        if (it != statements.end()) {
            // A statement still stepping (a caller reading rows calls back into the store with the same
            // SQL) must not be reset under it: use a private one for the inner call.
            if (!sqlite3_stmt_busy(it->second)) return Stmt(db, it->second, false);
            return Stmt(db, prepare(sql, 0), true);
        }
        sqlite3_stmt* stmt = prepare(sql, SQLITE_PREPARE_PERSISTENT);
        statements.emplace(sql, stmt);
        return Stmt(db, stmt, false);
    }

    sqlite3_stmt* prepare(const std::string& sql, unsigned flags) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v3(db, sql.c_str(), static_cast<int>(sql.size() + 1), flags, &stmt, nullptr);
        if (rc != SQLITE_OK) raise(db, rc, "preparing `" + sql + "`");
        return stmt;
    }

    // Runs SQL text without results (several statements allowed).
    void exec(const std::string& sql) {
        char* err = nullptr;
        int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
        if (err) sqlite3_free(err);
        if (rc != SQLITE_OK) raise(db, rc, "executing SQL");
    }
    void exec_quietly(const char* sql) noexcept { sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }
};

namespace {

// Runs `fn` as one transaction on `c`: `BEGIN IMMEDIATE` at the outermost level (takes the write lock
// first, so a writer waits on the busy timeout instead of failing on a stale snapshot), a savepoint when
// nested (a nested failure undoes only its own writes; the outer transaction decides the rest).
template <class F>
auto run_transaction(Connection& c, F&& fn) -> decltype(fn()) {
    const bool outermost = c.depth == 0;
    const std::string savepoint = "np_sp" + std::to_string(c.depth);
    c.exec(outermost ? std::string("BEGIN IMMEDIATE") : "SAVEPOINT " + savepoint);
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
                if (!sqlite3_get_autocommit(c.db)) c.exec_quietly("ROLLBACK");
            } else {
                c.exec_quietly(("ROLLBACK TO " + savepoint + "; RELEASE " + savepoint).c_str());
            }
            --c.depth;
        }
        throw;
    }
}

int clamp_limit(int limit) {
    return std::clamp(limit, 1, 500);
}

// `%` and `_` are wildcards of LIKE: a search for "a_b" must match only that text.
std::string like_pattern(const std::string& text) {
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
    void add_search(const std::string& col_a, const std::string& col_b, const std::string& text) {
        clauses.push_back("(" + col_a + " LIKE ? ESCAPE '\\' OR " + col_b + " LIKE ? ESCAPE '\\')");
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
    "id, username, realm, role, display_name, password_hash, must_change_password, created_at";
User read_user(const Stmt& s) {
    User u;
    u.id = s.text(0);
    u.username = s.text(1);
    u.realm = s.text(2);
    u.role = s.text(3);
    u.display_name = s.text(4);
    u.password_hash = s.text(5);
    u.must_change_password = s.i32(6) != 0;
    u.created_at = s.i64(7);
    return u;
}

constexpr const char* kExerciseSelect =
    "SELECT e.id, e.slug, e.title, e.created_by, e.created_at,"
    " COALESCE((SELECT MAX(v.version) FROM exercise_versions v WHERE v.exercise_id = e.id), 0),"
    " COALESCE((SELECT MAX(v.version) FROM exercise_versions v WHERE v.exercise_id = e.id"
    " AND v.state = 'published'), 0) FROM exercises e";
Exercise read_exercise(const Stmt& s) {
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
ExerciseVersion read_version(const Stmt& s) {
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
Assignment read_assignment(const Stmt& s) {
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
    return a;
}

constexpr const char* kEnvironmentCols =
    "e.id, e.assignment_id, e.student_id, e.provider, e.desired_state, e.observed_state, e.provider_ids,"
    " e.addresses, e.last_error, e.created_at, e.updated_at";
Environment read_environment(const Stmt& s) {
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
    return e;
}

constexpr const char* kEvaluationCols =
    "id, assignment_id, student_id, attempt, status, score, max_score, results, transcript, error, job_id,"
    " created_at, finished_at";
Evaluation read_evaluation(const Stmt& s) {
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
    return e;
}

constexpr const char* kJobCols =
    "id, kind, params, state, progress_done, progress_total, message, owner_id, attempt, lease_owner,"
    " lease_expires, result, error, subject_type, subject_id, created_at, started_at, finished_at";
Job read_job(const Stmt& s) {
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
    return j;
}

AuditEntry read_audit(const Stmt& s) {
    AuditEntry a;
    a.id = s.i64(0);
    a.at = s.i64(1);
    a.actor_id = s.text(2);
    a.action = s.text(3);
    a.object_type = s.text(4);
    a.object_id = s.text(5);
    a.detail = s.text(6);
    return a;
}

std::string id_of(const User& x) {
    return x.id;
}
std::string id_of(const Exercise& x) {
    return x.id;
}
std::string id_of(const Assignment& x) {
    return x.id;
}
std::string id_of(const Environment& x) {
    return x.id;
}
std::string id_of(const Evaluation& x) {
    return x.id;
}
std::string id_of(const Job& x) {
    return x.id;
}
std::string id_of(const AuditEntry& x) {
    return std::to_string(x.id);
}

// Keyset page: `select` is the SELECT ... FROM ... part, `id_col` the (qualified) id column.
template <class T, class Read>
PageResult<T> page_query(Connection& c, const std::string& select, const std::string& id_col, Where where,
                         Arg after, bool has_after, const Page& page, Read read) {
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

void require_id(const std::string& id, std::string_view what) {
    if (id.empty()) throw core::invalid(std::string(what) + " id is empty (set it with core::new_id())");
}

std::int64_t or_now(std::int64_t t) {
    return t != 0 ? t : core::unix_now();
}
std::string or_default(const std::string& v, const char* fallback) {
    return v.empty() ? fallback : v;
}

}  // namespace

struct SqliteStore::Impl {
    SqliteOptions options;
    std::string open_name;  // what sqlite3_open_v2 gets
    int open_flags = 0;
    std::string temporary_file;  // ":memory:" stores: removed with the store
    mutable std::mutex mutex;
    std::unordered_map<std::thread::id, std::unique_ptr<Connection>> connections;

    // The calling thread's connection, opened on first use.
    Connection& connection() {
        std::lock_guard lock(mutex);
        auto& slot = connections[std::this_thread::get_id()];
        if (!slot) slot = open();
        return *slot;
    }

    std::unique_ptr<Connection> open() const {
        auto c = std::make_unique<Connection>();
        int rc = sqlite3_open_v2(open_name.c_str(), &c->db, open_flags, nullptr);
        if (rc != SQLITE_OK) {
            std::string why = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
            throw core::unavailable("cannot open the SQLite database '" + options.path + "': " + why);
        }
        sqlite3_extended_result_codes(c->db, 1);
        sqlite3_busy_timeout(c->db, static_cast<int>(options.busy_timeout.count()));
        c->exec("PRAGMA foreign_keys = ON");
        {
            // WAL: readers never block the writer; synchronous=NORMAL is durable enough in WAL mode
            // (a power loss may lose the last commits, never corrupts). https://sqlite.org/wal.html
            auto stmt = c->query("PRAGMA journal_mode = WAL");
            std::string mode = stmt.next() ? stmt.text(0) : "";
            if (mode != "wal") {
                log::warn("store.sqlite.no_wal", {{"path", options.path}, {"journal_mode", mode}});
            }
        }
        c->exec("PRAGMA synchronous = NORMAL");
        return c;
    }
};

SqliteStore::SqliteStore(SqliteOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    const std::string& path = impl_->options.path;
    if (path.empty()) throw core::invalid("the SQLite store needs a path (or :memory:)");
    impl_->open_flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    std::string file = path;
    if (path == ":memory:") {
        // Every thread has its own connection, so SQLite's ":memory:" would give each thread its own
        // database, and the shared memdb VFS lets a waiting reader keep its lock (writers then time out).
        // A private temporary file in WAL mode behaves exactly like the production store and is removed
        // with the store.
        file = (std::filesystem::temp_directory_path() / ("netpraxis-store-" + core::random_hex(8) + ".db"))
                   .string();
        impl_->temporary_file = file;
    } else {
        auto parent = std::filesystem::path(path).parent_path();
        std::error_code ec;
        if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        if (ec) {
            throw core::unavailable("cannot create the folder '" + parent.string() +
                                    "' of the SQLite database: " + ec.message());
        }
    }
    impl_->open_name = file;
    impl_->connection();  // fail early on a bad path
}

SqliteStore::~SqliteStore() {
    if (impl_->temporary_file.empty()) return;
    impl_->connections.clear();
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
        std::error_code ec;
        std::filesystem::remove(impl_->temporary_file + suffix, ec);
    }
}

std::size_t SqliteStore::connection_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->connections.size();
}

int SqliteStore::migrate() {
    Connection& c = impl_->connection();
    auto migrations = embedded_migrations();
    const int latest = migrations.empty() ? 0 : migrations.back().version;
    return run_transaction(c, [&] {
        c.exec(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
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
                c.exec(sql_for_dialect(m.sql, "sqlite"));
            } catch (const core::Error& e) {
                throw core::internal("migration " + std::to_string(m.version) + "_" + std::string(m.name) +
                                     " failed: " + e.what());
            }
            c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
                .bind(m.version, m.name, core::unix_now())
                .run();
            log::info("store.migration.applied",
                      {{"version", m.version}, {"name", m.name}, {"engine", "sqlite"}});
            ++ran;
        }
        return ran;
    });
}

int SqliteStore::schema_version() {
    Connection& c = impl_->connection();
    {
        auto stmt =
            c.query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'");
        if (!stmt.next() || stmt.i64(0) == 0) return 0;
    }
    auto stmt = c.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    return stmt.next() ? stmt.i32(0) : 0;
}

void SqliteStore::transaction(const std::function<void()>& fn) {
    run_transaction(impl_->connection(), fn);
}

bool SqliteStore::ping() {
    try {
        auto stmt = impl_->connection().query("SELECT 1");
        return stmt.next() && stmt.i32(0) == 1;
    } catch (const std::exception&) {
        return false;
    }
}

// ---- settings

std::optional<std::string> SqliteStore::get_setting(const std::string& key) {
    auto stmt = impl_->connection().query("SELECT value FROM settings WHERE key = ?");
    stmt.bind(key);
    if (!stmt.next()) return std::nullopt;
    return stmt.text(0);
}

std::string SqliteStore::put_setting_if_absent(const std::string& key, const std::string& value) {
    Connection& c = impl_->connection();
    return run_transaction(c, [&] {
        c.query("INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key, value, core::unix_now())
            .run();
        auto stmt = c.query("SELECT value FROM settings WHERE key = ?");
        stmt.bind(key);
        if (!stmt.next()) throw core::internal("setting '" + key + "' vanished after its insert");
        return stmt.text(0);
    });
}

// ---- users

void SqliteStore::create_user(const User& u) {
    require_id(u.id, "user");
    Connection& c = impl_->connection();
    try {
        run_transaction(c, [&] {
            c.query(std::string("INSERT INTO users (") + kUserCols + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(u.id, u.username, u.realm, u.role, u.display_name, u.password_hash,
                      u.must_change_password, or_now(u.created_at))
                .run();
        });
    } catch (const SqliteError& e) {
        if (e.is_primary_key()) throw core::conflict("a user with id '" + u.id + "' already exists");
        if (e.is_unique()) {
            throw core::conflict("user '" + u.username + "' already exists in realm '" + u.realm + "'");
        }
        throw;
    }
}

std::optional<User> SqliteStore::get_user(const std::string& id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kUserCols + " FROM users WHERE id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return read_user(stmt);
}

std::optional<User> SqliteStore::find_user(const std::string& username, const std::string& realm) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kUserCols +
                                          " FROM users WHERE username = ? AND realm = ?");
    stmt.bind(username, realm);
    if (!stmt.next()) return std::nullopt;
    return read_user(stmt);
}

PageResult<User> SqliteStore::list_users(const UserFilter& filter, const Page& page) {
    Where w;
    if (!filter.role.empty()) w.add("role = ?", filter.role);
    if (!filter.realm.empty()) w.add("realm = ?", filter.realm);
    if (!filter.search.empty()) w.add_search("username", "display_name", filter.search);
    return page_query<User>(impl_->connection(), std::string("SELECT ") + kUserCols + " FROM users", "id",
                            std::move(w), page.after, !page.after.empty(), page, read_user);
}

void SqliteStore::update_user(const User& u) {
    Connection& c = impl_->connection();
    int changed = 0;
    try {
        changed = run_transaction(c, [&] {
            return c
                .query(
                    "UPDATE users SET username = ?, realm = ?, role = ?, display_name = ?, password_hash = ?,"
                    " must_change_password = ? WHERE id = ?")
                .bind(u.username, u.realm, u.role, u.display_name, u.password_hash, u.must_change_password,
                      u.id)
                .run();
        });
    } catch (const SqliteError& e) {
        if (e.is_unique()) {
            throw core::conflict("user '" + u.username + "' already exists in realm '" + u.realm + "'");
        }
        throw;
    }
    if (changed == 0) throw core::not_found("no user with id '" + u.id + "'");
}

void SqliteStore::delete_user(const std::string& id) {
    Connection& c = impl_->connection();
    int changed = 0;
    try {
        changed =
            run_transaction(c, [&] { return c.query("DELETE FROM users WHERE id = ?").bind(id).run(); });
    } catch (const SqliteError& e) {
        if (e.is_foreign_key()) {
            throw core::conflict("user '" + id +
                                 "' still has assignments, environments or evaluations; delete those first");
        }
        throw;
    }
    if (changed == 0) throw core::not_found("no user with id '" + id + "'");
}

std::int64_t SqliteStore::count_users() {
    auto stmt = impl_->connection().query("SELECT COUNT(*) FROM users");
    return stmt.next() ? stmt.i64(0) : 0;
}

// ---- exercises and versions

void SqliteStore::create_exercise(const Exercise& e) {
    require_id(e.id, "exercise");
    Connection& c = impl_->connection();
    try {
        run_transaction(c, [&] {
            c.query("INSERT INTO exercises (id, slug, title, created_by, created_at) VALUES (?, ?, ?, ?, ?)")
                .bind(e.id, e.slug, e.title, e.created_by, or_now(e.created_at))
                .run();
        });
    } catch (const SqliteError& err) {
        if (err.is_primary_key()) throw core::conflict("an exercise with id '" + e.id + "' already exists");
        if (err.is_unique()) throw core::conflict("an exercise with slug '" + e.slug + "' already exists");
        throw;
    }
}

std::optional<Exercise> SqliteStore::get_exercise(const std::string& id_or_slug) {
    // An id match wins over a slug that happens to look like an id.
    auto stmt = impl_->connection().query(std::string(kExerciseSelect) +
                                          " WHERE e.id = ?1 OR e.slug = ?1 ORDER BY e.id = ?1 DESC LIMIT 1");
    stmt.bind(id_or_slug);
    if (!stmt.next()) return std::nullopt;
    return read_exercise(stmt);
}

PageResult<Exercise> SqliteStore::list_exercises(const std::string& search, const Page& page) {
    Where w;
    if (!search.empty()) w.add_search("e.slug", "e.title", search);
    return page_query<Exercise>(impl_->connection(), kExerciseSelect, "e.id", std::move(w), page.after,
                                !page.after.empty(), page, read_exercise);
}

void SqliteStore::update_exercise_title(const std::string& id, const std::string& title) {
    Connection& c = impl_->connection();
    int changed = run_transaction(
        c, [&] { return c.query("UPDATE exercises SET title = ? WHERE id = ?").bind(title, id).run(); });
    if (changed == 0) throw core::not_found("no exercise with id '" + id + "'");
}

ExerciseVersion SqliteStore::add_version(const ExerciseVersion& v) {
    Connection& c = impl_->connection();
    return run_transaction(c, [&] {
        {
            auto stmt = c.query("SELECT 1 FROM exercises WHERE id = ?");
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
        } catch (const SqliteError& e) {
            if (e.is_primary_key())
                throw core::conflict("an exercise version with id '" + row.id + "' already exists");
            throw;
        }
        return row;
    });
}

std::optional<ExerciseVersion> SqliteStore::get_version(const std::string& exercise_id, int version) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kVersionCols +
                                          " FROM exercise_versions WHERE exercise_id = ? AND version = ?");
    stmt.bind(exercise_id, version);
    if (!stmt.next()) return std::nullopt;
    return read_version(stmt);
}

std::optional<ExerciseVersion> SqliteStore::get_version_by_id(const std::string& version_id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kVersionCols +
                                          " FROM exercise_versions WHERE id = ?");
    stmt.bind(version_id);
    if (!stmt.next()) return std::nullopt;
    return read_version(stmt);
}

std::vector<ExerciseVersion> SqliteStore::list_versions(const std::string& exercise_id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kVersionCols +
                                          " FROM exercise_versions WHERE exercise_id = ? ORDER BY version");
    stmt.bind(exercise_id);
    std::vector<ExerciseVersion> out;
    while (stmt.next()) out.push_back(read_version(stmt));
    return out;
}

namespace {

// The version that update_draft / publish_version name: by id when given, else by (exercise, number).
std::string describe_version(const std::string& exercise_id, int version) {
    return "version " + std::to_string(version) + " of exercise '" + exercise_id + "'";
}

}  // namespace

void SqliteStore::update_draft(const ExerciseVersion& v) {
    Connection& c = impl_->connection();
    run_transaction(c, [&] {
        auto stmt =
            c.query(v.id.empty() ? std::string("SELECT id, exercise_id, version, state FROM exercise_versions"
                                               " WHERE exercise_id = ? AND version = ?")
                                 : std::string("SELECT id, exercise_id, version, state FROM exercise_versions"
                                               " WHERE id = ?"));
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
             "UPDATE exercise_versions SET instructions = ?, spec = ?, topology = ?, gns3_project = ? WHERE "
             "id = ?")
            .bind(v.instructions, v.spec, v.topology, v.gns3_project, id)
            .run();
    });
}

void SqliteStore::publish_version(const std::string& exercise_id, int version, std::int64_t now) {
    Connection& c = impl_->connection();
    run_transaction(c, [&] {
        std::string state;
        {
            auto stmt = c.query("SELECT state FROM exercise_versions WHERE exercise_id = ? AND version = ?");
            stmt.bind(exercise_id, version);
            if (!stmt.next()) throw core::not_found("no " + describe_version(exercise_id, version));
            state = stmt.text(0);
        }
        if (state != "draft")
            throw core::conflict(describe_version(exercise_id, version) + " is already published");
        c.query(
             "UPDATE exercise_versions SET state = 'published', published_at = ? WHERE exercise_id = ? AND "
             "version = ?")
            .bind(or_now(now), exercise_id, version)
            .run();
    });
}

// ---- assignments

void SqliteStore::create_assignment(const Assignment& a) {
    require_id(a.id, "assignment");
    Connection& c = impl_->connection();
    run_transaction(c, [&] {
        try {
            c.query(std::string("INSERT INTO assignments (") + kAssignmentCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(a.id, a.exercise_id, a.exercise_version_id, a.student_id, a.created_by, a.deadline,
                      a.max_attempts, a.cooldown_seconds, a.score_policy, or_now(a.created_at))
                .run();
        } catch (const SqliteError& e) {
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

std::optional<Assignment> SqliteStore::get_assignment(const std::string& id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kAssignmentCols +
                                          " FROM assignments WHERE id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return read_assignment(stmt);
}

PageResult<Assignment> SqliteStore::list_assignments(const AssignmentFilter& filter, const Page& page) {
    Where w;
    if (!filter.exercise_id.empty()) w.add("exercise_id = ?", filter.exercise_id);
    if (!filter.student_id.empty()) w.add("student_id = ?", filter.student_id);
    return page_query<Assignment>(impl_->connection(),
                                  std::string("SELECT ") + kAssignmentCols + " FROM assignments", "id",
                                  std::move(w), page.after, !page.after.empty(), page, read_assignment);
}

void SqliteStore::delete_assignment(const std::string& id) {
    Connection& c = impl_->connection();
    int changed = 0;
    try {
        changed = run_transaction(
            c, [&] { return c.query("DELETE FROM assignments WHERE id = ?").bind(id).run(); });
    } catch (const SqliteError& e) {
        if (e.is_foreign_key()) {
            throw core::conflict("assignment '" + id +
                                 "' still has an environment; delete the environment first");
        }
        throw;
    }
    if (changed == 0) throw core::not_found("no assignment with id '" + id + "'");
}

// ---- environments

void SqliteStore::create_environment(const Environment& e) {
    require_id(e.id, "environment");
    Connection& c = impl_->connection();
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
                 " provider_ids, addresses, last_error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?)")
                .bind(e.id, e.assignment_id, student, e.provider, e.desired_state, e.observed_state,
                      or_default(e.provider_ids, "{}"), or_default(e.addresses, "{}"), e.last_error, created,
                      e.updated_at != 0 ? e.updated_at : created)
                .run();
        } catch (const SqliteError& err) {
            if (err.is_primary_key())
                throw core::conflict("an environment with id '" + e.id + "' already exists");
            if (err.is_unique()) {
                throw core::conflict("assignment '" + e.assignment_id + "' already has an environment");
            }
            throw;
        }
    });
}

std::optional<Environment> SqliteStore::get_environment(const std::string& id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kEnvironmentCols +
                                          " FROM environments e WHERE e.id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return read_environment(stmt);
}

std::optional<Environment> SqliteStore::environment_for_assignment(const std::string& assignment_id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kEnvironmentCols +
                                          " FROM environments e WHERE e.assignment_id = ?");
    stmt.bind(assignment_id);
    if (!stmt.next()) return std::nullopt;
    return read_environment(stmt);
}

PageResult<Environment> SqliteStore::list_environments(const EnvironmentFilter& filter, const Page& page) {
    Where w;
    std::string from = " FROM environments e";
    if (!filter.exercise_id.empty()) {
        from += " JOIN assignments a ON a.id = e.assignment_id";
        w.add("a.exercise_id = ?", filter.exercise_id);
    }
    if (!filter.assignment_id.empty()) w.add("e.assignment_id = ?", filter.assignment_id);
    if (!filter.student_id.empty()) w.add("e.student_id = ?", filter.student_id);
    if (!filter.observed_state.empty()) w.add("e.observed_state = ?", filter.observed_state);
    return page_query<Environment>(impl_->connection(), std::string("SELECT ") + kEnvironmentCols + from,
                                   "e.id", std::move(w), page.after, !page.after.empty(), page,
                                   read_environment);
}

void SqliteStore::update_environment(const Environment& e) {
    Connection& c = impl_->connection();
    int changed = run_transaction(c, [&] {
        return c
            .query(
                "UPDATE environments SET provider = ?, desired_state = ?, observed_state = ?, provider_ids = "
                "?,"
                " addresses = ?, last_error = ?, updated_at = ? WHERE id = ?")
            .bind(e.provider, e.desired_state, e.observed_state, or_default(e.provider_ids, "{}"),
                  or_default(e.addresses, "{}"), e.last_error, or_now(e.updated_at), e.id)
            .run();
    });
    if (changed == 0) throw core::not_found("no environment with id '" + e.id + "'");
}

void SqliteStore::delete_environment(const std::string& id) {
    Connection& c = impl_->connection();
    int changed =
        run_transaction(c, [&] { return c.query("DELETE FROM environments WHERE id = ?").bind(id).run(); });
    if (changed == 0) throw core::not_found("no environment with id '" + id + "'");
}

// ---- evaluations

Evaluation SqliteStore::create_evaluation(const Evaluation& e) {
    Connection& c = impl_->connection();
    return run_transaction(c, [&] {
        Evaluation row = e;
        {
            auto stmt = c.query(
                "SELECT a.student_id, COALESCE((SELECT MAX(v.attempt) FROM evaluations v"
                " WHERE v.assignment_id = a.id), 0) + 1 FROM assignments a WHERE a.id = ?");
            stmt.bind(e.assignment_id);
            if (!stmt.next()) throw core::not_found("no assignment with id '" + e.assignment_id + "'");
            if (!e.student_id.empty() && e.student_id != stmt.text(0)) {
                throw core::invalid("evaluation student '" + e.student_id +
                                    "' is not the student of assignment '" + e.assignment_id + "'");
            }
            row.student_id = stmt.text(0);
            row.attempt = stmt.i32(1);
        }
        if (row.id.empty()) row.id = core::new_id();
        row.created_at = or_now(row.created_at);
        row.results = or_default(row.results, "[]");
        row.transcript = or_default(row.transcript, "[]");
        try {
            c.query(std::string("INSERT INTO evaluations (") + kEvaluationCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(row.id, row.assignment_id, row.student_id, row.attempt, row.status, row.score,
                      row.max_score, row.results, row.transcript, row.error, row.job_id, row.created_at,
                      row.finished_at)
                .run();
        } catch (const SqliteError& err) {
            if (err.is_primary_key())
                throw core::conflict("an evaluation with id '" + row.id + "' already exists");
            throw;
        }
        return row;
    });
}

std::optional<Evaluation> SqliteStore::get_evaluation(const std::string& id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kEvaluationCols +
                                          " FROM evaluations WHERE id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return read_evaluation(stmt);
}

PageResult<Evaluation> SqliteStore::list_evaluations(const EvaluationFilter& filter, const Page& page) {
    Where w;
    if (!filter.assignment_id.empty()) w.add("assignment_id = ?", filter.assignment_id);
    if (!filter.student_id.empty()) w.add("student_id = ?", filter.student_id);
    if (!filter.status.empty()) w.add("status = ?", filter.status);
    return page_query<Evaluation>(impl_->connection(),
                                  std::string("SELECT ") + kEvaluationCols + " FROM evaluations", "id",
                                  std::move(w), page.after, !page.after.empty(), page, read_evaluation);
}

void SqliteStore::update_evaluation(const Evaluation& e) {
    Connection& c = impl_->connection();
    int changed = run_transaction(c, [&] {
        return c
            .query(
                "UPDATE evaluations SET status = ?, score = ?, max_score = ?, results = ?, transcript = ?, "
                "error = ?,"
                " job_id = ?, finished_at = ? WHERE id = ?")
            .bind(e.status, e.score, e.max_score, or_default(e.results, "[]"), or_default(e.transcript, "[]"),
                  e.error, e.job_id, e.finished_at, e.id)
            .run();
    });
    if (changed == 0) throw core::not_found("no evaluation with id '" + e.id + "'");
}

int SqliteStore::count_evaluations(const std::string& assignment_id) {
    auto stmt = impl_->connection().query("SELECT COUNT(*) FROM evaluations WHERE assignment_id = ?");
    stmt.bind(assignment_id);
    return stmt.next() ? stmt.i32(0) : 0;
}

std::optional<Evaluation> SqliteStore::last_evaluation(const std::string& assignment_id) {
    auto stmt =
        impl_->connection().query(std::string("SELECT ") + kEvaluationCols +
                                  " FROM evaluations WHERE assignment_id = ? ORDER BY attempt DESC LIMIT 1");
    stmt.bind(assignment_id);
    if (!stmt.next()) return std::nullopt;
    return read_evaluation(stmt);
}

// ---- jobs

void SqliteStore::create_job(const Job& j) {
    require_id(j.id, "job");
    Connection& c = impl_->connection();
    try {
        run_transaction(c, [&] {
            c.query(std::string("INSERT INTO jobs (") + kJobCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(j.id, j.kind, or_default(j.params, "{}"), j.state, j.progress_done, j.progress_total,
                      j.message, j.owner_id, j.attempt, j.lease_owner, j.lease_expires,
                      or_default(j.result, "{}"), j.error, j.subject_type, j.subject_id, or_now(j.created_at),
                      j.started_at, j.finished_at)
                .run();
        });
    } catch (const SqliteError& e) {
        if (e.is_primary_key()) throw core::conflict("a job with id '" + j.id + "' already exists");
        throw;
    }
}

std::optional<Job> SqliteStore::get_job(const std::string& id) {
    auto stmt = impl_->connection().query(std::string("SELECT ") + kJobCols + " FROM jobs WHERE id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return read_job(stmt);
}

PageResult<Job> SqliteStore::list_jobs(const JobFilter& filter, const Page& page) {
    Where w;
    if (!filter.state.empty()) w.add("state = ?", filter.state);
    if (!filter.kind.empty()) w.add("kind = ?", filter.kind);
    if (!filter.owner_id.empty()) w.add("owner_id = ?", filter.owner_id);
    if (!filter.subject_id.empty()) w.add("subject_id = ?", filter.subject_id);
    return page_query<Job>(impl_->connection(), std::string("SELECT ") + kJobCols + " FROM jobs", "id",
                           std::move(w), page.after, !page.after.empty(), page, read_job);
}

std::optional<Job> SqliteStore::claim_job(const std::string& lease_owner, std::int64_t now,
                                          int lease_seconds) {
    if (lease_owner.empty()) throw core::invalid("claim_job needs a lease owner");
    if (lease_seconds <= 0) throw core::invalid("claim_job needs a positive lease duration");
    Connection& c = impl_->connection();
    // One UPDATE ... RETURNING under the write lock (BEGIN IMMEDIATE): two claimers never get one job.
    return run_transaction(c, [&]() -> std::optional<Job> {
        auto stmt = c.query(
            std::string(
                "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires = ?2 + ?3,"
                " attempt = attempt + 1, started_at = CASE WHEN started_at = 0 THEN ?2 ELSE started_at END"
                " WHERE id = (SELECT id FROM ("
                "   SELECT id FROM (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1)"
                "   UNION ALL"
                "   SELECT id FROM (SELECT id FROM jobs WHERE state = 'running' AND lease_expires <= ?2"
                "                   ORDER BY id LIMIT 1)"
                " ) ORDER BY id LIMIT 1) RETURNING ") +
            kJobCols);
        stmt.bind(lease_owner, now, std::int64_t{lease_seconds});
        std::optional<Job> job;
        if (stmt.next()) job = read_job(stmt);
        while (stmt.next()) {
        }
        return job;
    });
}

bool SqliteStore::update_job_progress(const std::string& id, const std::string& lease_owner,
                                      std::int64_t done, std::int64_t total, const std::string& message,
                                      std::int64_t lease_expires) {
    Connection& c = impl_->connection();
    return run_transaction(c, [&] {
        return c.query(
                    "UPDATE jobs SET progress_done = ?, progress_total = ?, message = ?, lease_expires = ?"
                    " WHERE id = ? AND lease_owner = ? AND state = 'running'")
                   .bind(done, total, message, lease_expires, id, lease_owner)
                   .run() > 0;
    });
}

void SqliteStore::finish_job(const std::string& id, const std::string& state, const std::string& result,
                             const std::string& error, std::int64_t now) {
    if (state != "succeeded" && state != "failed" && state != "cancelled") {
        throw core::invalid("a job finishes as succeeded, failed or cancelled, not '" + state + "'");
    }
    Connection& c = impl_->connection();
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

bool SqliteStore::cancel_job(const std::string& id, std::int64_t now) {
    Connection& c = impl_->connection();
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

std::vector<std::pair<std::string, std::int64_t>> SqliteStore::count_jobs_by_state() {
    std::vector<std::pair<std::string, std::int64_t>> out = {
        {"queued", 0}, {"running", 0}, {"succeeded", 0}, {"failed", 0}, {"cancelled", 0}};
    auto stmt = impl_->connection().query("SELECT state, COUNT(*) FROM jobs GROUP BY state");
    while (stmt.next()) {
        auto state = stmt.text(0);
        auto it = std::find_if(out.begin(), out.end(), [&](auto& p) { return p.first == state; });
        if (it != out.end()) it->second = stmt.i64(1);
    }
    return out;
}

// ---- audit log

void SqliteStore::append_audit(const AuditEntry& a) {
    Connection& c = impl_->connection();
    run_transaction(c, [&] {
        c.query(
             "INSERT INTO audit_log (at, actor_id, action, object_type, object_id, detail) VALUES (?, ?, ?, "
             "?, ?, ?)")
            .bind(or_now(a.at), a.actor_id, a.action, a.object_type, a.object_id, or_default(a.detail, "{}"))
            .run();
    });
}

PageResult<AuditEntry> SqliteStore::list_audit(const std::string& object_id, const Page& page) {
    Where w;
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
    return page_query<AuditEntry>(
        impl_->connection(), "SELECT id, at, actor_id, action, object_type, object_id, detail FROM audit_log",
        "id", std::move(w), after, !page.after.empty(), page, read_audit);
}

}  // namespace np::store
