// The Store contract: every method's happy path, conflicts, not_found, pagination, transactions and
// concurrency, run against each engine. This unit build runs the SQLite store (a ":memory:" store and a
// WAL file); tests/integration/store compiles this same file with NP_STORE_TEST_POSTGRESQL to run it
// against a real PostgreSQL server that its fixture starts.
#include "store/store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/migrations.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/states.hpp"

#ifdef NP_STORE_TEST_POSTGRESQL
#include "pg_server.hpp"
#endif

namespace np::store {
namespace {

namespace fs = std::filesystem;

// Expects `stmt` to throw core::Error with `code` and a message containing `text`.
#define EXPECT_STORE_ERROR(stmt, error_code, text)                                    \
    do {                                                                              \
        try {                                                                         \
            stmt;                                                                     \
            ADD_FAILURE() << #stmt " did not throw";                                  \
        } catch (const core::Error& store_error_) {                                   \
            EXPECT_EQ(store_error_.code(), error_code) << store_error_.what();        \
            EXPECT_NE(std::string(store_error_.what()).find(text), std::string::npos) \
                << store_error_.what();                                               \
        }                                                                             \
    } while (0)

class TempDir {
 public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "np-store-test-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

 private:
    fs::path path_;
};

// Raw SQLite access to a store file, for what the interface deliberately cannot do (tamper with rows).
int raw_exec(const fs::path& file, const std::string& sql, std::string* error = nullptr) {
    sqlite3* db = nullptr;
    sqlite3_open(file.c_str(), &db);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    if (error && err) *error = err;
    sqlite3_free(err);
    sqlite3_close(db);
    return rc;
}

enum class Kind { memory, file, postgresql };

class StoreContract : public ::testing::TestWithParam<Kind> {
 protected:
    void SetUp() override {
#ifdef NP_STORE_TEST_POSTGRESQL
        if (GetParam() == Kind::postgresql) conninfo_ = test::create_database();
#endif
        store_ = open();
        ASSERT_EQ(store_->migrate(), static_cast<int>(embedded_migrations().size()));
    }
    void TearDown() override {
        store_.reset();
#ifdef NP_STORE_TEST_POSTGRESQL
        if (!conninfo_.empty()) test::drop_database(conninfo_);
#endif
    }
    std::unique_ptr<Store> open() {
        switch (GetParam()) {
            case Kind::memory: return std::make_unique<SqliteStore>(SqliteOptions{.path = ":memory:"});
            case Kind::file: return std::make_unique<SqliteStore>(SqliteOptions{.path = db_file().string()});
            case Kind::postgresql: return std::make_unique<PgStore>(PgOptions{.conninfo = conninfo_});
        }
        return nullptr;
    }
    // Runs SQL beside the store (what the interface deliberately cannot do); false with `error` when the
    // engine refuses. Not available for ":memory:" stores.
    bool raw_sql(const std::string& sql, std::string* error = nullptr) {
#ifdef NP_STORE_TEST_POSTGRESQL
        if (GetParam() == Kind::postgresql) return test::raw_exec(conninfo_, sql, error);
#endif
        return raw_exec(db_file(), sql, error) == SQLITE_OK;
    }
    std::size_t connection_count() const {
        if (auto* s = dynamic_cast<SqliteStore*>(store_.get())) return s->connection_count();
        if (auto* p = dynamic_cast<PgStore*>(store_.get())) return p->connection_count();
        return 0;
    }
    fs::path db_file() const {
        return dir_.path() / "sub" / "netpraxis.db";
    }

    User user(const std::string& name, const std::string& role = "student",
              const std::string& realm = "local") {
        User u;
        u.id = core::new_id();
        u.username = name;
        u.realm = realm;
        u.role = role;
        u.display_name = "Name of " + name;
        u.password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
        u.created_at = 1700000000;
        return u;
    }
    User add_user(const std::string& name, const std::string& role = "student") {
        auto u = user(name, role);
        store_->create_user(u);
        return u;
    }
    Exercise add_exercise(const std::string& slug) {
        Exercise e;
        e.id = core::new_id();
        e.slug = slug;
        e.title = "Title " + slug;
        e.created_by = "teacher-1";
        e.created_at = 1700000100;
        store_->create_exercise(e);
        return e;
    }
    ExerciseVersion add_version(const std::string& exercise_id, const std::string& spec = "checks: []") {
        ExerciseVersion v;
        v.exercise_id = exercise_id;
        v.instructions = "# Configure OSPF";
        v.spec = spec;
        v.topology = "nodes: {}";
        return store_->add_version(v);
    }
    Assignment add_assignment(const Exercise& e, const ExerciseVersion& v, const User& student) {
        Assignment a;
        a.id = core::new_id();
        a.exercise_id = e.id;
        a.exercise_version_id = v.id;
        a.student_id = student.id;
        a.created_by = "teacher-1";
        a.deadline = 1800000000;
        a.max_attempts = 3;
        a.cooldown_seconds = 60;
        a.score_policy = "best";
        store_->create_assignment(a);
        return a;
    }
    // An assignment with its exercise, published version and student, for the tests that need one.
    Assignment setup_assignment(const std::string& tag) {
        auto e = add_exercise("ex-" + tag);
        auto v = add_version(e.id);
        store_->publish_version(e.id, v.version, 1700000200);
        auto s = add_user("student-" + tag);
        return add_assignment(e, v, s);
    }
    Job job(const std::string& kind = "env.create") {
        Job j;
        j.id = core::new_id();
        j.kind = kind;
        j.params = R"({"environment":"e1"})";
        j.owner_id = "teacher-1";
        j.created_at = 1700000000;
        return j;
    }

    TempDir dir_;
    std::string conninfo_;
    std::unique_ptr<Store> store_;
};

#ifndef NP_STORE_TEST_POSTGRESQL
// ---------------------------------------------------------------- ids

// Keyset pagination and "oldest job first" rely on ids sorting in creation order, also within one
// millisecond and across threads.
TEST(StoreIds, NewIdsAreStrictlyIncreasing) {
    std::vector<std::string> ids(20000);
    for (auto& id : ids) id = core::new_id();
    for (std::size_t i = 1; i < ids.size(); ++i) {
        ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
        ASSERT_EQ(ids[i].size(), 20u);
    }
    std::vector<std::vector<std::string>> per_thread(4);
    std::vector<std::thread> threads;
    for (auto& out : per_thread) {
        threads.emplace_back([&out] {
            for (int i = 0; i < 5000; ++i) out.push_back(core::new_id());
        });
    }
    for (auto& t : threads) t.join();
    std::set<std::string> all;
    for (auto& out : per_thread) {
        EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
        all.insert(out.begin(), out.end());
    }
    EXPECT_EQ(all.size(), 20000u);
}

// ---------------------------------------------------------------- migrations

TEST_P(StoreContract, MigratesFromEmptyAndReRunsAsNoOp) {
    const int latest = embedded_migrations().back().version;
    EXPECT_EQ(store_->schema_version(), latest);
    EXPECT_EQ(store_->migrate(), 0);
    EXPECT_EQ(store_->schema_version(), latest);
    EXPECT_TRUE(store_->ping());
}

TEST(SqliteStoreFile, EmptyFileStartsAtVersionZeroAndKeepsItsSchemaAcrossOpens) {
    TempDir dir;
    auto file = dir.path() / "a" / "b" / "np.db";  // parent folders are created
    {
        SqliteStore store(SqliteOptions{.path = file.string()});
        EXPECT_EQ(store.schema_version(), 0);
        EXPECT_GE(store.migrate(), 1);
        store.create_exercise(
            Exercise{.id = core::new_id(), .slug = "ospf", .title = "OSPF", .created_at = 1});
    }
    ASSERT_TRUE(fs::exists(file));
    SqliteStore again(SqliteOptions{.path = file.string()});
    EXPECT_EQ(again.schema_version(), embedded_migrations().back().version);
    EXPECT_EQ(again.migrate(), 0);
    ASSERT_TRUE(again.get_exercise("ospf").has_value());

    // WAL mode and foreign keys are on.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(SqliteStoreFile, OpenStoreParsesUrls) {
    TempDir dir;
    auto file = dir.path() / "x" / "np.db";
    auto store = open_store("sqlite:" + file.string());
    EXPECT_EQ(store->migrate(), static_cast<int>(embedded_migrations().size()));
    EXPECT_TRUE(fs::exists(file));
    auto bare = open_store((dir.path() / "bare.db").string());
    EXPECT_TRUE(bare->ping());
    auto memory = open_store(":memory:");
    EXPECT_EQ(memory->schema_version(), 0);
    // nothing listens on port 1: the PostgreSQL store is chosen, and its error names the server
    EXPECT_STORE_ERROR(open_store("postgresql://np:pw@127.0.0.1:1/np"), core::Code::unavailable,
                       "cannot connect to PostgreSQL at postgresql://np:***@127.0.0.1:1/np");
    EXPECT_STORE_ERROR(open_store("mysql://x/y"), core::Code::invalid, "unknown scheme");
    EXPECT_STORE_ERROR(open_store("sqlite:"), core::Code::invalid, "names no database");
}

TEST(SqliteStoreMemory, EachMemoryStoreIsPrivateAndLeavesNoFile) {
    // A temp folder of this test's own (CTest runs each test in its own process): other tests running at the
    // same time make and remove memory stores in the shared one, which made this count race.
    auto own_tmp = fs::temp_directory_path() / ("np-memstore-test-" + std::to_string(getpid()));
    fs::create_directories(own_tmp);
    const char* old_tmpdir = std::getenv("TMPDIR");
    std::string saved = old_tmpdir ? old_tmpdir : "";
    setenv("TMPDIR", own_tmp.c_str(), 1);
    auto count_temp_stores = [] {
        int n = 0;
        for (auto& entry : fs::directory_iterator(fs::temp_directory_path())) {
            if (entry.path().filename().string().starts_with("netpraxis-store-")) ++n;
        }
        return n;
    };
    const int before = count_temp_stores();
    {
        SqliteStore a(SqliteOptions{.path = ":memory:"});
        SqliteStore b(SqliteOptions{.path = ":memory:"});
        a.migrate();
        EXPECT_EQ(b.schema_version(), 0);
        EXPECT_GT(count_temp_stores(), before);
    }
    EXPECT_EQ(count_temp_stores(), before);
    if (old_tmpdir)
        setenv("TMPDIR", saved.c_str(), 1);
    else
        unsetenv("TMPDIR");
    fs::remove_all(own_tmp);
}

#endif  // NP_STORE_TEST_POSTGRESQL

TEST_P(StoreContract, RefusesASchemaNewerThanTheBinary) {
    if (GetParam() == Kind::memory) GTEST_SKIP() << "needs raw SQL access (the file variant runs it)";
    ASSERT_TRUE(raw_sql("INSERT INTO schema_migrations VALUES (9999, 'future', 0)"));
    EXPECT_STORE_ERROR(store_->migrate(), core::Code::unavailable, "9999");
}

// ---------------------------------------------------------------- settings

TEST_P(StoreContract, SettingsFirstWriterWins) {
    EXPECT_FALSE(store_->get_setting("auth.jwt_secret").has_value());
    EXPECT_EQ(store_->put_setting_if_absent("auth.jwt_secret", "first"), "first");
    EXPECT_EQ(store_->put_setting_if_absent("auth.jwt_secret", "second"), "first");
    EXPECT_EQ(store_->get_setting("auth.jwt_secret").value_or(""), "first");
}

// ---------------------------------------------------------------- users

TEST_P(StoreContract, UserLifecycle) {
    EXPECT_EQ(store_->count_users(), 0);
    auto u = user("alice", "teacher");
    u.must_change_password = true;
    store_->create_user(u);
    EXPECT_EQ(store_->count_users(), 1);

    auto got = store_->get_user(u.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->username, "alice");
    EXPECT_EQ(got->realm, "local");
    EXPECT_EQ(got->role, "teacher");
    EXPECT_EQ(got->display_name, "Name of alice");
    EXPECT_EQ(got->password_hash, u.password_hash);
    EXPECT_TRUE(got->must_change_password);
    EXPECT_EQ(got->created_at, 1700000000);

    auto found = store_->find_user("alice", "local");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->id, u.id);
    EXPECT_FALSE(store_->find_user("alice", "ldap"));
    EXPECT_FALSE(store_->get_user("nope"));

    u.display_name = "Alice Liddell";
    u.must_change_password = false;
    u.password_hash = "$argon2id$new";
    store_->update_user(u);
    got = store_->get_user(u.id);
    EXPECT_EQ(got->display_name, "Alice Liddell");
    EXPECT_FALSE(got->must_change_password);
    EXPECT_EQ(got->password_hash, "$argon2id$new");

    store_->delete_user(u.id);
    EXPECT_FALSE(store_->get_user(u.id));
    EXPECT_EQ(store_->count_users(), 0);
}

TEST_P(StoreContract, UserConflictsAndMissingRows) {
    auto alice = add_user("alice");
    auto dup = user("alice");
    EXPECT_STORE_ERROR(store_->create_user(dup), core::Code::conflict,
                       "user 'alice' already exists in realm 'local'");
    // the same name in another realm is another user
    auto ldap_alice = user("alice", "student", "ldap-school");
    EXPECT_NO_THROW(store_->create_user(ldap_alice));

    auto same_id = user("bob");
    same_id.id = alice.id;
    EXPECT_STORE_ERROR(store_->create_user(same_id), core::Code::conflict, alice.id);

    auto bob = add_user("bob");
    bob.username = "alice";
    EXPECT_STORE_ERROR(store_->update_user(bob), core::Code::conflict, "'alice'");

    auto ghost = user("ghost");
    EXPECT_STORE_ERROR(store_->update_user(ghost), core::Code::not_found, ghost.id);
    EXPECT_STORE_ERROR(store_->delete_user(ghost.id), core::Code::not_found, ghost.id);

    auto bad = user("carol", "admin");
    EXPECT_STORE_ERROR(store_->create_user(bad), core::Code::invalid, "role");
    auto no_id = user("dave");
    no_id.id.clear();
    EXPECT_STORE_ERROR(store_->create_user(no_id), core::Code::invalid, "id is empty");
    EXPECT_EQ(store_->count_users(), 3);
}

TEST_P(StoreContract, UserListPagesWithFilters) {
    std::vector<std::string> teachers;
    for (int i = 0; i < 23; ++i) {
        auto u = add_user("user" + std::to_string(i), i % 3 == 0 ? "teacher" : "student");
        if (i % 3 == 0) teachers.push_back(u.id);
    }
    add_user("a_b");
    add_user("axb");

    // all teachers, 3 per page, in id order, each exactly once
    std::vector<std::string> seen;
    Page page{.limit = 3};
    int pages = 0;
    do {
        auto res = store_->list_users({.role = "teacher"}, page);
        ++pages;
        ASSERT_LE(res.items.size(), 3u);
        for (auto& u : res.items) {
            EXPECT_EQ(u.role, "teacher");
            seen.push_back(u.id);
        }
        if (!res.next.empty()) {
            EXPECT_EQ(res.next, res.items.back().id);
        }
        page.after = res.next;
    } while (!page.after.empty());
    EXPECT_EQ(seen, teachers);  // ids are time-ordered, creation order == id order
    EXPECT_EQ(pages, 3);        // 8 teachers: 3 + 3 + 2

    // an exact multiple of the limit ends with an empty `next`, not an empty extra page
    auto two = store_->list_users({.role = "teacher"}, {.limit = 8});
    EXPECT_EQ(two.items.size(), 8u);
    EXPECT_TRUE(two.next.empty());

    // search is a substring of username or display name; LIKE wildcards are literal
    auto res = store_->list_users({.search = "a_b"}, {});
    ASSERT_EQ(res.items.size(), 1u);
    EXPECT_EQ(res.items[0].username, "a_b");
    EXPECT_EQ(store_->list_users({.search = "Name of user1"}, {}).items.size(), 11u);  // user1, user10..19
    EXPECT_EQ(store_->list_users({.realm = "ldap"}, {}).items.size(), 0u);
    EXPECT_EQ(store_->list_users({.role = "student", .search = "user2"}, {}).items.size(), 3u);  // 2, 20, 22

    // limit is clamped to [1, 500]
    EXPECT_EQ(store_->list_users({}, {.limit = 0}).items.size(), 1u);
    EXPECT_EQ(store_->list_users({}, {.limit = 100000}).items.size(), 25u);
}

// ---------------------------------------------------------------- exercises

TEST_P(StoreContract, ExercisesAndVersions) {
    auto ex = add_exercise("ospf-basics");
    EXPECT_STORE_ERROR(add_exercise("ospf-basics"), core::Code::conflict, "slug 'ospf-basics'");

    auto got = store_->get_exercise("ospf-basics");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->id, ex.id);
    EXPECT_EQ(got->title, "Title ospf-basics");
    EXPECT_EQ(got->latest_version, 0);
    EXPECT_EQ(got->published_version, 0);
    EXPECT_TRUE(store_->get_exercise(ex.id));
    EXPECT_FALSE(store_->get_exercise("missing"));

    store_->update_exercise_title(ex.id, "OSPF, single area");
    EXPECT_EQ(store_->get_exercise(ex.id)->title, "OSPF, single area");
    EXPECT_STORE_ERROR(store_->update_exercise_title("missing", "x"), core::Code::not_found, "missing");

    auto v1 = add_version(ex.id, "spec v1");
    EXPECT_EQ(v1.version, 1);
    EXPECT_EQ(v1.state, "draft");
    EXPECT_FALSE(v1.id.empty());
    EXPECT_GT(v1.created_at, 0);
    auto v2 = add_version(ex.id, "spec v2");
    EXPECT_EQ(v2.version, 2);

    got = store_->get_exercise(ex.id);
    EXPECT_EQ(got->latest_version, 2);
    EXPECT_EQ(got->published_version, 0);

    // a draft may be replaced
    v1.spec = "spec v1 fixed";
    v1.instructions = "# New text";
    store_->update_draft(v1);
    EXPECT_EQ(store_->get_version(ex.id, 1)->spec, "spec v1 fixed");
    // ... also when named by (exercise, number) instead of id
    ExerciseVersion by_number{.exercise_id = ex.id, .version = 2, .spec = "spec v2 fixed"};
    store_->update_draft(by_number);
    EXPECT_EQ(store_->get_version_by_id(v2.id)->spec, "spec v2 fixed");

    store_->publish_version(ex.id, 1, 1700001000);
    auto p1 = store_->get_version(ex.id, 1);
    EXPECT_EQ(p1->state, "published");
    EXPECT_EQ(p1->published_at, 1700001000);
    EXPECT_EQ(p1->instructions, "# New text");
    got = store_->get_exercise(ex.id);
    EXPECT_EQ(got->published_version, 1);
    EXPECT_EQ(got->latest_version, 2);

    auto versions = store_->list_versions(ex.id);
    ASSERT_EQ(versions.size(), 2u);
    EXPECT_EQ(versions[0].version, 1);
    EXPECT_EQ(versions[1].version, 2);
    EXPECT_EQ(versions[1].state, "draft");

    EXPECT_FALSE(store_->get_version(ex.id, 3));
    EXPECT_FALSE(store_->get_version_by_id("missing"));
}

TEST_P(StoreContract, PublishedVersionsAreImmutable) {
    auto ex = add_exercise("vlans");
    auto v1 = add_version(ex.id, "original");
    store_->publish_version(ex.id, 1, 1700001000);

    v1.spec = "tampered";
    EXPECT_STORE_ERROR(store_->update_draft(v1), core::Code::conflict, "immutable");
    EXPECT_STORE_ERROR(store_->publish_version(ex.id, 1, 1700002000), core::Code::conflict,
                       "already published");
    EXPECT_EQ(store_->get_version(ex.id, 1)->spec, "original");
    EXPECT_EQ(store_->get_version(ex.id, 1)->published_at, 1700001000);

    EXPECT_STORE_ERROR(store_->publish_version(ex.id, 7, 1), core::Code::not_found, "version 7");
    EXPECT_STORE_ERROR(store_->update_draft(ExerciseVersion{.id = "missing"}), core::Code::not_found,
                       "missing");
    EXPECT_STORE_ERROR(add_version("missing"), core::Code::not_found, "missing");
    ExerciseVersion skip{.exercise_id = ex.id, .version = 5};
    EXPECT_STORE_ERROR(store_->add_version(skip), core::Code::conflict, "next version is 2");

    if (GetParam() != Kind::memory) {
        // The engine refuses too, whatever code sits above it.
        std::string error;
        EXPECT_FALSE(raw_sql("UPDATE exercise_versions SET spec = 'x' WHERE id = '" + v1.id + "'", &error));
        EXPECT_NE(error.find("immutable"), std::string::npos) << error;
    }
}

TEST_P(StoreContract, ExerciseListSearchesSlugAndTitle) {
    for (int i = 0; i < 12; ++i) add_exercise("lab-" + std::to_string(i));
    auto ex = add_exercise("bgp");
    store_->update_exercise_title(ex.id, "Border Gateway Protocol");
    EXPECT_EQ(store_->list_exercises("Gateway", {}).items.size(), 1u);
    EXPECT_EQ(store_->list_exercises("lab-1", {}).items.size(), 3u);  // lab-1, lab-10, lab-11

    std::set<std::string> ids;
    Page page{.limit = 5};
    int pages = 0;
    do {
        auto res = store_->list_exercises("lab", page);
        ++pages;
        for (auto& e : res.items) EXPECT_TRUE(ids.insert(e.id).second);
        page.after = res.next;
    } while (!page.after.empty());
    EXPECT_EQ(ids.size(), 12u);
    EXPECT_EQ(pages, 3);
}

// ---------------------------------------------------------------- assignments

TEST_P(StoreContract, AssignmentsWithReferences) {
    auto e = add_exercise("static-routes");
    auto v = add_version(e.id);
    auto other = add_exercise("other");
    auto other_v = add_version(other.id);
    auto s1 = add_user("s1");
    auto s2 = add_user("s2");

    auto a1 = add_assignment(e, v, s1);
    auto got = store_->get_assignment(a1.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->exercise_version_id, v.id);
    EXPECT_EQ(got->deadline, 1800000000);
    EXPECT_EQ(got->max_attempts, 3);
    EXPECT_EQ(got->cooldown_seconds, 60);
    EXPECT_EQ(got->score_policy, "best");
    EXPECT_GT(got->created_at, 0);

    EXPECT_STORE_ERROR(add_assignment(e, v, s1), core::Code::conflict, "already has an assignment");
    EXPECT_STORE_ERROR(add_assignment(e, other_v, s2), core::Code::invalid, "is not a version of exercise");
    User ghost = user("ghost");
    EXPECT_STORE_ERROR(add_assignment(e, v, ghost), core::Code::not_found, ghost.id);
    Exercise missing{.id = "missing-exercise"};
    EXPECT_STORE_ERROR(add_assignment(missing, v, s2), core::Code::not_found, "missing-exercise");

    auto a2 = add_assignment(e, v, s2);
    auto a3 = add_assignment(other, other_v, s1);
    EXPECT_EQ(store_->list_assignments({.exercise_id = e.id}, {}).items.size(), 2u);
    auto mine = store_->list_assignments({.student_id = s1.id}, {});
    ASSERT_EQ(mine.items.size(), 2u);
    EXPECT_EQ(mine.items[0].id, a1.id);
    EXPECT_EQ(mine.items[1].id, a3.id);
    EXPECT_EQ(store_->list_assignments({.exercise_id = e.id, .student_id = s2.id}, {}).items.size(), 1u);

    // a student with assignments cannot be deleted
    EXPECT_STORE_ERROR(store_->delete_user(s1.id), core::Code::conflict, "still has assignments");

    store_->delete_assignment(a2.id);
    EXPECT_FALSE(store_->get_assignment(a2.id));
    EXPECT_STORE_ERROR(store_->delete_assignment(a2.id), core::Code::not_found, a2.id);
    EXPECT_NO_THROW(store_->delete_user(s2.id));
}

TEST_P(StoreContract, DeletingAnAssignmentNeedsItsEnvironmentGoneAndTakesItsEvaluations) {
    auto a = setup_assignment("x");
    Environment env{.id = core::new_id(), .assignment_id = a.id, .provider = "local"};
    store_->create_environment(env);
    store_->create_evaluation({.assignment_id = a.id});
    EXPECT_STORE_ERROR(store_->delete_assignment(a.id), core::Code::conflict, "delete the environment first");
    EXPECT_TRUE(store_->get_assignment(a.id));

    store_->delete_environment(env.id);
    store_->delete_assignment(a.id);
    EXPECT_EQ(store_->count_evaluations(a.id), 0);
}

// ---------------------------------------------------------------- environments

TEST_P(StoreContract, EnvironmentLifecycle) {
    auto a = setup_assignment("env");
    Environment e{
        .id = core::new_id(), .assignment_id = a.id, .provider = "proxmox", .desired_state = "running"};
    store_->create_environment(e);

    auto got = store_->get_environment(e.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->student_id, a.student_id);  // filled from the assignment
    EXPECT_EQ(got->desired_state, "running");
    EXPECT_EQ(got->observed_state, "absent");
    EXPECT_EQ(got->provider_ids, "{}");
    EXPECT_GT(got->created_at, 0);
    EXPECT_EQ(got->updated_at, got->created_at);
    ASSERT_TRUE(store_->environment_for_assignment(a.id));
    EXPECT_EQ(store_->environment_for_assignment(a.id)->id, e.id);
    EXPECT_FALSE(store_->environment_for_assignment("nope"));

    Environment second{.id = core::new_id(), .assignment_id = a.id, .provider = "local"};
    EXPECT_STORE_ERROR(store_->create_environment(second), core::Code::conflict,
                       "already has an environment");
    Environment orphan{.id = core::new_id(), .assignment_id = "nope", .provider = "local"};
    EXPECT_STORE_ERROR(store_->create_environment(orphan), core::Code::not_found, "nope");
    Environment wrong_student{
        .id = core::new_id(), .assignment_id = a.id, .student_id = "someone", .provider = "local"};
    EXPECT_STORE_ERROR(store_->create_environment(wrong_student), core::Code::invalid, "not the student");

    got->observed_state = "running";
    got->provider_ids = R"({"node":"pve1","vmid":1234})";
    got->addresses = R"({"gns3":"10.0.0.5:3080"})";
    got->last_error = "";
    got->updated_at = 1800000000;
    store_->update_environment(*got);
    auto after = store_->get_environment(e.id);
    EXPECT_EQ(after->observed_state, "running");
    EXPECT_EQ(after->provider_ids, R"({"node":"pve1","vmid":1234})");
    EXPECT_EQ(after->addresses, R"({"gns3":"10.0.0.5:3080"})");
    EXPECT_EQ(after->updated_at, 1800000000);
    EXPECT_EQ(after->created_at, got->created_at);

    got->observed_state = "exploded";
    EXPECT_STORE_ERROR(store_->update_environment(*got), core::Code::invalid, "observed_state");
    Environment ghost{.id = "ghost", .provider = "local"};
    EXPECT_STORE_ERROR(store_->update_environment(ghost), core::Code::not_found, "ghost");

    store_->delete_environment(e.id);
    EXPECT_FALSE(store_->get_environment(e.id));
    EXPECT_STORE_ERROR(store_->delete_environment(e.id), core::Code::not_found, e.id);
}

// store/states.hpp names what the tables keep: every role and state it names is accepted, and what
// comes back parses to the same value.
TEST_P(StoreContract, EveryNamedRoleAndStateIsStored) {
    for (auto name : EnumNames<Role>::names) {
        auto u = add_user("role-" + std::string(name), std::string(name));
        EXPECT_EQ(parse<Role>(store_->get_user(u.id)->role), parse<Role>(name));
    }
    auto a = setup_assignment("states");
    Environment e{.id = core::new_id(), .assignment_id = a.id, .provider = "local"};
    store_->create_environment(e);
    for (auto desired : EnumNames<DesiredState>::names) {
        for (auto observed : EnumNames<ObservedState>::names) {
            auto got = store_->get_environment(e.id);
            got->desired_state = std::string(desired);
            got->observed_state = std::string(observed);
            ASSERT_NO_THROW(store_->update_environment(*got)) << desired << " / " << observed;
            auto back = store_->get_environment(e.id);
            EXPECT_EQ(parse<DesiredState>(back->desired_state), parse<DesiredState>(desired));
            EXPECT_EQ(parse<ObservedState>(back->observed_state), parse<ObservedState>(observed));
        }
    }
    auto ev = store_->create_evaluation({.assignment_id = a.id});
    for (auto status : EnumNames<EvaluationStatus>::names) {
        ev.status = std::string(status);
        ASSERT_NO_THROW(store_->update_evaluation(ev)) << status;
        EXPECT_EQ(store_->get_evaluation(ev.id)->status, status);
    }
    EXPECT_FALSE(parse<Role>("admin"));
    EXPECT_EQ(one_of<Role>(), "teacher or student");
    EXPECT_EQ(one_of<DesiredState>(), "absent, stopped or running");
}

TEST_P(StoreContract, EnvironmentListFiltersByExerciseStateAndStudent) {
    auto ex1 = add_exercise("e1");
    auto v1 = add_version(ex1.id);
    auto ex2 = add_exercise("e2");
    auto v2 = add_version(ex2.id);
    std::vector<std::string> running_of_ex1;
    for (int i = 0; i < 9; ++i) {
        auto s = add_user("s" + std::to_string(i));
        auto a1 = add_assignment(ex1, v1, s);
        auto a2 = add_assignment(ex2, v2, s);
        Environment e1{.id = core::new_id(),
                       .assignment_id = a1.id,
                       .provider = "local",
                       .observed_state = i % 2 ? "running" : "error"};
        store_->create_environment(e1);
        if (i % 2) running_of_ex1.push_back(e1.id);
        store_->create_environment(
            {.id = core::new_id(), .assignment_id = a2.id, .provider = "local", .observed_state = "running"});
    }
    std::vector<std::string> seen;
    Page page{.limit = 2};
    do {
        auto res = store_->list_environments({.observed_state = "running", .exercise_id = ex1.id}, page);
        for (auto& e : res.items) seen.push_back(e.id);
        page.after = res.next;
    } while (!page.after.empty());
    EXPECT_EQ(seen, running_of_ex1);
    EXPECT_EQ(store_->list_environments({.exercise_id = ex2.id}, {}).items.size(), 9u);
    EXPECT_EQ(store_->list_environments({.observed_state = "error"}, {}).items.size(), 5u);
    auto s0 = store_->find_user("s0", "local");
    EXPECT_EQ(store_->list_environments({.student_id = s0->id}, {}).items.size(), 2u);
    EXPECT_EQ(store_->list_environments({}, {.limit = 500}).items.size(), 18u);
}

// ---------------------------------------------------------------- evaluations

TEST_P(StoreContract, EvaluationsNumberTheirAttempts) {
    auto a = setup_assignment("eval");
    EXPECT_EQ(store_->count_evaluations(a.id), 0);
    EXPECT_FALSE(store_->last_evaluation(a.id));

    auto e1 = store_->create_evaluation({.assignment_id = a.id, .job_id = "job-1"});
    EXPECT_EQ(e1.attempt, 1);
    EXPECT_FALSE(e1.id.empty());
    EXPECT_EQ(e1.student_id, a.student_id);
    EXPECT_EQ(e1.status, "queued");
    auto e2 = store_->create_evaluation({.assignment_id = a.id});
    auto e3 = store_->create_evaluation({.assignment_id = a.id});
    EXPECT_EQ(e2.attempt, 2);
    EXPECT_EQ(e3.attempt, 3);
    EXPECT_EQ(store_->count_evaluations(a.id), 3);
    EXPECT_EQ(store_->last_evaluation(a.id)->id, e3.id);

    e2.status = "done";
    e2.score = 7.5;
    e2.max_score = 10;
    e2.results = R"([{"check":"ospf","passed":true}])";
    e2.transcript = R"([{"device":"r1","command":"show ip route"}])";
    e2.finished_at = 1800000000;
    store_->update_evaluation(e2);
    auto got = store_->get_evaluation(e2.id);
    EXPECT_EQ(got->status, "done");
    EXPECT_DOUBLE_EQ(got->score, 7.5);
    EXPECT_DOUBLE_EQ(got->max_score, 10);
    EXPECT_EQ(got->results, e2.results);
    EXPECT_EQ(got->transcript, e2.transcript);
    EXPECT_EQ(got->finished_at, 1800000000);
    EXPECT_EQ(store_->get_evaluation(e1.id)->job_id, "job-1");
    // An evaluation that ended in error produced no grade: it is not an attempt used.
    EXPECT_EQ(store_->count_evaluations(a.id), 3);
    e3.status = "error";
    e3.error = "device pc1 unreachable: telnet 127.0.0.1:5000: Connection refused";
    store_->update_evaluation(e3);
    EXPECT_EQ(store_->count_evaluations(a.id), 2);
    EXPECT_EQ(store_->last_evaluation(a.id)->id, e3.id);  // the cooldown still runs from it

    auto done = store_->list_evaluations({.status = "done"}, {});
    ASSERT_EQ(done.items.size(), 1u);
    EXPECT_EQ(done.items[0].id, e2.id);
    EXPECT_EQ(store_->list_evaluations({.assignment_id = a.id}, {.limit = 2}).next, e2.id);
    EXPECT_EQ(store_->list_evaluations({.student_id = a.student_id}, {}).items.size(), 3u);

    Evaluation ghost{.id = "ghost"};
    EXPECT_STORE_ERROR(store_->update_evaluation(ghost), core::Code::not_found, "ghost");
    EXPECT_STORE_ERROR(store_->create_evaluation({.assignment_id = "nope"}), core::Code::not_found, "nope");
    e1.status = "bogus";
    EXPECT_STORE_ERROR(store_->update_evaluation(e1), core::Code::invalid, "status");
}

// ---------------------------------------------------------------- jobs

TEST_P(StoreContract, JobsClaimProgressFinish) {
    EXPECT_FALSE(store_->claim_job("runner-a", 1000, 30));
    auto j1 = job("env.create");
    auto j2 = job("eval.run");
    store_->create_job(j1);
    store_->create_job(j2);
    EXPECT_STORE_ERROR(store_->create_job(j1), core::Code::conflict, j1.id);

    auto got = store_->get_job(j1.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->state, "queued");
    EXPECT_EQ(got->params, R"({"environment":"e1"})");

    // oldest first
    auto c1 = store_->claim_job("runner-a", 1000, 30);
    ASSERT_TRUE(c1);
    EXPECT_EQ(c1->id, j1.id);
    EXPECT_EQ(c1->state, "running");
    EXPECT_EQ(c1->lease_owner, "runner-a");
    EXPECT_EQ(c1->lease_expires, 1030);
    EXPECT_EQ(c1->attempt, 1);
    EXPECT_EQ(c1->started_at, 1000);
    auto c2 = store_->claim_job("runner-b", 1001, 30);
    ASSERT_TRUE(c2);
    EXPECT_EQ(c2->id, j2.id);
    EXPECT_FALSE(store_->claim_job("runner-c", 1002, 30));  // both leased

    EXPECT_TRUE(store_->update_job_progress(j1.id, "runner-a", 3, 10, "cloning", 1060));
    EXPECT_FALSE(store_->update_job_progress(j1.id, "runner-b", 4, 10, "not mine", 1060));
    got = store_->get_job(j1.id);
    EXPECT_EQ(got->progress_done, 3);
    EXPECT_EQ(got->progress_total, 10);
    EXPECT_EQ(got->message, "cloning");
    EXPECT_EQ(got->lease_expires, 1060);

    // runner-b crashes: its lease expires and another runner takes the job over
    EXPECT_FALSE(store_->claim_job("runner-c", 1030, 30));  // j2's lease ends at 1031
    auto taken = store_->claim_job("runner-c", 1031, 30);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->id, j2.id);
    EXPECT_EQ(taken->attempt, 2);
    EXPECT_EQ(taken->lease_owner, "runner-c");
    EXPECT_EQ(taken->started_at, 1001);
    EXPECT_FALSE(store_->update_job_progress(j2.id, "runner-b", 1, 1, "late", 2000));

    store_->finish_job(j1.id, "succeeded", R"({"vmid":1234})", "", 1100);
    got = store_->get_job(j1.id);
    EXPECT_EQ(got->state, "succeeded");
    EXPECT_EQ(got->result, R"({"vmid":1234})");
    EXPECT_EQ(got->finished_at, 1100);
    EXPECT_FALSE(store_->update_job_progress(j1.id, "runner-a", 5, 10, "after finish", 1200));
    EXPECT_STORE_ERROR(store_->finish_job(j1.id, "failed", "", "x", 1200), core::Code::conflict,
                       "already finished");
    EXPECT_STORE_ERROR(store_->finish_job("ghost", "failed", "", "x", 1200), core::Code::not_found, "ghost");
    EXPECT_STORE_ERROR(store_->finish_job(j2.id, "running", "", "", 1200), core::Code::invalid, "running");

    store_->finish_job(j2.id, "failed", "", "VM 1234 already exists", 1200);
    EXPECT_EQ(store_->get_job(j2.id)->error, "VM 1234 already exists");
    EXPECT_FALSE(store_->claim_job("runner-c", 999999, 30));  // finished jobs are never claimed again
}

// Queues by kind: a runner claims only the kind it has a free slot for, and with one_per_owner a student's
// second evaluation waits while the first runs, without holding back other students' (issue 14).
TEST_P(StoreContract, JobsClaimByKindAndOnePerOwner) {
    auto lab = job("environment.reconcile");
    auto make_eval = [&](const std::string& owner) {
        auto j = job("evaluation.run");
        j.owner_id = owner;
        store_->create_job(j);
        return j;
    };
    store_->create_job(lab);  // oldest, but of another kind
    auto alice1 = make_eval("alice");
    auto alice2 = make_eval("alice");
    auto bob1 = make_eval("bob");
    ClaimFilter evals{"evaluation.run", true};
    auto c1 = store_->claim_job("r", 1000, 30, evals);
    ASSERT_TRUE(c1);
    EXPECT_EQ(c1->id, alice1.id);  // the lab job is not taken by the evaluation queue
    auto c2 = store_->claim_job("r", 1000, 30, evals);
    ASSERT_TRUE(c2);
    EXPECT_EQ(c2->id, bob1.id) << "alice's second evaluation passed over while her first runs";
    EXPECT_FALSE(store_->claim_job("r", 1000, 30, evals));
    // Without fairness it would be taken; the lab queue takes only its own.
    auto c3 = store_->claim_job("r", 1000, 30, ClaimFilter{"environment.reconcile", false});
    ASSERT_TRUE(c3);
    EXPECT_EQ(c3->id, lab.id);
    store_->finish_job(alice1.id, "succeeded", "{}", "", 1001);
    auto c4 = store_->claim_job("r", 1001, 30, evals);
    ASSERT_TRUE(c4);
    EXPECT_EQ(c4->id, alice2.id);
    // A running job whose instance died does not block its owner: its lease expired, it is taken over.
    auto bob2 = make_eval("bob");
    EXPECT_FALSE(store_->claim_job("r", 1029, 30, evals));  // bob1 still leased until 1030
    auto taken = store_->claim_job("r2", 1030, 30, evals);
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->id, bob1.id);  // the expired one first (older)
    (void)bob2;
}

TEST_P(StoreContract, JobsCancelListAndCount) {
    std::vector<Job> jobs;
    for (int i = 0; i < 7; ++i) {
        auto j = job(i < 4 ? "env.create" : "eval.run");
        if (i == 6) {
            j.subject_type = "environment";
            j.subject_id = "env-42";
        }
        store_->create_job(j);
        jobs.push_back(j);
    }
    EXPECT_TRUE(store_->cancel_job(jobs[0].id, 50));
    EXPECT_FALSE(store_->cancel_job(jobs[0].id, 51));  // already finished
    EXPECT_EQ(store_->get_job(jobs[0].id)->state, "cancelled");
    EXPECT_EQ(store_->get_job(jobs[0].id)->finished_at, 50);
    EXPECT_STORE_ERROR(store_->cancel_job("ghost", 1), core::Code::not_found, "ghost");

    auto running = store_->claim_job("r", 100, 60);
    ASSERT_TRUE(running);
    EXPECT_EQ(running->id, jobs[1].id);  // the cancelled one is skipped
    EXPECT_TRUE(store_->cancel_job(running->id, 101));
    EXPECT_FALSE(store_->update_job_progress(running->id, "r", 1, 2, "cancelled under me", 200));
    EXPECT_STORE_ERROR(store_->finish_job(running->id, "succeeded", "", "", 102), core::Code::conflict,
                       "cancelled");

    auto counts = store_->count_jobs_by_state();
    std::map<std::string, std::int64_t> by_state(counts.begin(), counts.end());
    EXPECT_EQ(counts.size(), 5u);
    EXPECT_EQ(by_state["queued"], 5);
    EXPECT_EQ(by_state["cancelled"], 2);
    EXPECT_EQ(by_state["running"], 0);
    EXPECT_EQ(by_state["succeeded"], 0);

    EXPECT_EQ(store_->list_jobs({.state = "queued", .kind = "eval.run"}, {}).items.size(), 3u);
    EXPECT_EQ(store_->list_jobs({.owner_id = "teacher-1"}, {}).items.size(), 7u);
    auto subject = store_->list_jobs({.subject_id = "env-42"}, {});
    ASSERT_EQ(subject.items.size(), 1u);
    EXPECT_EQ(subject.items[0].subject_type, "environment");
    auto p1 = store_->list_jobs({.kind = "env.create"}, {.limit = 3});
    ASSERT_EQ(p1.items.size(), 3u);
    auto p2 = store_->list_jobs({.kind = "env.create"}, {.limit = 3, .after = p1.next});
    ASSERT_EQ(p2.items.size(), 1u);
    EXPECT_EQ(p2.items[0].id, jobs[3].id);
    EXPECT_TRUE(p2.next.empty());
}

// ---------------------------------------------------------------- audit

TEST_P(StoreContract, RevokedTokensAreListedUntilTheyExpire) {
    store_->revoke_token("jti-a", 2000, 1000);
    store_->revoke_token("jti-b", 1500, 1001);
    store_->revoke_token("jti-a", 2000, 1002);  // twice: still one row, first revocation time kept
    auto all = store_->revoked_tokens(0, 1000);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0], std::make_pair(std::string("jti-a"), std::int64_t{2000}));
    EXPECT_EQ(all[1], std::make_pair(std::string("jti-b"), std::int64_t{1500}));
    // Polling from a time on gives what was revoked since (inclusive: the same second is read again).
    auto since = store_->revoked_tokens(1001, 1001);
    ASSERT_EQ(since.size(), 1u);
    EXPECT_EQ(since[0].first, "jti-b");
    // An expired revocation is not listed, and the next revocation deletes it.
    EXPECT_EQ(store_->revoked_tokens(0, 1600).size(), 1u);
    store_->revoke_token("jti-c", 3000, 1600);
    EXPECT_EQ(store_->revoked_tokens(0, 0).size(), 2u);  // jti-b is gone for good
}

TEST_P(StoreContract, AuditLogAppendsAndPages) {
    for (int i = 0; i < 5; ++i) {
        store_->append_audit({.at = 1000 + i,
                              .actor_id = "teacher-1",
                              .action = "exercise.publish",
                              .object_type = "exercise",
                              .object_id = "ex-1",
                              .detail = R"({"version":1})"});
    }
    store_->append_audit(
        {.actor_id = "teacher-1", .action = "user.create", .object_type = "user", .object_id = "u-1"});
    auto page1 = store_->list_audit("ex-1", {.limit = 3});
    ASSERT_EQ(page1.items.size(), 3u);
    EXPECT_EQ(page1.items[0].at, 1000);
    EXPECT_EQ(page1.items[0].detail, R"({"version":1})");
    EXPECT_LT(page1.items[0].id, page1.items[1].id);
    auto page2 = store_->list_audit("ex-1", {.limit = 3, .after = page1.next});
    ASSERT_EQ(page2.items.size(), 2u);
    EXPECT_EQ(page2.items[1].at, 1004);
    EXPECT_TRUE(page2.next.empty());
    auto all = store_->list_audit("", {});
    ASSERT_EQ(all.items.size(), 6u);
    EXPECT_GT(all.items[5].at, 0);  // filled with the current time
    EXPECT_EQ(all.items[5].detail, "{}");
    EXPECT_STORE_ERROR(store_->list_audit("", {.after = "abc"}), core::Code::invalid, "abc");
    EXPECT_STORE_ERROR(store_->append_audit({.action = ""}), core::Code::invalid, "action");

    if (GetParam() != Kind::memory) {
        std::string error;
        EXPECT_FALSE(raw_sql("UPDATE audit_log SET action = 'x'", &error));
        EXPECT_NE(error.find("append-only"), std::string::npos) << error;
        EXPECT_FALSE(raw_sql("DELETE FROM audit_log", &error));
        EXPECT_EQ(store_->list_audit("", {}).items.size(), 6u);
    }
}

// ---------------------------------------------------------------- transactions

// Migration 0007: the actor's name and the outcome; filters by actor, action prefix, outcome and time, and
// newest-first paging (the audit page).
TEST_P(StoreContract, AuditLogFiltersAndPagesNewestFirst) {
    auto add = [&](std::int64_t at, const char* actor, const char* action, const char* outcome) {
        store::AuditEntry a;
        a.at = at;
        a.actor_id = std::string("id-") + actor;
        a.actor_name = actor;
        a.action = action;
        a.object_type = "exercise";
        a.object_id = "ex-9";
        a.outcome = outcome;
        store_->append_audit(a);
    };
    add(100, "ann", "auth.login", "ok");
    add(101, "bob", "auth.login", "denied");
    add(102, "ann", "exercise.version.publish", "ok");
    add(103, "ann", "exercise.create", "ok");
    add(104, "bob", "exercises.other", "failed");
    auto newest = store_->list_audit(store::AuditFilter{.newest_first = true}, {.limit = 2});
    ASSERT_EQ(newest.items.size(), 2u);
    EXPECT_EQ(newest.items[0].at, 104);
    EXPECT_EQ(newest.items[0].outcome, "failed");
    EXPECT_EQ(newest.items[0].actor_name, "bob");
    auto older =
        store_->list_audit(store::AuditFilter{.newest_first = true}, {.limit = 2, .after = newest.next});
    ASSERT_EQ(older.items.size(), 2u);
    EXPECT_EQ(older.items[0].at, 102);
    // A prefix ending in '.' is that family only (not "exercises.").
    auto ex = store_->list_audit(store::AuditFilter{.action = "exercise."}, {});
    ASSERT_EQ(ex.items.size(), 2u);
    EXPECT_EQ(ex.items[0].action, "exercise.version.publish");
    EXPECT_EQ(store_->list_audit(store::AuditFilter{.action = "auth.login"}, {}).items.size(), 2u);
    EXPECT_EQ(store_->list_audit(store::AuditFilter{.actor = "ann"}, {}).items.size(), 3u);
    EXPECT_EQ(store_->list_audit(store::AuditFilter{.actor = "id-bob"}, {}).items.size(), 2u);
    EXPECT_EQ(store_->list_audit(store::AuditFilter{.outcome = "denied"}, {}).items.size(), 1u);
    EXPECT_EQ(store_->list_audit(store::AuditFilter{.since = 101, .until = 103}, {}).items.size(), 2u);
    // Entries written before 0007 (no outcome given) read as ok.
    store_->append_audit({.action = "user.create"});
    EXPECT_EQ(store_->list_audit(store::AuditFilter{.action = "user.create"}, {}).items[0].outcome, "ok");
    if (GetParam() != Kind::memory) {
        std::string error;
        EXPECT_FALSE(raw_sql("INSERT INTO audit_log (at, action, outcome) VALUES (1, 'x', 'maybe')", &error));
    }
}

TEST_P(StoreContract, TransactionCommitsEverything) {
    auto u = user("teacher", "teacher");
    Exercise e{.id = core::new_id(), .slug = "tx", .title = "T", .created_by = u.id};
    store_->transaction([&] {
        store_->create_user(u);
        store_->create_exercise(e);
        add_version(e.id);
        store_->append_audit({.actor_id = u.id, .action = "exercise.create", .object_id = e.id});
        // reads inside see the transaction's own writes
        EXPECT_TRUE(store_->get_exercise("tx"));
    });
    EXPECT_TRUE(store_->get_user(u.id));
    EXPECT_EQ(store_->get_exercise("tx")->latest_version, 1);
    EXPECT_EQ(store_->list_audit(e.id, {}).items.size(), 1u);
}

TEST_P(StoreContract, ThrowInsideTransactionLeavesNothingWritten) {
    auto u = user("teacher", "teacher");
    Exercise e{.id = core::new_id(), .slug = "rolled-back", .title = "T"};
    EXPECT_THROW(store_->transaction([&] {
        store_->create_user(u);
        store_->create_exercise(e);
        add_version(e.id);
        store_->put_setting_if_absent("k", "v");
        store_->append_audit({.action = "exercise.create", .object_id = e.id});
        throw std::runtime_error("validation failed after the writes");
    }),
                 std::runtime_error);
    EXPECT_FALSE(store_->get_user(u.id));
    EXPECT_FALSE(store_->get_exercise("rolled-back"));
    EXPECT_FALSE(store_->get_setting("k"));
    EXPECT_TRUE(store_->list_audit("", {}).items.empty());
    EXPECT_EQ(store_->count_users(), 0);

    // a store error inside rolls back as well, and the store stays usable
    EXPECT_THROW(store_->transaction([&] {
        store_->create_user(u);
        store_->create_user(u);  // conflict
    }),
                 core::Error);
    EXPECT_EQ(store_->count_users(), 0);
    store_->create_user(u);
    EXPECT_EQ(store_->count_users(), 1);
}

TEST_P(StoreContract, NestedTransactionsJoinTheOuterOne) {
    auto a = user("a");
    auto b = user("b");
    auto c = user("c");
    store_->transaction([&] {
        store_->create_user(a);
        // a nested failure that the outer code handles undoes only the nested writes
        try {
            store_->transaction([&] {
                store_->create_user(b);
                throw std::runtime_error("inner");
            });
        } catch (const std::runtime_error&) {
        }
        // a failed store call inside the transaction leaves no trace either
        EXPECT_THROW(store_->create_user(a), core::Error);
        store_->transaction([&] { store_->create_user(c); });
    });
    EXPECT_TRUE(store_->get_user(a.id));
    EXPECT_FALSE(store_->get_user(b.id));
    EXPECT_TRUE(store_->get_user(c.id));

    // ... and the outer rollback takes the committed nested work with it
    auto d = user("d");
    EXPECT_THROW(store_->transaction([&] {
        store_->transaction([&] { store_->create_user(d); });
        throw std::runtime_error("outer");
    }),
                 std::runtime_error);
    EXPECT_FALSE(store_->get_user(d.id));
}

TEST_P(StoreContract, UncommittedWritesAreInvisibleToOtherThreads) {
    auto u = user("hidden");
    std::atomic<int> seen_during{-1};
    store_->transaction([&] {
        store_->create_user(u);
        std::thread other([&] { seen_during = store_->get_user(u.id).has_value() ? 1 : 0; });
        other.join();
    });
    EXPECT_EQ(seen_during.load(), 0);  // the reader sees the last committed state
    EXPECT_TRUE(store_->get_user(u.id));
}

// ---------------------------------------------------------------- concurrency

TEST_P(StoreContract, ConcurrentWritersFromSeveralThreads) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 40;
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            try {
                for (int i = 0; i < kPerThread; ++i) {
                    auto u = user("t" + std::to_string(t) + "-u" + std::to_string(i));
                    store_->transaction([&] {
                        store_->create_user(u);
                        store_->append_audit({.actor_id = u.id, .action = "user.create", .object_id = u.id});
                    });
                    auto j = job();
                    store_->create_job(j);
                    if (!store_->get_user(u.id)) ++failures;
                }
            } catch (const std::exception& e) {
                ADD_FAILURE() << "thread " << t << ": " << e.what();
                ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(store_->count_users(), kThreads * kPerThread);
    EXPECT_EQ(store_->list_audit("", {.limit = 500}).items.size(),
              static_cast<std::size_t>(kThreads * kPerThread));
    EXPECT_EQ(store_->list_jobs({.state = "queued"}, {.limit = 500}).items.size(),
              static_cast<std::size_t>(kThreads * kPerThread));
    EXPECT_GE(connection_count(), static_cast<std::size_t>(kThreads));
}

TEST_P(StoreContract, ClaimJobNeverGivesOneJobToTwoClaimers) {
    constexpr int kJobs = 120;
    constexpr int kClaimers = 4;
    for (int i = 0; i < kJobs; ++i) store_->create_job(job());
    std::vector<std::vector<std::string>> claimed(kClaimers);
    std::vector<std::thread> threads;
    for (int t = 0; t < kClaimers; ++t) {
        threads.emplace_back([&, t] {
            const std::string owner = "runner-" + std::to_string(t);
            try {
                while (auto j = store_->claim_job(owner, 1000, 300)) {
                    EXPECT_EQ(j->lease_owner, owner);
                    claimed[t].push_back(j->id);
                }
            } catch (const std::exception& e) {
                ADD_FAILURE() << owner << ": " << e.what();
            }
        });
    }
    for (auto& th : threads) th.join();
    std::set<std::string> all;
    std::size_t total = 0;
    for (auto& ids : claimed) {
        total += ids.size();
        all.insert(ids.begin(), ids.end());
    }
    EXPECT_EQ(total, static_cast<std::size_t>(kJobs));
    EXPECT_EQ(all.size(), static_cast<std::size_t>(kJobs));  // no job twice
    for (auto& [state, n] : store_->count_jobs_by_state()) {
        EXPECT_EQ(n, state == "running" ? kJobs : 0) << state;
    }
    for (auto& j : store_->list_jobs({}, {.limit = 500}).items) EXPECT_EQ(j.attempt, 1);
}

TEST_P(StoreContract, ConcurrentEvaluationsGetDistinctAttempts) {
    auto a = setup_assignment("race");
    constexpr int kThreads = 4;
    constexpr int kEach = 10;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            try {
                for (int i = 0; i < kEach; ++i) store_->create_evaluation({.assignment_id = a.id});
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(store_->count_evaluations(a.id), kThreads * kEach);
    EXPECT_EQ(store_->last_evaluation(a.id)->attempt, kThreads * kEach);
}

TEST_P(StoreContract, ConcurrentAddVersionNumbersOneAfterTheOther) {
    auto ex = add_exercise("busy");
    constexpr int kThreads = 4;
    constexpr int kEach = 8;
    std::vector<std::thread> threads;
    std::mutex mutex;
    std::set<int> numbers;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            try {
                for (int i = 0; i < kEach; ++i) {
                    auto v = add_version(ex.id);
                    std::lock_guard lock(mutex);
                    numbers.insert(v.version);
                }
            } catch (const std::exception& e) {
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(numbers.size(), static_cast<std::size_t>(kThreads * kEach));
    EXPECT_EQ(*numbers.rbegin(), kThreads * kEach);
    EXPECT_EQ(store_->get_exercise(ex.id)->latest_version, kThreads * kEach);
}

#ifdef NP_STORE_TEST_POSTGRESQL
INSTANTIATE_TEST_SUITE_P(Engines, StoreContract, ::testing::Values(Kind::postgresql),
                         [](const auto&) { return std::string("postgresql"); });
#else
INSTANTIATE_TEST_SUITE_P(Engines, StoreContract, ::testing::Values(Kind::memory, Kind::file),
                         [](const auto& param_info) {
                             return std::string(param_info.param == Kind::memory ? "memory" : "file");
                         });
#endif

}  // namespace
}  // namespace np::store
