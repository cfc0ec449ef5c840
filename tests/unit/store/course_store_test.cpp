// The Store's course operations (migration 0004) on each engine: courses, rosters, assignment rules
// (score average, late policy, keep_hidden), evaluations' version/late/run columns, the unpaged lists of
// gradebooks, and attempts that leave class gradings out. The unit build runs SQLite; the PostgreSQL build
// (tests/integration/store) compiles this file with NP_STORE_TEST_POSTGRESQL against a real server.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"

#ifdef NP_STORE_TEST_POSTGRESQL
#include "pg_server.hpp"
#endif

namespace np::store {
namespace {

class CourseStore : public ::testing::Test {
 protected:
    void SetUp() override {
#ifdef NP_STORE_TEST_POSTGRESQL
        conninfo_ = test::create_database();
        s = std::make_unique<PgStore>(PgOptions{.conninfo = conninfo_});
#else
        // A file in a folder of its own, not ":memory:" (whose temporary files another test counts).
        std::string tmpl = (std::filesystem::temp_directory_path() / "np-course-store-XXXXXX").string();
        ASSERT_TRUE(mkdtemp(tmpl.data()));
        dir_ = tmpl;
        s = std::make_unique<SqliteStore>(SqliteOptions{.path = dir_ + "/np.db"});
#endif
        s->migrate();
    }
    void TearDown() override {
        s.reset();
#ifdef NP_STORE_TEST_POSTGRESQL
        test::drop_database(conninfo_);
#else
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
#endif
    }
    User user(const std::string& name) {
        User u;
        u.id = core::new_id();
        u.username = name;
        u.realm = "students";
        u.role = "student";
        u.created_at = 1700000000;
        s->create_user(u);
        return u;
    }
    // An exercise with a published version, and an assignment of it to `student`.
    Assignment assign(const User& student, const std::string& course_id, const std::string& slug) {
        if (!s->get_exercise(slug)) {
            Exercise e{core::new_id(), slug, slug, "", 1700000000};
            s->create_exercise(e);
            ExerciseVersion v;
            v.exercise_id = e.id;
            v.spec = "id: x";
            s->add_version(v);
            s->publish_version(e.id, 1, 1700000000);
        }
        auto ex = *s->get_exercise(slug);
        Assignment a;
        a.id = core::new_id();
        a.exercise_id = ex.id;
        a.exercise_version_id = s->get_version(ex.id, 1)->id;
        a.student_id = student.id;
        a.course_id = course_id;
        a.score_policy = "average";
        a.late_policy = "accept";
        a.late_penalty = 25;
        a.keep_hidden = true;
        s->create_assignment(a);
        return a;
    }
    std::unique_ptr<Store> s;
    std::string conninfo_;
    std::string dir_;
};

TEST_F(CourseStore, CoursesAndRosters) {
    Course c{core::new_id(), "net-1", "Networks", R"(["a","b"])", "t1", 1700000000};
    s->create_course(c);
    Course dup = c;
    dup.id = core::new_id();
    EXPECT_THROW(s->create_course(dup), core::Error);
    auto ann = user("ann"), bob = user("bob");
    s->add_course_member({c.id, bob.id, "b", "bob@example.org", 0, {}});
    s->add_course_member({c.id, ann.id, "a", "", 0, {}});
    try {
        s->add_course_member({c.id, ann.id, "a", "", 0, {}});
        ADD_FAILURE() << "a member added twice";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::conflict) << e.what();
    }
    try {
        s->add_course_member({c.id, "nobody", "a", "", 0, {}});
        ADD_FAILURE() << "an unknown user added";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::not_found) << e.what();
    }
    auto got = s->get_course("net-1");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->members, 2);
    EXPECT_EQ(got->groups, R"(["a","b"])");
    auto roster = s->list_course_members(c.id, "");
    ASSERT_EQ(roster.size(), 2u);
    EXPECT_EQ(roster[0].user.username, "ann");  // by username
    EXPECT_EQ(roster[1].email, "bob@example.org");
    EXPECT_EQ(s->list_course_members(c.id, "b").size(), 1u);
    got->title = "Networks I";
    s->update_course(*got);
    EXPECT_EQ(s->get_course(c.id)->title, "Networks I");
    s->remove_course_member(c.id, bob.id);
    EXPECT_THROW(s->remove_course_member(c.id, bob.id), core::Error);
    EXPECT_EQ(s->list_courses({}).items.size(), 1u);
    s->delete_course(c.id);
    EXPECT_FALSE(s->get_course(c.id));
    EXPECT_TRUE(s->get_user(ann.id));  // users stay
}

TEST_F(CourseStore, AssignmentRulesEvaluationColumnsAndGradebookLists) {
    Course c{core::new_id(), "net-2", "", "[]", "", 0};
    s->create_course(c);
    auto ann = user("ann2"), bob = user("bob2");
    auto a = assign(ann, c.id, "ex-a");
    auto b = assign(bob, "", "ex-a");
    auto got = s->get_assignment(a.id);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->score_policy, "average");
    EXPECT_EQ(got->late_policy, "accept");
    EXPECT_EQ(got->late_penalty, 25);
    EXPECT_TRUE(got->keep_hidden);
    EXPECT_EQ(got->course_id, c.id);
    got->score_policy = "best";
    got->late_penalty = 0;
    got->keep_hidden = false;
    got->max_attempts = 4;
    s->update_assignment_rules(*got);
    got = s->get_assignment(a.id);
    EXPECT_EQ(got->score_policy, "best");
    EXPECT_EQ(got->max_attempts, 4);
    EXPECT_FALSE(got->keep_hidden);
    auto in_course = s->assignments_in({"", "", c.id});
    ASSERT_EQ(in_course.size(), 1u);
    EXPECT_EQ(in_course[0].id, a.id);
    EXPECT_EQ(s->list_assignments({"", "", c.id}, {}).items.size(), 1u);
    EXPECT_EQ(s->assignments_in({a.exercise_id, "", ""}).size(), 2u);

    Evaluation e;
    e.assignment_id = a.id;
    e.status = "done";
    e.exercise_version_id = a.exercise_version_id;
    e.late = true;
    auto stored = s->create_evaluation(e);
    Evaluation run = e;
    run.late = false;
    run.run_id = "job-1";
    s->create_evaluation(run);
    Evaluation other;
    other.assignment_id = b.id;
    other.run_id = "job-1";
    s->create_evaluation(other);
    auto back = s->get_evaluation(stored.id);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->late);
    EXPECT_EQ(back->exercise_version_id, a.exercise_version_id);
    // A class grading's evaluation uses no attempt and holds no cooldown.
    EXPECT_EQ(s->count_evaluations(a.id), 1);
    EXPECT_EQ(s->last_evaluation(a.id)->id, stored.id);
    EXPECT_EQ(s->evaluations_in({c.id, "", ""}).size(), 2u);
    EXPECT_EQ(s->evaluations_in({"", "", "job-1"}).size(), 2u);
    EXPECT_EQ(s->evaluations_in({c.id, "", "job-1"}).size(), 1u);
    EXPECT_EQ(s->evaluations_in({"", a.exercise_id, ""}).size(), 3u);
    // Moving the assignment to another version of its exercise (and not of another one).
    ExerciseVersion v2;
    v2.exercise_id = a.exercise_id;
    v2.spec = "id: x";
    auto added = s->add_version(v2);
    s->set_assignment_version(a.id, added.id);
    EXPECT_EQ(s->get_assignment(a.id)->exercise_version_id, added.id);
    EXPECT_THROW(s->set_assignment_version(a.id, "not-a-version"), core::Error);
}

}  // namespace
}  // namespace np::store
