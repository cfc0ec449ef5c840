// The instance registry of the Store (migration 0005, issue 13), on each engine: this unit build runs a
// SQLite file; tests/integration/store compiles it with NP_STORE_TEST_POSTGRESQL against a real PostgreSQL.
//  - migration 0005 on a store that already holds environments: rows kept, foreign keys still enforced,
//    observed_state takes 'degraded' and 'unavailable';
//  - instances register with a lease; a new local environment is placed on a live instance offering local
//    labs with room, least loaded first, or refused naming why each instance cannot take it;
//  - a job pinned to an instance is claimed by that instance only (also after its lease expired).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"

#ifdef NP_STORE_TEST_POSTGRESQL
#include "pg_server.hpp"
#endif

namespace np::store {
namespace {

namespace fs = std::filesystem;

#ifdef NP_STORE_TEST_POSTGRESQL
constexpr const char* kDialect = "postgresql";
#else
constexpr const char* kDialect = "sqlite";
#endif

class Instances : public ::testing::Test {
 protected:
    void SetUp() override {
#ifdef NP_STORE_TEST_POSTGRESQL
        conninfo_ = test::create_database();
#else
        dir_ = fs::temp_directory_path() / ("np-instances-test-" + core::random_hex(6));
        fs::create_directories(dir_);
#endif
    }
    void TearDown() override {
        store_.reset();
#ifdef NP_STORE_TEST_POSTGRESQL
        test::drop_database(conninfo_);
#else
        std::error_code ec;
        fs::remove_all(dir_, ec);
#endif
    }
    Store& open() {
#ifdef NP_STORE_TEST_POSTGRESQL
        store_ = std::make_unique<PgStore>(PgOptions{.conninfo = conninfo_});
#else
        store_ = std::make_unique<SqliteStore>(SqliteOptions{.path = (dir_ / "np.db").string()});
#endif
        return *store_;
    }
    Store& open_migrated() {
        open().migrate();
        return *store_;
    }
    // SQL beside the store; false with the engine's message when it refuses.
    bool raw(const std::string& sql, std::string* error = nullptr) {
#ifdef NP_STORE_TEST_POSTGRESQL
        return test::raw_exec(conninfo_, sql, error);
#else
        sqlite3* db = nullptr;
        sqlite3_open((dir_ / "np.db").c_str(), &db);
        sqlite3_busy_timeout(db, 5000);
        char* err = nullptr;
        int rc = sqlite3_exec(db, ("PRAGMA foreign_keys = ON;" + sql).c_str(), nullptr, nullptr, &err);
        if (error && err) *error = err;
        sqlite3_free(err);
        sqlite3_close(db);
        return rc == SQLITE_OK;
#endif
    }
    // An assignment (with its student, exercise and published version) to hang environments on.
    Assignment assignment(Store& s, const std::string& tag) {
        User u{core::new_id(), "student-" + tag, "local", "student", "", "", false, 1700000000, 1, false};
        s.create_user(u);
        Exercise e{core::new_id(), "ex-" + tag, "Ex", "t", 1700000000};
        s.create_exercise(e);
        ExerciseVersion v;
        v.exercise_id = e.id;
        v = s.add_version(v);
        s.publish_version(e.id, v.version, 1700000000);
        Assignment a;
        a.id = core::new_id();
        a.exercise_id = e.id;
        a.exercise_version_id = v.id;
        a.student_id = u.id;
        s.create_assignment(a);
        return a;
    }
    Environment environment(Store& s, const std::string& tag, const std::string& provider = "local") {
        Environment e;
        e.id = core::new_id();
        e.assignment_id = assignment(s, tag).id;
        e.provider = provider;
        s.create_environment(e);
        return *s.get_environment(e.id);
    }
    static Instance instance(const std::string& id, std::int64_t now,
                             std::vector<std::string> providers = {"local"}, int max_labs = 4) {
        Instance i;
        i.id = id;
        i.providers = std::move(providers);
        i.max_labs = max_labs;
        i.free_memory = 8LL << 30;
        i.memory_reserve = 1LL << 30;
        i.address = "http://" + id + ":8080";
        i.started_at = now - 100;
        i.heartbeat_at = now;
        i.lease_expires = now + 30;
        return i;
    }

    fs::path dir_;
    std::string conninfo_;
    std::unique_ptr<Store> store_;
};

// Expects `stmt` to throw core::Error with `code` and a message containing `text`.
template <class F>
void expect_error(F&& fn, core::Code code, const std::string& text) {
    try {
        fn();
        ADD_FAILURE() << "did not throw";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
    }
}

TEST_F(Instances, Migration0005KeepsEnvironmentsAndTheirForeignKeysAndWidensObservedState) {
    // The schema as migration 3 left it, with one environment in it.
    std::string schema =
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT "
        "NOT "
        "NULL);";
    for (const auto& m : embedded_migrations()) {
        if (m.version > 3) break;
        schema += sql_for_dialect(m.sql, kDialect);
        schema += ";INSERT INTO schema_migrations VALUES (" + std::to_string(m.version) + ", '" +
                  std::string(m.name) + "', 0);";
    }
    std::string error;
    ASSERT_TRUE(raw(schema, &error)) << error;
    ASSERT_TRUE(
        raw("INSERT INTO users (id, username, realm, role, created_at) VALUES ('u1', 's1', 'local', "
            "'student', 1);"
            "INSERT INTO exercises (id, slug, title, created_at) VALUES ('x1', 'x', 'X', 1);"
            "INSERT INTO exercise_versions (id, exercise_id, version, created_at) VALUES ('v1', 'x1', 1, 1);"
            "INSERT INTO assignments (id, exercise_id, exercise_version_id, student_id, created_at)"
            " VALUES ('a1', 'x1', 'v1', 'u1', 1);"
            "INSERT INTO environments (id, assignment_id, student_id, provider, desired_state,"
            " observed_state, provider_ids, last_error, created_at, updated_at) VALUES ('e1', 'a1', 'u1',"
            " 'local', 'running', 'running', '{\"lab\":\"npe1\"}', '', 5, 6)",
            &error))
        << error;

    auto& s = open();
    int pending = 0;
    for (const auto& m : embedded_migrations()) pending += m.version > 3 ? 1 : 0;
    ASSERT_EQ(s.migrate(), pending);
    auto e = s.get_environment("e1");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->observed_state, "running");
    EXPECT_EQ(e->provider_ids, R"({"lab":"npe1"})");
    EXPECT_EQ(e->created_at, 5);
    EXPECT_EQ(e->updated_at, 6);
    EXPECT_EQ(e->instance_id, "") << "made before instances were recorded: not placed";
    for (const char* state : {"degraded", "unavailable"}) {
        e->observed_state = state;
        s.update_environment(*e);
        EXPECT_EQ(s.get_environment("e1")->observed_state, state);
    }
    e->observed_state = "exploded";
    expect_error([&] { s.update_environment(*e); }, core::Code::invalid, "observed_state");
    // Still one environment per assignment, still tied to its assignment and student.
    EXPECT_FALSE(
        raw("INSERT INTO environments (id, assignment_id, student_id, provider, created_at, updated_at)"
            " VALUES ('e2', 'a1', 'u1', 'local', 1, 1)"));
    EXPECT_FALSE(
        raw("INSERT INTO environments (id, assignment_id, student_id, provider, created_at, updated_at)"
            " VALUES ('e3', 'nope', 'u1', 'local', 1, 1)"));
    expect_error([&] { s.delete_user("u1"); }, core::Code::conflict, "u1");
    EXPECT_FALSE(
        raw("INSERT INTO environments (id, assignment_id, student_id, provider, created_at, updated_at)"
            " VALUES ('e4', 'a1', 'u1', 'gns3', 1, 1)"));
    EXPECT_EQ(s.migrate(), 0);
}

TEST_F(Instances, RegisterRenewAndList) {
    auto& s = open_migrated();
    EXPECT_TRUE(s.list_instances().empty());
    auto a = instance("host-a:8080", 1000, {"local", "proxmox"});
    s.register_instance(a);
    a.heartbeat_at = 1010;
    a.lease_expires = 1040;
    a.free_memory = 4LL << 30;
    s.register_instance(a);  // the heartbeat: same row, refreshed
    auto all = s.list_instances();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].id, "host-a:8080");
    EXPECT_EQ(all[0].providers, (std::vector<std::string>{"local", "proxmox"}));
    EXPECT_EQ(all[0].lease_expires, 1040);
    EXPECT_EQ(all[0].free_memory, 4LL << 30);
    EXPECT_EQ(all[0].address, "http://host-a:8080:8080");
    EXPECT_EQ(all[0].labs, 0);
    EXPECT_FALSE(s.get_instance("nobody"));
    auto bad = instance("", 1000);
    expect_error([&] { s.register_instance(bad); }, core::Code::invalid, "instance_id");
    bad = instance("host-b", 1000, {"lo,cal"});
    expect_error([&] { s.register_instance(bad); }, core::Code::invalid, "comma");
}

TEST_F(Instances, LocalEnvironmentsArePlacedOnALiveInstanceWithRoom) {
    auto& s = open_migrated();
    const auto now = core::unix_now();
    // No instance registered (a store used without `serve`): not placed, as before.
    EXPECT_EQ(environment(s, "unplaced").instance_id, "");

    s.register_instance(instance("a", now));
    s.register_instance(instance("b", now));
    s.register_instance(instance("proxmox-only", now, {"proxmox"}));
    auto gone = instance("gone", now - 500);
    s.register_instance(gone);
    auto low = instance("low-memory", now);
    low.free_memory = 100 << 20;
    s.register_instance(low);

    // Spread over a and b (the whole class placed before any lab starts); never the others.
    std::map<std::string, int> count;
    for (int i = 0; i < 6; ++i) ++count[environment(s, "p" + std::to_string(i)).instance_id];
    EXPECT_EQ(count, (std::map<std::string, int>{{"a", 3}, {"b", 3}}));
    // Proxmox labs are reached from any instance: not placed.
    EXPECT_EQ(environment(s, "pve", "proxmox").instance_id, "");

    // Labs running (or wanted) count against lab.max_labs.
    for (const auto& e : s.environments_of_instance("a")) {
        auto row = e;
        row.desired_state = "running";
        s.update_environment(row);
    }
    EXPECT_EQ(s.get_instance("a")->labs, 3);
    EXPECT_EQ(s.get_instance("a")->placed, 3);
    auto full = instance("a", now, {"local"}, 3);
    s.register_instance(full);
    EXPECT_EQ(environment(s, "next").instance_id, "b");
    s.register_instance(instance("b", now, {"local"}, 0));
    auto a = assignment(s, "refused");
    Environment refused{.id = core::new_id(), .assignment_id = a.id, .provider = "local"};
    try {
        s.create_environment(refused);
        ADD_FAILURE() << "placed with no room anywhere";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::conflict);
        std::string why = e.what();
        for (const char* part :
             {"a: lab.max_labs (3) reached", "b: lab.max_labs (0) reached",
              "proxmox-only: offers no local labs", "gone: gone since", "low-memory: free memory"})
            EXPECT_NE(why.find(part), std::string::npos) << part << " in " << why;
    }
    EXPECT_FALSE(s.environment_for_assignment(a.id)) << "nothing stored half-way";

    // An environment made before placement existed is adopted once; the first adopter keeps it.
    auto legacy = s.environments_of_instance("");
    ASSERT_FALSE(legacy.empty());
    EXPECT_EQ(s.adopt_environment(legacy[0].id, "a"), "a");
    EXPECT_EQ(s.adopt_environment(legacy[0].id, "b"), "a");
    EXPECT_EQ(s.get_environment(legacy[0].id)->instance_id, "a");
}

TEST_F(Instances, APinnedJobIsClaimedByItsInstanceOnly) {
    auto& s = open_migrated();
    Job pinned;
    pinned.id = core::new_id();
    pinned.kind = "environment.reconcile";
    pinned.instance_id = "a";
    s.create_job(pinned);
    Job any = pinned;
    any.id = core::new_id();
    any.instance_id = "";
    s.create_job(any);

    EXPECT_EQ(s.get_job(pinned.id)->instance_id, "a");
    auto other = s.claim_job("b", 1000, 30, ClaimFilter{"", false, "b"});
    ASSERT_TRUE(other);
    EXPECT_EQ(other->id, any.id) << "b takes the unpinned job and passes over a's";
    EXPECT_FALSE(s.claim_job("b", 1000, 30, ClaimFilter{"", false, "b"}));
    EXPECT_FALSE(s.claim_job("anon", 1000, 30)) << "no instance named: no pinned job";
    ASSERT_EQ(s.unfinished_jobs_of_instance("a").size(), 1u);

    auto mine = s.claim_job("a", 1000, 30, ClaimFilter{"environment.reconcile", false, "a"});
    ASSERT_TRUE(mine);
    EXPECT_EQ(mine->id, pinned.id);
    s.finish_job(any.id, "succeeded", "{}", "", 1001);
    // Its lease expires (a crashed): still only a takes it over, once back.
    EXPECT_FALSE(s.claim_job("b", 2000, 30, ClaimFilter{"", false, "b"}));
    auto again = s.claim_job("a", 2000, 30, ClaimFilter{"", false, "a"});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->id, pinned.id);
    EXPECT_EQ(again->attempt, 2);
    s.finish_job(pinned.id, "failed", "{}", "gone", 2001);
    EXPECT_TRUE(s.unfinished_jobs_of_instance("a").empty());
}

TEST_F(Instances, ObservedStateIsSetOnlyFromTheStateItWasReadIn) {
    auto& s = open_migrated();
    auto e = environment(s, "cas");
    EXPECT_TRUE(s.set_observed_state(e.id, "absent", "unavailable", "instance 'a' gone", 1900000000));
    EXPECT_FALSE(s.set_observed_state(e.id, "absent", "running", "", 1900000001)) << "it moved on meanwhile";
    auto got = s.get_environment(e.id);
    EXPECT_EQ(got->observed_state, "unavailable");
    EXPECT_EQ(got->last_error, "instance 'a' gone");
    EXPECT_EQ(got->updated_at, 1900000000);
    EXPECT_TRUE(s.set_observed_state(e.id, "unavailable", "running", "", 1900000002));
    EXPECT_EQ(s.get_environment(e.id)->observed_state, "running");
}

}  // namespace
}  // namespace np::store
