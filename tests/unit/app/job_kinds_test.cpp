// Job kinds: each params struct survives its stored JSON, the stored keys stay what older rows hold, and
// params that are not what the kind wrote are refused naming the kind and the field.
#include "app/job_kinds.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/error.hpp"

namespace np::app::job {
namespace {

namespace json = boost::json;

TEST(JobKinds, ReconcileEnvironmentRoundTripsWithTheStoredKeys) {
    auto job = make_job(ReconcileEnvironment{"e1", "reset"});
    EXPECT_EQ(job.kind, "environment.reconcile");
    EXPECT_EQ(json::parse(job.params), json::parse(R"({"environment_id":"e1","action":"reset"})"));
    auto back = params_of<ReconcileEnvironment>(job);
    EXPECT_EQ(back.environment_id, "e1");
    EXPECT_EQ(back.action, "reset");
}

TEST(JobKinds, RunEvaluationReadsARowWrittenBeforeTheStructs) {
    store::Job job;
    job.kind = "evaluation.run";
    job.params = R"({"evaluation_id":"v1","assignment_id":"a1"})";
    auto p = params_of<RunEvaluation>(job);
    EXPECT_EQ(p.evaluation_id, "v1");
    EXPECT_EQ(p.assignment_id, "a1");
}

TEST(JobKinds, GradeClassKeepsVersionOnlyWhenSetAndBoundsConcurrency) {
    auto job = make_job(GradeClass{"x1", "", 12, 0});
    EXPECT_EQ(job.kind, "class.grade");
    EXPECT_FALSE(json::parse(job.params).as_object().contains("version"));
    job.params = R"({"exercise_id":"x1","concurrency":500,"version":3})";
    auto p = params_of<GradeClass>(job);
    EXPECT_EQ(p.concurrency, 64);
    EXPECT_EQ(p.version, 3);
    EXPECT_EQ(p.course_id, "");
}

TEST(JobKinds, AssignCourseCarriesItsRules) {
    AssignCourse a;
    a.request.course_id = "c1";
    a.request.exercise_ref = "x1";
    a.request.version = 2;
    a.request.created_by = "t1";
    a.request.provider = "local";
    a.request.rules.max_attempts = 3;
    a.request.rules.score = "best";
    a.request.rules.keep_hidden = true;
    a.group = "g1";
    auto job = make_job(a);
    EXPECT_EQ(job.kind, "course.assign");
    auto stored = json::parse(job.params).as_object();
    EXPECT_EQ(stored.at("exercise_id"), "x1");
    EXPECT_EQ(stored.at("rules").as_object().at("score_policy"), "best");
    auto back = params_of<AssignCourse>(job);
    EXPECT_EQ(back.request.course_id, "c1");
    EXPECT_EQ(back.request.exercise_ref, "x1");
    EXPECT_EQ(back.request.version, 2);
    EXPECT_EQ(back.request.created_by, "t1");
    EXPECT_EQ(back.request.provider, "local");
    EXPECT_EQ(back.request.rules.max_attempts, 3);
    EXPECT_EQ(back.request.rules.score, "best");
    EXPECT_EQ(back.request.rules.keep_hidden, true);
    EXPECT_FALSE(back.request.rules.deadline);
    EXPECT_EQ(back.group, "g1");
}

TEST(JobKinds, BadParamsAreRefusedNamingKindAndField) {
    store::Job job;
    job.kind = "evaluation.run";
    job.params = "not json";
    try {
        params_of<RunEvaluation>(job);
        FAIL() << "parsed";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::invalid);
        EXPECT_NE(std::string(e.what()).find("evaluation.run"), std::string::npos) << e.what();
    }
    job.params = R"({"evaluation_id": 7})";
    try {
        params_of<RunEvaluation>(job);
        FAIL() << "parsed";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("'evaluation_id' must be a string"), std::string::npos)
            << e.what();
    }
    job.kind = "class.grade";
    EXPECT_THROW(params_of<RunEvaluation>(job), core::Error);  // another kind's job
}

}  // namespace
}  // namespace np::app::job
