// app courses (issue 12, parts 1 and 3): assigning an exercise to students, course rosters imported from
// CSV, and assigning to a whole course as one job.
//  - Roster import: every line checked before anything is stored (per-line errors, nothing half-imported).
//    A listed user who never logged in is created as a row of the realm named by the import, keyed by
//    realm + username: the first login through that realm (local, proxmox, ldap) finds that row, so
//    students can be assigned before they ever log in.
//  - course.assign: one job creating an assignment and an environment per student of the course (or of
//    one group), with progress per student; students already assigned are skipped (the job can be re-run).
//    On a provider whose labs live on a shared cluster (proxmox) it then submits ONE environments.provision
//    job for the course's environments no job has driven yet (app/provisioning.hpp), as
//    POST /api/v1/assignments does; local environments are made when started.
// Blocking functions over the Store (call them on the worker pool), except the job.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "app/grading.hpp"
#include "store/store.hpp"

namespace np::core {
class WorkerPool;
}

namespace np::app {

class JobRunner;

// The exercise (id or slug) and its published version (`version` 0: the latest published); throws
// not_found or conflict (nothing published yet).
std::pair<store::Exercise, store::ExerciseVersion> published_version(store::Store& store,
                                                                     const std::string& exercise_ref,
                                                                     int version);

struct AssignRequest {
    std::string exercise_ref;  // id or slug
    int version = 0;           // 0: the latest published
    std::vector<std::string> student_ids;
    RuleOverrides rules;
    std::string course_id;  // '' outside a course
    std::string created_by;
    std::string provider;  // of the new environments
};

// One assignment and one (absent) environment per student, all or none: one transaction. A student id
// that is not a student is a 400 naming `student_ids[i]`.
std::vector<store::Assignment> assign_students(store::Store& store, const AssignRequest& request);

// A teacher's trial run of an exercise version (a draft too, `version` 0: the latest): an assignment of that
// version to the teacher themselves, with its environment, made once and found again afterwards. The
// teacher starts its lab and grades it like a student would (no attempt limit: teachers are not counted);
// it belongs to no course, and the class board and gradebooks list students only. Throws not_found.
store::Assignment trial_assignment(store::Store& store, const std::string& exercise_ref, int version,
                                   const std::string& teacher_id, const std::string& provider);

// One roster line as read from the CSV.
struct RosterLine {
    int line = 0;  // 1-based line of the CSV file
    std::string username, display_name, email, group;
};

// Parses a roster CSV (RFC 4180: commas, double quotes, CRLF or LF). The header names the columns:
// username (required), display_name (or "display name", "name"), email, group; in any order, case and
// surrounding spaces ignored. Throws core::Error(invalid) listing every problem with its line: an unknown
// or repeated column, a line with the wrong number of fields, an empty or malformed username, a malformed
// email, a username listed twice, a group the course does not declare (`groups` empty: any).
std::vector<RosterLine> parse_roster(const std::string& csv, const std::vector<std::string>& groups);

struct RosterImport {
    int added = 0;                     // new members of the course
    int created = 0;                   // of which user rows made for people who never logged in
    std::vector<std::string> already;  // usernames already in the course (left as they are)
};

// Imports a parsed roster into a course: users found by (username, realm) or created there as students;
// a listed user who is a teacher is an error naming the line. One transaction: all or nothing.
RosterImport import_roster(store::Store& store, const std::string& course_id, const std::string& realm,
                           const std::vector<RosterLine>& lines);

// Registers the course.assign job kind (its params: job::AssignCourse, app/job_kinds.hpp); its result:
// {assigned, skipped, students: [{student_id, username, status}], provision_job_id (proxmox, when any)}.
void register_course_jobs(JobRunner& jobs, store::Store& store, core::WorkerPool& pool);

}  // namespace np::app
