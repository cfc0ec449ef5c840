// app gradebook and class grading (issue 12, parts 5 and 6).
//  - course_gradebook: the final score (app::final_score, by each assignment's policy) of every student of
//    a course for every exercise assigned in it, and the pass rate of each check over the evaluations that
//    gave those scores.
//  - class.grade: one job grading every assignment of an exercise (optionally of one course) now, with
//    bounded concurrency and progress per student. Each grading is an evaluation marked with the job's id
//    (run_id) that uses none of the student's attempts. With `version`, the assignments move to that
//    published version first (a spec fix): the earlier run's evaluations keep the version they were
//    graded with, so both runs' reports stay readable side by side, and gradebooks count the new one.
//  - class_report: a run's score histogram, per-check pass rates, the most frequent failing checks with
//    sample evidence, and one line per student.
// Blocking functions over the Store (call them on the worker pool), except the job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "app/grading.hpp"
#include "store/store.hpp"

namespace np::core {
class WorkerPool;
}

namespace np::app {

class JobRunner;
class Workflows;

struct CheckStats {
    std::string id;
    std::string title;
    bool hidden = false;
    int passed = 0;
    int failed = 0;  // failed, skipped or in error
    struct Sample {
        std::string student;  // username
        std::string status;
        std::string evidence;  // at most 500 bytes
    };
    std::vector<Sample> samples;  // up to 3 failing ones
    double pass_rate() const { return passed + failed ? static_cast<double>(passed) / (passed + failed) : 0; }
};

struct GradebookColumn {
    store::Exercise exercise;
    double max_score = 0;  // of the latest graded evaluation seen
    std::vector<CheckStats> checks;
};

struct GradebookRow {
    store::CourseMember member;
    // One cell per column: null when the student has no assignment of that exercise.
    std::vector<std::optional<FinalScore>> cells;
    std::vector<std::string> assignment_ids;  // per column, '' when none
};

struct Gradebook {
    store::Course course;
    std::vector<GradebookColumn> columns;  // exercises assigned in the course, by slug
    std::vector<GradebookRow> rows;        // roster order (username)
};

// Throws not_found for an unknown course.
Gradebook course_gradebook(store::Store& store, const std::string& course_ref);

struct ClassReportLine {
    store::User student;
    std::string assignment_id;
    std::string evaluation_id;
    std::string status;  // queued | running | done | error
    double score = 0, max_score = 0;
    std::string error;
};

struct ClassReport {
    store::Job job;
    std::string exercise_id;
    std::string exercise_version_id;
    int version = 0;
    std::vector<ClassReportLine> students;
    std::vector<int> histogram;  // 10 buckets of the score in percent: [0,10) ... [90,100]
    int graded = 0, errors = 0, pending = 0;
    double mean_percent = 0;
    std::vector<CheckStats> checks;    // spec order
    std::vector<std::string> failing;  // check ids, most failed first (at most 5, only those that failed)
};

// The report of a class.grade job (its id); throws not_found when there is no such run.
ClassReport class_report(store::Store& store, const std::string& run_id);

// Registers the class.grade job kind (params: job::GradeClass, app/job_kinds.hpp).
// ('' : every assignment of the exercise), concurrency (1-64, default 8)}.
void register_class_grading(JobRunner& jobs, store::Store& store, core::WorkerPool& pool,
                            Workflows& workflows);

}  // namespace np::app
