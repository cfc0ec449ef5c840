// SqlStore<Conn>: jobs (queue, leases, progress) (store.hpp documents each method), written once over the
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
void SqlStore<Conn>::create_job(const Job& j) {
    auto& c = connection();
    sql::require_id(j.id, "job");
    try {
        sql::run_transaction(c, [&] {
            c.query(std::string("INSERT INTO jobs (") + sql::kJobCols +
                    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(j.id, j.kind, sql::or_default(j.params, "{}"), j.state, j.progress_done,
                      j.progress_total, j.message, j.owner_id, j.attempt, j.lease_owner, j.lease_expires,
                      sql::or_default(j.result, "{}"), j.error, j.subject_type, j.subject_id,
                      sql::or_now(j.created_at), j.started_at, j.finished_at, j.instance_id)
                .run();
        });
    } catch (const typename Conn::Error& e) {
        if (e.is_primary_key()) throw core::conflict("a job with id '" + j.id + "' already exists");
        throw;
    }
}

template <class Conn>
std::optional<Job> SqlStore<Conn>::get_job(const std::string& id) {
    auto& c = connection();
    auto stmt = c.query(std::string("SELECT ") + sql::kJobCols + " FROM jobs WHERE id = ?");
    stmt.bind(id);
    if (!stmt.next()) return std::nullopt;
    return sql::read_job(stmt);
}

template <class Conn>
PageResult<Job> SqlStore<Conn>::list_jobs(const JobFilter& filter, const Page& page) {
    auto& c = connection();
    sql::Where w;
    if (!filter.state.empty()) w.add("state = ?", filter.state);
    if (!filter.kind.empty()) w.add("kind = ?", filter.kind);
    if (!filter.owner_id.empty()) w.add("owner_id = ?", filter.owner_id);
    if (!filter.subject_id.empty()) w.add("subject_id = ?", filter.subject_id);
    return sql::page_query<Job>(c, std::string("SELECT ") + sql::kJobCols + " FROM jobs", "id", std::move(w),
                                page.after, !page.after.empty(), page, sql::read_job<typename Conn::Stmt>);
}

template <class Conn>
std::optional<Job> SqlStore<Conn>::claim_job(const std::string& lease_owner, std::int64_t now,
                                             int lease_seconds, const ClaimFilter& filter) {
    auto& c = connection();
    if (lease_owner.empty()) throw core::invalid("claim_job needs a lease owner");
    if (lease_seconds <= 0) throw core::invalid("claim_job needs a positive lease duration");
    // One UPDATE ... RETURNING whose row choice is atomic in each engine (Conn::claim_job_sql): two
    // claimers never get one job.
    return sql::run_transaction(c, [&]() -> std::optional<Job> {
        auto stmt = c.query(Conn::claim_job_sql(sql::kJobCols));
        stmt.bind(lease_owner, now, std::int64_t{lease_seconds}, filter.kind,
                  std::int64_t{filter.one_per_owner ? 1 : 0}, filter.instance_id);
        std::optional<Job> job;
        if (stmt.next()) job = sql::read_job(stmt);
        while (stmt.next()) {
        }
        return job;
    });
}

template <class Conn>
bool SqlStore<Conn>::update_job_progress(const std::string& id, const std::string& lease_owner,
                                         std::int64_t done, std::int64_t total, const std::string& message,
                                         std::int64_t lease_expires) {
    auto& c = connection();
    return sql::run_transaction(c, [&] {
        return c.query(
                    "UPDATE jobs SET progress_done = ?, progress_total = ?, message = ?, lease_expires = "
                    "?"
                    " WHERE id = ? AND lease_owner = ? AND state = 'running'")
                   .bind(done, total, message, lease_expires, id, lease_owner)
                   .run() > 0;
    });
}

template <class Conn>
void SqlStore<Conn>::finish_job(const std::string& id, const std::string& state, const std::string& result,
                                const std::string& error, std::int64_t now) {
    auto& c = connection();
    auto final_state = parse<JobState>(state);
    if (!final_state || *final_state == JobState::queued || *final_state == JobState::running) {
        throw core::invalid("a job finishes as succeeded, failed or cancelled, not '" + state + "'");
    }
    sql::run_transaction(c, [&] {
        int changed =
            c.query(
                 "UPDATE jobs SET state = ?, result = ?, error = ?, finished_at = ?, lease_expires = 0"
                 " WHERE id = ? AND state IN ('queued', 'running')")
                .bind(state, sql::or_default(result, "{}"), error, sql::or_now(now), id)
                .run();
        if (changed > 0) return;
        auto stmt = c.query("SELECT state FROM jobs WHERE id = ?");
        stmt.bind(id);
        if (!stmt.next()) throw core::not_found("no job with id '" + id + "'");
        throw core::conflict("job '" + id + "' has already finished (" + stmt.text(0) + ")");
    });
}

template <class Conn>
bool SqlStore<Conn>::cancel_job(const std::string& id, std::int64_t now) {
    auto& c = connection();
    return sql::run_transaction(c, [&] {
        int changed = c.query(
                           "UPDATE jobs SET state = 'cancelled', finished_at = ?, lease_expires = 0"
                           " WHERE id = ? AND state IN ('queued', 'running')")
                          .bind(sql::or_now(now), id)
                          .run();
        if (changed > 0) return true;
        auto stmt = c.query("SELECT 1 FROM jobs WHERE id = ?");
        stmt.bind(id);
        if (!stmt.next()) throw core::not_found("no job with id '" + id + "'");
        return false;
    });
}

template <class Conn>
std::vector<std::pair<std::string, std::int64_t>> SqlStore<Conn>::count_jobs_by_state() {
    auto& c = connection();
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

}  // namespace np::store
