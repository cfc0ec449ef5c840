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
#include "store/sql_ops.hpp"

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

using sql::Arg;

// A prepared statement in use: binds, steps, reads columns; reset on scope exit so no read transaction
// stays open. Statements come from the connection's cache (or are owned when the cached one is busy).
class SqliteStmt {
 public:
    SqliteStmt(sqlite3* db, sqlite3_stmt* stmt, bool owned) : db_(db), stmt_(stmt), owned_(owned) {}
    ~SqliteStmt() {
        if (owned_) {
            sqlite3_finalize(stmt_);
        } else {
            sqlite3_reset(stmt_);
            sqlite3_clear_bindings(stmt_);
        }
    }
    SqliteStmt(const SqliteStmt&) = delete;
    SqliteStmt& operator=(const SqliteStmt&) = delete;

    template <class... A>
    SqliteStmt& bind(const A&... args) {
        int i = 1;
        (bind_one(i++, args), ...);
        return *this;
    }
    SqliteStmt& bind_args(const std::vector<Arg>& args) {
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

// One SQLite connection, used by one thread only; `depth` counts its open transaction levels. Also the
// engine hooks of sql::Ops (sql_ops.hpp).
struct SqliteConnection {
    using Stmt = SqliteStmt;
    using Error = SqliteError;
    static constexpr const char* kBegin = "BEGIN IMMEDIATE";
    static constexpr const char* kLike = "LIKE";   // case-insensitive for ASCII in SQLite
    static constexpr const char* kForUpdate = "";  // BEGIN IMMEDIATE already holds the only write lock
    static constexpr const char* kDialect = "sqlite";

    sqlite3* db = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> statements;
    int depth = 0;
    std::mutex* writer_mutex = nullptr;  // the store's; shared by all its connections

    // SQLite has one writer at a time; a writer that finds the lock taken sleeps in the busy handler
    // (1, 2, 5, 10... ms steps) instead of being woken. Writers of this process queue on a mutex instead
    // (measured by bench/store: 4 claiming threads went from ~320 to thousands of claims/s); other
    // processes still meet the busy timeout.
    using WriterLock = std::unique_lock<std::mutex>;
    WriterLock lock_writer() { return WriterLock(*writer_mutex); }

    SqliteConnection() = default;
    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;
    ~SqliteConnection() {
        for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
        sqlite3_close_v2(db);
    }

    SqliteStmt query(const std::string& sql) {
        auto it = statements.find(sql);
        if (it != statements.end()) {
            // A statement still stepping (a caller reading rows calls back into the store with the same
            // SQL) must not be reset under it: use a private one for the inner call.
            if (!sqlite3_stmt_busy(it->second)) return SqliteStmt(db, it->second, false);
            return SqliteStmt(db, prepare(sql, 0), true);
        }
        sqlite3_stmt* stmt = prepare(sql, SQLITE_PREPARE_PERSISTENT);
        statements.emplace(sql, stmt);
        return SqliteStmt(db, stmt, false);
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

    bool in_transaction() const { return sqlite3_get_autocommit(db) == 0; }
    bool table_exists(const std::string& name) {
        auto stmt = query("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
        stmt.bind(name);
        return stmt.next() && stmt.i64(0) > 0;
    }
    void lock_migrations() {}  // BEGIN IMMEDIATE already keeps other writers out
    // The oldest queued job, or the oldest running one whose lease expired; the statement runs under
    // the database's single write lock, so the choice and the update are one step.
    static std::string claim_job_sql(std::string_view cols) {
        return std::string(
                   "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires = ?2 + ?3,"
                   " attempt = attempt + 1, started_at = CASE WHEN started_at = 0 THEN ?2 ELSE started_at END"
                   " WHERE id = (SELECT id FROM ("
                   "   SELECT id FROM (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1)"
                   "   UNION ALL"
                   "   SELECT id FROM (SELECT id FROM jobs WHERE state = 'running' AND lease_expires <= ?2"
                   "                   ORDER BY id LIMIT 1)"
                   " ) ORDER BY id LIMIT 1) RETURNING ") +
               std::string(cols);
    }
};

}  // namespace

struct SqliteStore::Impl {
    SqliteOptions options;
    std::string open_name;  // what sqlite3_open_v2 gets
    int open_flags = 0;
    std::string temporary_file;  // ":memory:" stores: removed with the store
    mutable std::mutex mutex;
    std::mutex writer_mutex;  // see SqliteConnection::lock_writer
    std::unordered_map<std::thread::id, std::unique_ptr<SqliteConnection>> connections;

    // The calling thread's connection, opened on first use.
    SqliteConnection& connection() {
        std::lock_guard lock(mutex);
        auto& slot = connections[std::this_thread::get_id()];
        if (!slot) slot = open();
        return *slot;
    }

    std::unique_ptr<SqliteConnection> open() {
        auto c = std::make_unique<SqliteConnection>();
        c->writer_mutex = &writer_mutex;
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

// Every method of the interface runs the engine-generic logic of sql_ops.hpp on this thread's connection.
int SqliteStore::migrate() {
    return sql::Ops<SqliteConnection>(impl_->connection()).migrate();
}
int SqliteStore::schema_version() {
    return sql::Ops<SqliteConnection>(impl_->connection()).schema_version();
}
void SqliteStore::transaction(const std::function<void()>& fn) {
    sql::Ops<SqliteConnection>(impl_->connection()).transaction(fn);
}
bool SqliteStore::ping() {
    return sql::Ops<SqliteConnection>(impl_->connection()).ping();
}
std::optional<std::string> SqliteStore::get_setting(const std::string& key) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_setting(key);
}
std::string SqliteStore::put_setting_if_absent(const std::string& key, const std::string& value) {
    return sql::Ops<SqliteConnection>(impl_->connection()).put_setting_if_absent(key, value);
}
void SqliteStore::create_user(const User& user) {
    sql::Ops<SqliteConnection>(impl_->connection()).create_user(user);
}
std::optional<User> SqliteStore::get_user(const std::string& id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_user(id);
}
std::optional<User> SqliteStore::find_user(const std::string& username, const std::string& realm) {
    return sql::Ops<SqliteConnection>(impl_->connection()).find_user(username, realm);
}
PageResult<User> SqliteStore::list_users(const UserFilter& filter, const Page& page) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_users(filter, page);
}
void SqliteStore::update_user(const User& user) {
    sql::Ops<SqliteConnection>(impl_->connection()).update_user(user);
}
void SqliteStore::delete_user(const std::string& id) {
    sql::Ops<SqliteConnection>(impl_->connection()).delete_user(id);
}
std::int64_t SqliteStore::count_users() {
    return sql::Ops<SqliteConnection>(impl_->connection()).count_users();
}
void SqliteStore::create_exercise(const Exercise& exercise) {
    sql::Ops<SqliteConnection>(impl_->connection()).create_exercise(exercise);
}
std::optional<Exercise> SqliteStore::get_exercise(const std::string& id_or_slug) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_exercise(id_or_slug);
}
PageResult<Exercise> SqliteStore::list_exercises(const std::string& search, const Page& page) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_exercises(search, page);
}
void SqliteStore::update_exercise_title(const std::string& id, const std::string& title) {
    sql::Ops<SqliteConnection>(impl_->connection()).update_exercise_title(id, title);
}
ExerciseVersion SqliteStore::add_version(const ExerciseVersion& version) {
    return sql::Ops<SqliteConnection>(impl_->connection()).add_version(version);
}
std::optional<ExerciseVersion> SqliteStore::get_version(const std::string& exercise_id, int version) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_version(exercise_id, version);
}
std::optional<ExerciseVersion> SqliteStore::get_version_by_id(const std::string& version_id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_version_by_id(version_id);
}
std::vector<ExerciseVersion> SqliteStore::list_versions(const std::string& exercise_id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_versions(exercise_id);
}
void SqliteStore::update_draft(const ExerciseVersion& version) {
    sql::Ops<SqliteConnection>(impl_->connection()).update_draft(version);
}
void SqliteStore::publish_version(const std::string& exercise_id, int version, std::int64_t now) {
    sql::Ops<SqliteConnection>(impl_->connection()).publish_version(exercise_id, version, now);
}
void SqliteStore::create_assignment(const Assignment& a) {
    sql::Ops<SqliteConnection>(impl_->connection()).create_assignment(a);
}
std::optional<Assignment> SqliteStore::get_assignment(const std::string& id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_assignment(id);
}
PageResult<Assignment> SqliteStore::list_assignments(const AssignmentFilter& filter, const Page& page) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_assignments(filter, page);
}
void SqliteStore::delete_assignment(const std::string& id) {
    sql::Ops<SqliteConnection>(impl_->connection()).delete_assignment(id);
}
void SqliteStore::create_environment(const Environment& e) {
    sql::Ops<SqliteConnection>(impl_->connection()).create_environment(e);
}
std::optional<Environment> SqliteStore::get_environment(const std::string& id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_environment(id);
}
std::optional<Environment> SqliteStore::environment_for_assignment(const std::string& assignment_id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).environment_for_assignment(assignment_id);
}
PageResult<Environment> SqliteStore::list_environments(const EnvironmentFilter& filter, const Page& page) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_environments(filter, page);
}
void SqliteStore::update_environment(const Environment& e) {
    sql::Ops<SqliteConnection>(impl_->connection()).update_environment(e);
}
void SqliteStore::delete_environment(const std::string& id) {
    sql::Ops<SqliteConnection>(impl_->connection()).delete_environment(id);
}
Evaluation SqliteStore::create_evaluation(const Evaluation& e) {
    return sql::Ops<SqliteConnection>(impl_->connection()).create_evaluation(e);
}
std::optional<Evaluation> SqliteStore::get_evaluation(const std::string& id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_evaluation(id);
}
PageResult<Evaluation> SqliteStore::list_evaluations(const EvaluationFilter& filter, const Page& page) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_evaluations(filter, page);
}
void SqliteStore::update_evaluation(const Evaluation& e) {
    sql::Ops<SqliteConnection>(impl_->connection()).update_evaluation(e);
}
int SqliteStore::count_evaluations(const std::string& assignment_id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).count_evaluations(assignment_id);
}
std::optional<Evaluation> SqliteStore::last_evaluation(const std::string& assignment_id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).last_evaluation(assignment_id);
}
void SqliteStore::create_job(const Job& job) {
    sql::Ops<SqliteConnection>(impl_->connection()).create_job(job);
}
std::optional<Job> SqliteStore::get_job(const std::string& id) {
    return sql::Ops<SqliteConnection>(impl_->connection()).get_job(id);
}
PageResult<Job> SqliteStore::list_jobs(const JobFilter& filter, const Page& page) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_jobs(filter, page);
}
std::optional<Job> SqliteStore::claim_job(const std::string& lease_owner, std::int64_t now,
                                          int lease_seconds) {
    return sql::Ops<SqliteConnection>(impl_->connection()).claim_job(lease_owner, now, lease_seconds);
}
bool SqliteStore::update_job_progress(const std::string& id, const std::string& lease_owner,
                                      std::int64_t done, std::int64_t total, const std::string& message,
                                      std::int64_t lease_expires) {
    return sql::Ops<SqliteConnection>(impl_->connection())
        .update_job_progress(id, lease_owner, done, total, message, lease_expires);
}
void SqliteStore::finish_job(const std::string& id, const std::string& state, const std::string& result,
                             const std::string& error, std::int64_t now) {
    sql::Ops<SqliteConnection>(impl_->connection()).finish_job(id, state, result, error, now);
}
bool SqliteStore::cancel_job(const std::string& id, std::int64_t now) {
    return sql::Ops<SqliteConnection>(impl_->connection()).cancel_job(id, now);
}
std::vector<std::pair<std::string, std::int64_t>> SqliteStore::count_jobs_by_state() {
    return sql::Ops<SqliteConnection>(impl_->connection()).count_jobs_by_state();
}
void SqliteStore::revoke_token(const std::string& jti, std::int64_t expires_at, std::int64_t now) {
    sql::Ops<SqliteConnection>(impl_->connection()).revoke_token(jti, expires_at, now);
}
std::vector<std::pair<std::string, std::int64_t>> SqliteStore::revoked_tokens(std::int64_t since,
                                                                              std::int64_t now) {
    return sql::Ops<SqliteConnection>(impl_->connection()).revoked_tokens(since, now);
}
void SqliteStore::append_audit(const AuditEntry& entry) {
    sql::Ops<SqliteConnection>(impl_->connection()).append_audit(entry);
}
PageResult<AuditEntry> SqliteStore::list_audit(const std::string& object_id, const Page& page) {
    return sql::Ops<SqliteConnection>(impl_->connection()).list_audit(object_id, page);
}

}  // namespace np::store
