// store::PgStore: the Store on PostgreSQL (libpq), for several instances and large classes (DESIGN.md
// "Persistence"). Same schema and logic as the SQLite store (sql_ops.hpp); one connection per calling
// thread, statements prepared once per connection, READ COMMITTED transactions with row locks where a
// read decides a write, and claim_job with `FOR UPDATE SKIP LOCKED`. No libpq types in this header.
#pragma once

#include <memory>
#include <string>

#include "store/sql_store.hpp"

namespace np::store {

struct PgOptions {
    std::string conninfo;  // a libpq URI ("postgresql://user:pw@host:5432/db") or key=value string
};

namespace detail {
struct PgConnection;  // defined in pg_store.cpp
}  // namespace detail

class PgStore final : public SqlStore<detail::PgConnection> {
 public:
    // Connects (throws core::Error(unavailable) naming the server when it cannot). Does not migrate.
    explicit PgStore(PgOptions options);
    ~PgStore() override;
    PgStore(const PgStore&) = delete;
    PgStore& operator=(const PgStore&) = delete;

    std::size_t connection_count() const;

    void notify(const std::string& channel, const std::string& payload) override;
    std::unique_ptr<Listener> listen(const std::string& channel) override;

    struct Impl;

 private:
    detail::PgConnection& connection() override;
    std::unique_ptr<Impl> impl_;
};

}  // namespace np::store
