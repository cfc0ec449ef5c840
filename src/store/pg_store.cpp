#include "store/pg_store.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "store/sql_store_impl.hpp"
#include "store/url.hpp"

namespace np::store {
namespace {

using sql::Arg;

// A failed libpq call as a core::Error, keeping the SQLSTATE and constraint name so the SQL logic can turn a
// constraint violation into a message naming the duplicate or the missing row.
class PgError : public core::Error {
 public:
    PgError(core::Code code, std::string message, std::string sqlstate, std::string constraint)
        : core::Error(code, std::move(message), code == core::Code::unavailable),
          sqlstate_(std::move(sqlstate)),
          constraint_(std::move(constraint)) {}
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    bool is_unique() const noexcept { return sqlstate_ == "23505"; }
    bool is_primary_key() const noexcept { return is_unique() && constraint_.ends_with("_pkey"); }
    bool is_foreign_key() const noexcept { return sqlstate_ == "23503"; }

 private:
    std::string sqlstate_;
    std::string constraint_;
};

std::string field(const PGresult* res, int code) {
    const char* v = res ? PQresultErrorField(res, code) : nullptr;
    return v ? v : "";
}

// Throws the error of `res` (which it clears) or of the connection. SQLSTATEs:
// https://www.postgresql.org/docs/15/errcodes-appendix.html
[[noreturn]] void raise(PGconn* conn, PGresult* res, std::string_view context) {
    std::string sqlstate = field(res, PG_DIAG_SQLSTATE);
    std::string primary = field(res, PG_DIAG_MESSAGE_PRIMARY);
    std::string constraint = field(res, PG_DIAG_CONSTRAINT_NAME);
    if (res) PQclear(res);
    if (primary.empty()) {
        primary = conn ? PQerrorMessage(conn) : "no connection";
        while (!primary.empty() && (primary.back() == '\n' || primary.back() == ' ')) primary.pop_back();
    }
    core::Code code = core::Code::internal;
    std::string message;
    if (sqlstate == "23505") {
        code = core::Code::conflict;
        message = "duplicate: " + primary;
    } else if (sqlstate == "23503") {
        code = core::Code::conflict;
        message = "the row refers to a missing row or is still referenced (" + primary + ")";
    } else if (sqlstate == "23514" || sqlstate == "23502" || sqlstate == "22P02" || sqlstate == "22003" ||
               sqlstate == "22001") {
        code = core::Code::invalid;
        message = "a value is out of its allowed range: " + primary;
    } else if (sqlstate == "23000") {
        code = core::Code::conflict;
        message = primary;  // our triggers' own text, e.g. "audit_log is append-only"
    } else if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" || sqlstate == "57014" ||
               sqlstate.starts_with("08") || sqlstate.starts_with("57P") ||
               (conn && PQstatus(conn) == CONNECTION_BAD)) {
        code = core::Code::unavailable;
        message = "PostgreSQL is unavailable or the statement lost a race (" + primary + "); retry";
    } else {
        message = "PostgreSQL error while " + std::string(context) + ": " + primary +
                  (sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")");
    }
    throw PgError(code, std::move(message), std::move(sqlstate), std::move(constraint));
}

// sql_ops.hpp writes SQLite's `?` and `?N` placeholders; PostgreSQL numbers them `$N`.
std::string to_pg_placeholders(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    int next = 0;
    bool in_quote = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char ch = text[i];
        if (ch == '\'') in_quote = !in_quote;
        if (ch != '?' || in_quote) {
            out += ch;
            continue;
        }
        std::size_t j = i + 1;
        while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
        out += '$';
        if (j > i + 1) {
            out.append(text.substr(i + 1, j - i - 1));
            i = j - 1;
        } else {
            out += std::to_string(++next);
        }
    }
    return out;
}

// A prepared statement with its text parameters; executes on the first next()/run() and keeps the
// result for reading.
class PgStmt {
 public:
    PgStmt(PGconn* conn, std::string name) : conn_(conn), name_(std::move(name)) {}
    ~PgStmt() {
        if (res_) PQclear(res_);
    }
    PgStmt(const PgStmt&) = delete;
    PgStmt& operator=(const PgStmt&) = delete;

    template <class... A>
    PgStmt& bind(const A&... args) {
        (add(args), ...);
        return *this;
    }
    PgStmt& bind_args(const std::vector<Arg>& args) {
        for (const auto& a : args) std::visit([&](const auto& v) { add(v); }, a);
        return *this;
    }

    bool next() {
        if (!res_) execute();
        return ++row_ < PQntuples(res_);
    }
    int run() {
        if (!res_) execute();
        const char* n = PQcmdTuples(res_);
        return n && *n ? std::atoi(n) : 0;
    }

    std::string text(int col) const {
        if (PQgetisnull(res_, row_, col)) return {};
        return std::string(PQgetvalue(res_, row_, col),
                           static_cast<std::size_t>(PQgetlength(res_, row_, col)));
    }
    std::int64_t i64(int col) const { return std::strtoll(PQgetvalue(res_, row_, col), nullptr, 10); }
    int i32(int col) const { return static_cast<int>(i64(col)); }
    double real(int col) const { return std::strtod(PQgetvalue(res_, row_, col), nullptr); }
    // A BYTEA column: text results carry it hex-escaped, which libpq decodes.
    std::string blob(int col) const {
        if (PQgetisnull(res_, row_, col)) return {};
        std::size_t n = 0;
        unsigned char* p =
            PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(res_, row_, col)), &n);
        if (!p) throw core::internal("PostgreSQL: cannot decode a BYTEA value (out of memory)");
        std::string out(reinterpret_cast<const char*>(p), n);
        PQfreemem(p);
        return out;
    }

 private:
    template <class T>
    void add(const T& v) {
        formats_.push_back(std::is_same_v<T, sql::Blob> ? 1 : 0);  // bytes go as a binary parameter
        if constexpr (std::is_same_v<T, sql::Blob>) {
            values_.emplace_back(v.bytes);
        } else if constexpr (std::is_same_v<T, bool>) {
            values_.emplace_back(v ? "1" : "0");
        } else if constexpr (std::is_integral_v<T>) {
            values_.push_back(std::to_string(v));
        } else if constexpr (std::is_floating_point_v<T>) {
            char buf[64];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<double>(v));  // round-trips
            values_.emplace_back(buf, end);
        } else {
            values_.emplace_back(std::string_view(v));
        }
    }
    void execute() {
        std::vector<const char*> params;
        std::vector<int> lengths;
        params.reserve(values_.size());
        lengths.reserve(values_.size());
        for (const auto& v : values_) {
            params.push_back(v.c_str());
            lengths.push_back(static_cast<int>(v.size()));
        }
        PGresult* res = PQexecPrepared(conn_, name_.c_str(), static_cast<int>(params.size()), params.data(),
                                       lengths.data(), formats_.data(), 0);
        auto status = PQresultStatus(res);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) raise(conn_, res, "running a statement");
        res_ = res;
    }

    PGconn* conn_;
    std::string name_;
    std::vector<std::string> values_;
    std::vector<int> formats_;  // per parameter: 0 text, 1 binary (sql::Blob)
    PGresult* res_ = nullptr;
    int row_ = -1;
};

// One PostgreSQL connection, used by one thread only; also the engine hooks of the SQL logic (sql_ops.hpp).
}  // namespace

// Named outside the anonymous namespace: the public header names it as SqlStore<detail::PgConnection>.
namespace detail {
struct PgConnection {
    using Stmt = PgStmt;
    using Error = PgError;
    static constexpr const char* kBegin = "BEGIN";  // READ COMMITTED; reads that decide writes lock rows
    static constexpr const char* kLike = "ILIKE";
    static constexpr const char* kForUpdate = " FOR UPDATE";
    static constexpr const char* kDialect = "postgresql";

    PGconn* conn = nullptr;
    std::unordered_map<std::string, std::string> statements;  // SQL as written -> prepared statement name
    int depth = 0;

    // PostgreSQL has row locks and many writers: nothing to hold around a transaction.
    struct WriterLock {};
    WriterLock lock_writer() { return {}; }

    PgConnection() = default;
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    ~PgConnection() { PQfinish(conn); }

    PgStmt query(const std::string& sql) {
        ensure_connected();
        auto it = statements.find(sql);
        if (it != statements.end()) return PgStmt(conn, it->second);
        std::string name = "np_" + std::to_string(statements.size() + 1);
        PGresult* res = PQprepare(conn, name.c_str(), to_pg_placeholders(sql).c_str(), 0, nullptr);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) raise(conn, res, "preparing `" + sql + "`");
        PQclear(res);
        statements.emplace(sql, name);
        return PgStmt(conn, std::move(name));
    }

    // Runs SQL text without parameters (several statements allowed).
    void exec(const std::string& sql) {
        ensure_connected();
        PGresult* res = PQexec(conn, sql.c_str());
        auto status = PQresultStatus(res);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) raise(conn, res, "executing SQL");
        PQclear(res);
    }
    void exec_quietly(const char* sql) noexcept { PQclear(PQexec(conn, sql)); }

    bool in_transaction() const { return PQtransactionStatus(conn) != PQTRANS_IDLE; }
    bool table_exists(const std::string& name) {
        auto stmt = query(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            " AND table_name = ?");
        stmt.bind(name);
        return stmt.next() && stmt.i64(0) > 0;
    }
    // Instances starting together against one database: the first migrates, the others wait for it
    // (a transaction-scoped advisory lock; the number is arbitrary but fixed for netpraxis).
    void lock_migrations() { exec("SELECT pg_advisory_xact_lock(7262330117)"); }
    // The oldest queued job, or the oldest running one whose lease expired. `FOR UPDATE SKIP LOCKED`:
    // concurrent claimers (other threads, other instances) each lock a different row instead of
    // queueing on the same one; a row changed meanwhile is re-checked, so it is never claimed twice.
    static std::string claim_job_sql(std::string_view cols) {
        return std::string(
                   "UPDATE jobs SET state = 'running', lease_owner = ?1, lease_expires = ?2::bigint + "
                   "?3::bigint,"
                   " attempt = attempt + 1,"
                   " started_at = CASE WHEN started_at = 0 THEN ?2::bigint ELSE started_at END"
                   " WHERE id = (SELECT q.id FROM jobs q"
                   "   WHERE (?4::text = '' OR q.kind = ?4::text) AND q.instance_id IN ('', ?6::text)"
                   "   AND ((q.state = 'queued' AND (?5::bigint = 0 OR q.owner_id = '' OR NOT EXISTS ("
                   "          SELECT 1 FROM jobs r WHERE r.state = 'running' AND r.kind = q.kind"
                   "          AND r.owner_id = q.owner_id AND r.lease_expires > ?2::bigint)))"
                   "        OR (q.state = 'running' AND q.lease_expires <= ?2::bigint))"
                   "   ORDER BY q.id LIMIT 1 FOR UPDATE OF q SKIP LOCKED)"
                   " RETURNING ") +
               std::string(cols);
    }

    // A connection lost between transactions is re-established (its prepared statements with it); one
    // lost inside a transaction fails that transaction.
    void ensure_connected() {
        if (PQstatus(conn) == CONNECTION_OK || depth > 0) return;
        PQreset(conn);
        statements.clear();
        if (PQstatus(conn) != CONNECTION_OK) raise(conn, nullptr, "reconnecting");
        log::warn("store.postgresql.reconnected");
    }
};
}  // namespace detail
using detail::PgConnection;

struct PgStore::Impl {
    PgOptions options;
    mutable std::mutex mutex;
    std::unordered_map<std::thread::id, std::unique_ptr<PgConnection>> connections;

    // The calling thread's connection, opened on first use.
    PgConnection& connection() {
        std::lock_guard lock(mutex);
        auto& slot = connections[std::this_thread::get_id()];
        if (!slot) slot = open();
        return *slot;
    }

    std::unique_ptr<PgConnection> open() const {
        auto c = std::make_unique<PgConnection>();
        // Defaults first: the URL's own parameters (expanded from dbname) override them.
        const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
        const char* values[] = {"10", "netpraxis", options.conninfo.c_str(), nullptr};
        c->conn = PQconnectdbParams(keys, values, 1);
        if (!c->conn || PQstatus(c->conn) != CONNECTION_OK) {
            std::string why = c->conn ? PQerrorMessage(c->conn) : "out of memory";
            while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
            throw core::unavailable("cannot connect to PostgreSQL at " + redacted_url(options.conninfo) +
                                    ": " + why);
        }
        PQsetNoticeProcessor(
            c->conn, [](void*, const char*) {}, nullptr);  // "already exists, skipping"
        return c;
    }
};

namespace {

// A connection of its own that LISTENs on one channel; the owner polls its socket.
class PgListener final : public Store::Listener {
 public:
    PgListener(std::unique_ptr<PgConnection> c, const std::string& channel) : c_(std::move(c)) {
        char* id = PQescapeIdentifier(c_->conn, channel.c_str(), channel.size());
        if (!id) raise(c_->conn, nullptr, "quoting the channel name");
        std::string sql = std::string("LISTEN ") + id;
        PQfreemem(id);
        c_->exec(sql);
        if (PQsetnonblocking(c_->conn, 1) != 0) raise(c_->conn, nullptr, "making the listener non-blocking");
    }
    int fd() const override { return PQsocket(c_->conn); }
    std::vector<std::string> drain() override {
        if (PQconsumeInput(c_->conn) == 0 || PQstatus(c_->conn) != CONNECTION_OK) {
            std::string why = PQerrorMessage(c_->conn);
            while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
            throw core::unavailable("the PostgreSQL notification connection was lost: " + why);
        }
        std::vector<std::string> out;
        while (PGnotify* n = PQnotifies(c_->conn)) {
            out.emplace_back(n->extra);
            PQfreemem(n);
        }
        return out;
    }

 private:
    std::unique_ptr<PgConnection> c_;
};

}  // namespace

void PgStore::notify(const std::string& channel, const std::string& payload) {
    auto& c = connection();
    auto stmt = c.query("SELECT pg_notify(?, ?)");
    stmt.bind(channel, payload);
    stmt.next();
}

std::unique_ptr<Store::Listener> PgStore::listen(const std::string& channel) {
    return std::make_unique<PgListener>(impl_->open(), channel);
}

PgStore::PgStore(PgOptions options) : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    if (impl_->options.conninfo.empty()) throw core::invalid("the PostgreSQL store needs a connection URL");
    impl_->connection();  // fail early
}

PgStore::~PgStore() = default;

template class SqlStore<detail::PgConnection>;

detail::PgConnection& PgStore::connection() {
    return impl_->connection();
}

std::size_t PgStore::connection_count() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->connections.size();
}

}  // namespace np::store
