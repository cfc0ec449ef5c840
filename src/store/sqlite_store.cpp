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
#include "store/sql_store_impl.hpp"

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
    std::string blob(int col) const {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
        auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col));
        return p ? std::string(p, n) : std::string();
    }

 private:
    template <class T>
    void bind_one(int i, const T& v) {
        int rc;
        if constexpr (std::is_same_v<T, sql::Blob>) {
            // (a null pointer would bind NULL: an empty file is a zero-length blob)
            rc = sqlite3_bind_blob64(stmt_, i, v.bytes.empty() ? "" : v.bytes.data(), v.bytes.size(),
                                     kTransient);
        } else if constexpr (std::is_same_v<T, bool>) {
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
// engine hooks of the SQL logic (sql_ops.hpp).
}  // namespace

// Named outside the anonymous namespace: the public header names it as SqlStore<detail::SqliteConnection>.
namespace detail {
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
                   "   SELECT id FROM (SELECT q.id FROM jobs q WHERE q.state = 'queued'"
                   "                   AND (?4 = '' OR q.kind = ?4) AND q.instance_id IN ('', ?6)"
                   "                   AND (?5 = 0 OR q.owner_id = '' OR NOT EXISTS (SELECT 1 FROM jobs r"
                   "                     WHERE r.state = 'running' AND r.kind = q.kind AND r.owner_id = "
                   "q.owner_id"
                   "                     AND r.lease_expires > ?2))"
                   "                   ORDER BY q.id LIMIT 1)"
                   "   UNION ALL"
                   "   SELECT id FROM (SELECT id FROM jobs WHERE state = 'running' AND lease_expires <= ?2"
                   "                   AND (?4 = '' OR kind = ?4) AND instance_id IN ('', ?6)"
                   "                   ORDER BY id LIMIT 1)"
                   " ) ORDER BY id LIMIT 1) RETURNING ") +
               std::string(cols);
    }
};
}  // namespace detail
using detail::SqliteConnection;

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

template class SqlStore<detail::SqliteConnection>;

detail::SqliteConnection& SqliteStore::connection() {
    return impl_->connection();
}

std::size_t SqliteStore::connection_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->connections.size();
}

}  // namespace np::store
