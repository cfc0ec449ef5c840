// Engine-generic logic of the instance registry (internal to src/store, issue 13): instances sharing the
// store, where a local environment lives, and what is pinned to an instance. Written once over the
// connection type C of sql_ops.hpp.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/sql_ops.hpp"
#include "store/store.hpp"

namespace np::store::sql {

// The provider whose labs live on a host (store::lives_on_one_host).
inline constexpr const char* kHostBoundProvider = "local";

inline std::string join_providers(const std::vector<std::string>& providers) {
    std::string out;
    for (const auto& p : providers) {
        if (p.empty() || p.find(',') != std::string::npos)
            throw core::invalid("instance provider name '" + p + "' is empty or has a comma");
        out += (out.empty() ? "" : ",") + p;
    }
    return out;
}

inline std::vector<std::string> split_providers(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        auto comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        if (comma > start) out.push_back(text.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

// Why `i` cannot take a new local lab at `now`; empty when it can.
inline std::string why_no_room(const Instance& i, std::int64_t now) {
    if (i.lease_expires <= now) return "gone since " + core::rfc3339(i.heartbeat_at);
    if (std::find(i.providers.begin(), i.providers.end(), kHostBoundProvider) == i.providers.end())
        return "offers no local labs";
    if (i.labs >= i.max_labs) return "lab.max_labs (" + std::to_string(i.max_labs) + ") reached";
    if (i.free_memory < i.memory_reserve)
        return "free memory " + std::to_string(i.free_memory >> 20) + " MiB below its reserve " +
               std::to_string(i.memory_reserve >> 20) + " MiB";
    return "";
}

constexpr const char* kInstanceSelect =
    "SELECT i.id, i.providers, i.max_labs, i.free_memory, i.memory_reserve, i.address, i.started_at,"
    " i.heartbeat_at, i.lease_expires,"
    " (SELECT COUNT(*) FROM environments e WHERE e.instance_id = i.id"
    "  AND (e.desired_state <> 'absent' OR e.observed_state <> 'absent')),"
    " (SELECT COUNT(*) FROM environments e WHERE e.instance_id = i.id) FROM instances i";

template <class S>
Instance read_instance(const S& s) {
    Instance i;
    i.id = s.text(0);
    i.providers = split_providers(s.text(1));
    i.max_labs = s.i32(2);
    i.free_memory = s.i64(3);
    i.memory_reserve = s.i64(4);
    i.address = s.text(5);
    i.started_at = s.i64(6);
    i.heartbeat_at = s.i64(7);
    i.lease_expires = s.i64(8);
    i.labs = s.i32(9);
    i.placed = s.i32(10);
    return i;
}

template <class C>
class InstanceOps {
 public:
    explicit InstanceOps(C& connection) : c(connection) {}

    void register_instance(const Instance& i) {
        if (i.id.empty()) throw core::invalid("an instance needs an id (server.instance_id)");
        const auto providers = join_providers(i.providers);
        run_transaction(c, [&] {
            c.query(
                 "INSERT INTO instances (id, providers, max_labs, free_memory, memory_reserve, address,"
                 " started_at, heartbeat_at, lease_expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                 " ON CONFLICT (id) DO UPDATE SET providers = excluded.providers,"
                 " max_labs = excluded.max_labs, free_memory = excluded.free_memory,"
                 " memory_reserve = excluded.memory_reserve, address = excluded.address,"
                 " started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,"
                 " lease_expires = excluded.lease_expires")
                .bind(i.id, providers, std::max(i.max_labs, 0), i.free_memory, i.memory_reserve, i.address,
                      or_now(i.started_at), or_now(i.heartbeat_at), i.lease_expires)
                .run();
        });
    }

    std::optional<Instance> get_instance(const std::string& id) {
        auto stmt = c.query(std::string(kInstanceSelect) + " WHERE i.id = ?");
        stmt.bind(id);
        if (!stmt.next()) return std::nullopt;
        return read_instance(stmt);
    }

    std::vector<Instance> list_instances() {
        std::vector<Instance> out;
        auto stmt = c.query(std::string(kInstanceSelect) + " ORDER BY i.id");
        while (stmt.next()) out.push_back(read_instance(stmt));
        return out;
    }

    std::string place_environment(const std::string& provider, std::int64_t now) {
        if (!lives_on_one_host(provider)) return "";
        auto all = list_instances();
        if (all.empty()) return "";
        std::vector<const Instance*> fit;
        std::string reasons;
        for (const auto& i : all) {
            auto why = why_no_room(i, now);
            if (why.empty()) {
                fit.push_back(&i);
            } else {
                reasons += (reasons.empty() ? "" : "; ") + i.id + ": " + why;
            }
        }
        if (fit.empty())
            throw core::conflict("no netpraxis instance can take a new local lab now (" + reasons + ")");
        // Spread in proportion to capacity (a whole class is placed before any lab starts), then the host
        // with the most free memory.
        auto load = [](const Instance* i) { return static_cast<double>(i->placed) / i->max_labs; };
        auto best = *std::min_element(fit.begin(), fit.end(), [&](const Instance* a, const Instance* b) {
            if (load(a) != load(b)) return load(a) < load(b);
            if (a->free_memory != b->free_memory) return a->free_memory > b->free_memory;
            return a->id < b->id;
        });
        return best->id;
    }

    std::string adopt_environment(const std::string& environment_id, const std::string& instance_id) {
        return run_transaction(c, [&] {
            c.query("UPDATE environments SET instance_id = ? WHERE id = ? AND instance_id = ''")
                .bind(instance_id, environment_id)
                .run();
            auto stmt = c.query("SELECT instance_id FROM environments WHERE id = ?");
            stmt.bind(environment_id);
            if (!stmt.next()) throw core::not_found("no environment with id '" + environment_id + "'");
            return stmt.text(0);
        });
    }

    std::vector<Environment> environments_of_instance(const std::string& instance_id) {
        std::vector<Environment> out;
        auto stmt = c.query(std::string("SELECT ") + kEnvironmentCols +
                            " FROM environments e WHERE e.instance_id = ? ORDER BY e.id");
        stmt.bind(instance_id);
        while (stmt.next()) out.push_back(read_environment(stmt));
        return out;
    }

    std::vector<Job> unfinished_jobs_of_instance(const std::string& instance_id) {
        std::vector<Job> out;
        auto stmt =
            c.query(std::string("SELECT ") + kJobCols +
                    " FROM jobs WHERE instance_id = ? AND state IN ('queued', 'running') ORDER BY id");
        stmt.bind(instance_id);
        while (stmt.next()) out.push_back(read_job(stmt));
        return out;
    }

    bool set_observed_state(const std::string& environment_id, const std::string& from, const std::string& to,
                            const std::string& error, std::int64_t now) {
        return run_transaction(c, [&] {
            return c.query(
                        "UPDATE environments SET observed_state = ?, last_error = ?, updated_at = ?"
                        " WHERE id = ? AND observed_state = ?")
                       .bind(to, error, or_now(now), environment_id, from)
                       .run() > 0;
        });
    }

 private:
    C& c;
};

}  // namespace np::store::sql
