// store::SqliteStore: the embedded Store (DESIGN.md "Persistence"): one SQLite file in WAL mode, foreign
// keys on, a busy timeout, one connection per calling thread (so worker-pool threads never share one),
// prepared statements cached per connection. Every write runs in a `BEGIN IMMEDIATE` transaction (or a
// savepoint inside the caller's transaction), so writers queue on the busy timeout instead of failing
// on a stale WAL snapshot. No SQLite types in this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "store/sql_store.hpp"

namespace np::store {

struct SqliteOptions {
    std::string
        path;  // a file path, or ":memory:" for a private throwaway database (a temporary file, tests)
    std::chrono::milliseconds busy_timeout{5000};
};

namespace detail {
struct SqliteConnection;  // defined in sqlite_store.cpp
}  // namespace detail

class SqliteStore final : public SqlStore<detail::SqliteConnection> {
 public:
    // Opens (creating the file and its parent folder when missing). Does not migrate: call migrate().
    explicit SqliteStore(SqliteOptions options);
    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    // How many connections are open (one per thread that used the store); for tests and /metrics.
    std::size_t connection_count() const;

    struct Impl;

 private:
    detail::SqliteConnection& connection() override;
    std::unique_ptr<Impl> impl_;
};

}  // namespace np::store
