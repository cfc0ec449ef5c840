// Definitions of SqlStore<Conn> (sql_store.hpp): each method runs sql::Ops on this thread's connection.
// Include only where the connection type is complete, then instantiate: `template class SqlStore<Conn>;`.
#pragma once

#include "store/instances_ops.hpp"
#include "store/sql_course_ops.hpp"
#include "store/sql_ops.hpp"
#include "store/sql_store.hpp"

namespace np::store {

template <class Conn>
int SqlStore<Conn>::migrate() {
    return sql::Ops<Conn>(connection()).migrate();
}

template <class Conn>
int SqlStore<Conn>::schema_version() {
    return sql::Ops<Conn>(connection()).schema_version();
}

template <class Conn>
void SqlStore<Conn>::transaction(const std::function<void()>& fn) {
    sql::Ops<Conn>(connection()).transaction(fn);
}

template <class Conn>
bool SqlStore<Conn>::ping() {
    return sql::Ops<Conn>(connection()).ping();
}

template <class Conn>
std::optional<std::string> SqlStore<Conn>::get_setting(const std::string& key) {
    return sql::Ops<Conn>(connection()).get_setting(key);
}

template <class Conn>
std::string SqlStore<Conn>::put_setting_if_absent(const std::string& key, const std::string& value) {
    return sql::Ops<Conn>(connection()).put_setting_if_absent(key, value);
}

template <class Conn>
void SqlStore<Conn>::create_user(const User& user) {
    sql::Ops<Conn>(connection()).create_user(user);
}

template <class Conn>
std::optional<User> SqlStore<Conn>::get_user(const std::string& id) {
    return sql::Ops<Conn>(connection()).get_user(id);
}

template <class Conn>
std::optional<User> SqlStore<Conn>::find_user(const std::string& username, const std::string& realm) {
    return sql::Ops<Conn>(connection()).find_user(username, realm);
}

template <class Conn>
PageResult<User> SqlStore<Conn>::list_users(const UserFilter& filter, const Page& page) {
    return sql::Ops<Conn>(connection()).list_users(filter, page);
}

template <class Conn>
void SqlStore<Conn>::update_user(const User& user) {
    sql::Ops<Conn>(connection()).update_user(user);
}

template <class Conn>
void SqlStore<Conn>::delete_user(const std::string& id) {
    sql::Ops<Conn>(connection()).delete_user(id);
}

template <class Conn>
std::int64_t SqlStore<Conn>::count_users() {
    return sql::Ops<Conn>(connection()).count_users();
}

template <class Conn>
void SqlStore<Conn>::create_exercise(const Exercise& exercise) {
    sql::Ops<Conn>(connection()).create_exercise(exercise);
}

template <class Conn>
std::optional<Exercise> SqlStore<Conn>::get_exercise(const std::string& id_or_slug) {
    return sql::Ops<Conn>(connection()).get_exercise(id_or_slug);
}

template <class Conn>
PageResult<Exercise> SqlStore<Conn>::list_exercises(const std::string& search, const Page& page) {
    return sql::Ops<Conn>(connection()).list_exercises(search, page);
}

template <class Conn>
void SqlStore<Conn>::update_exercise_title(const std::string& id, const std::string& title) {
    sql::Ops<Conn>(connection()).update_exercise_title(id, title);
}

template <class Conn>
ExerciseVersion SqlStore<Conn>::add_version(const ExerciseVersion& version) {
    return sql::Ops<Conn>(connection()).add_version(version);
}

template <class Conn>
std::optional<ExerciseVersion> SqlStore<Conn>::get_version(const std::string& exercise_id, int version) {
    return sql::Ops<Conn>(connection()).get_version(exercise_id, version);
}

template <class Conn>
std::optional<ExerciseVersion> SqlStore<Conn>::get_version_by_id(const std::string& version_id) {
    return sql::Ops<Conn>(connection()).get_version_by_id(version_id);
}

template <class Conn>
std::vector<ExerciseVersion> SqlStore<Conn>::list_versions(const std::string& exercise_id) {
    return sql::Ops<Conn>(connection()).list_versions(exercise_id);
}

template <class Conn>
void SqlStore<Conn>::update_draft(const ExerciseVersion& version) {
    sql::Ops<Conn>(connection()).update_draft(version);
}

template <class Conn>
void SqlStore<Conn>::publish_version(const std::string& exercise_id, int version, std::int64_t now) {
    sql::Ops<Conn>(connection()).publish_version(exercise_id, version, now);
}

template <class Conn>
void SqlStore<Conn>::create_assignment(const Assignment& a) {
    sql::Ops<Conn>(connection()).create_assignment(a);
}

template <class Conn>
std::optional<Assignment> SqlStore<Conn>::get_assignment(const std::string& id) {
    return sql::Ops<Conn>(connection()).get_assignment(id);
}

template <class Conn>
PageResult<Assignment> SqlStore<Conn>::list_assignments(const AssignmentFilter& filter, const Page& page) {
    return sql::Ops<Conn>(connection()).list_assignments(filter, page);
}

template <class Conn>
void SqlStore<Conn>::delete_assignment(const std::string& id) {
    sql::Ops<Conn>(connection()).delete_assignment(id);
}

template <class Conn>
void SqlStore<Conn>::create_environment(const Environment& e) {
    auto& c = connection();
    if (!e.instance_id.empty()) return sql::Ops<Conn>(c).create_environment(e);
    // Placed in the transaction that stores it: the choice and the row are one step.
    sql::run_transaction(c, [&] {
        Environment placed = e;
        placed.instance_id = sql::InstanceOps<Conn>(c).place_environment(e.provider, core::unix_now());
        sql::Ops<Conn>(c).create_environment(placed);
    });
}

template <class Conn>
std::optional<Environment> SqlStore<Conn>::get_environment(const std::string& id) {
    return sql::Ops<Conn>(connection()).get_environment(id);
}

template <class Conn>
std::optional<Environment> SqlStore<Conn>::environment_for_assignment(const std::string& assignment_id) {
    return sql::Ops<Conn>(connection()).environment_for_assignment(assignment_id);
}

template <class Conn>
PageResult<Environment> SqlStore<Conn>::list_environments(const EnvironmentFilter& filter, const Page& page) {
    return sql::Ops<Conn>(connection()).list_environments(filter, page);
}

template <class Conn>
void SqlStore<Conn>::update_environment(const Environment& e) {
    sql::Ops<Conn>(connection()).update_environment(e);
}

template <class Conn>
void SqlStore<Conn>::delete_environment(const std::string& id) {
    sql::Ops<Conn>(connection()).delete_environment(id);
}

template <class Conn>
Evaluation SqlStore<Conn>::create_evaluation(const Evaluation& e) {
    return sql::Ops<Conn>(connection()).create_evaluation(e);
}

template <class Conn>
std::optional<Evaluation> SqlStore<Conn>::get_evaluation(const std::string& id) {
    return sql::Ops<Conn>(connection()).get_evaluation(id);
}

template <class Conn>
PageResult<Evaluation> SqlStore<Conn>::list_evaluations(const EvaluationFilter& filter, const Page& page) {
    return sql::Ops<Conn>(connection()).list_evaluations(filter, page);
}

template <class Conn>
void SqlStore<Conn>::update_evaluation(const Evaluation& e) {
    sql::Ops<Conn>(connection()).update_evaluation(e);
}

template <class Conn>
int SqlStore<Conn>::count_evaluations(const std::string& assignment_id) {
    return sql::Ops<Conn>(connection()).count_evaluations(assignment_id);
}

template <class Conn>
std::optional<Evaluation> SqlStore<Conn>::last_evaluation(const std::string& assignment_id) {
    return sql::Ops<Conn>(connection()).last_evaluation(assignment_id);
}

template <class Conn>
void SqlStore<Conn>::create_job(const Job& job) {
    sql::Ops<Conn>(connection()).create_job(job);
}

template <class Conn>
std::optional<Job> SqlStore<Conn>::get_job(const std::string& id) {
    return sql::Ops<Conn>(connection()).get_job(id);
}

template <class Conn>
PageResult<Job> SqlStore<Conn>::list_jobs(const JobFilter& filter, const Page& page) {
    return sql::Ops<Conn>(connection()).list_jobs(filter, page);
}

template <class Conn>
std::optional<Job> SqlStore<Conn>::claim_job(const std::string& lease_owner, std::int64_t now,
                                             int lease_seconds, const ClaimFilter& filter) {
    return sql::Ops<Conn>(connection()).claim_job(lease_owner, now, lease_seconds, filter);
}

template <class Conn>
bool SqlStore<Conn>::update_job_progress(const std::string& id, const std::string& lease_owner,
                                         std::int64_t done, std::int64_t total, const std::string& message,
                                         std::int64_t lease_expires) {
    return sql::Ops<Conn>(connection())
        .update_job_progress(id, lease_owner, done, total, message, lease_expires);
}

template <class Conn>
void SqlStore<Conn>::finish_job(const std::string& id, const std::string& state, const std::string& result,
                                const std::string& error, std::int64_t now) {
    sql::Ops<Conn>(connection()).finish_job(id, state, result, error, now);
}

template <class Conn>
bool SqlStore<Conn>::cancel_job(const std::string& id, std::int64_t now) {
    return sql::Ops<Conn>(connection()).cancel_job(id, now);
}

template <class Conn>
std::vector<std::pair<std::string, std::int64_t>> SqlStore<Conn>::count_jobs_by_state() {
    return sql::Ops<Conn>(connection()).count_jobs_by_state();
}

template <class Conn>
void SqlStore<Conn>::revoke_token(const std::string& jti, std::int64_t expires_at, std::int64_t now) {
    sql::Ops<Conn>(connection()).revoke_token(jti, expires_at, now);
}

template <class Conn>
std::vector<std::pair<std::string, std::int64_t>> SqlStore<Conn>::revoked_tokens(std::int64_t since,
                                                                                 std::int64_t now) {
    return sql::Ops<Conn>(connection()).revoked_tokens(since, now);
}

template <class Conn>
void SqlStore<Conn>::append_audit(const AuditEntry& entry) {
    sql::Ops<Conn>(connection()).append_audit(entry);
}

template <class Conn>
PageResult<AuditEntry> SqlStore<Conn>::list_audit(const AuditFilter& filter, const Page& page) {
    return sql::Ops<Conn>(connection()).list_audit(filter, page);
}

// ---- instances (instances_ops.hpp)

template <class Conn>
void SqlStore<Conn>::register_instance(const Instance& instance) {
    sql::InstanceOps<Conn>(connection()).register_instance(instance);
}

template <class Conn>
std::optional<Instance> SqlStore<Conn>::get_instance(const std::string& id) {
    return sql::InstanceOps<Conn>(connection()).get_instance(id);
}

template <class Conn>
std::vector<Instance> SqlStore<Conn>::list_instances() {
    return sql::InstanceOps<Conn>(connection()).list_instances();
}

template <class Conn>
std::string SqlStore<Conn>::place_environment(const std::string& provider, std::int64_t now) {
    return sql::InstanceOps<Conn>(connection()).place_environment(provider, now);
}

template <class Conn>
std::string SqlStore<Conn>::adopt_environment(const std::string& environment_id,
                                              const std::string& instance_id) {
    return sql::InstanceOps<Conn>(connection()).adopt_environment(environment_id, instance_id);
}

template <class Conn>
std::vector<Environment> SqlStore<Conn>::environments_of_instance(const std::string& instance_id) {
    return sql::InstanceOps<Conn>(connection()).environments_of_instance(instance_id);
}

template <class Conn>
std::vector<Job> SqlStore<Conn>::unfinished_jobs_of_instance(const std::string& instance_id) {
    return sql::InstanceOps<Conn>(connection()).unfinished_jobs_of_instance(instance_id);
}

template <class Conn>
bool SqlStore<Conn>::set_observed_state(const std::string& environment_id, const std::string& from,
                                        const std::string& to, const std::string& error, std::int64_t now) {
    return sql::InstanceOps<Conn>(connection()).set_observed_state(environment_id, from, to, error, now);
}

// ---- courses (sql_course_ops.hpp)

template <class Conn>
void SqlStore<Conn>::create_course(const Course& course) {
    sql::CourseOps<Conn>(connection()).create_course(course);
}

template <class Conn>
std::optional<Course> SqlStore<Conn>::get_course(const std::string& id_or_slug) {
    return sql::CourseOps<Conn>(connection()).get_course(id_or_slug);
}

template <class Conn>
PageResult<Course> SqlStore<Conn>::list_courses(const Page& page) {
    return sql::CourseOps<Conn>(connection()).list_courses(page);
}

template <class Conn>
void SqlStore<Conn>::update_course(const Course& course) {
    sql::CourseOps<Conn>(connection()).update_course(course);
}

template <class Conn>
void SqlStore<Conn>::delete_course(const std::string& id) {
    sql::CourseOps<Conn>(connection()).delete_course(id);
}

template <class Conn>
void SqlStore<Conn>::add_course_member(const CourseMember& member) {
    sql::CourseOps<Conn>(connection()).add_course_member(member);
}

template <class Conn>
std::vector<CourseMember> SqlStore<Conn>::list_course_members(const std::string& course_id,
                                                              const std::string& group) {
    return sql::CourseOps<Conn>(connection()).list_course_members(course_id, group);
}

template <class Conn>
void SqlStore<Conn>::remove_course_member(const std::string& course_id, const std::string& user_id) {
    sql::CourseOps<Conn>(connection()).remove_course_member(course_id, user_id);
}

template <class Conn>
std::vector<Assignment> SqlStore<Conn>::assignments_in(const AssignmentFilter& filter) {
    return sql::CourseOps<Conn>(connection()).assignments_in(filter);
}

template <class Conn>
std::vector<Evaluation> SqlStore<Conn>::evaluations_in(const EvaluationScope& scope) {
    return sql::CourseOps<Conn>(connection()).evaluations_in(scope);
}

template <class Conn>
void SqlStore<Conn>::update_assignment_rules(const Assignment& a) {
    sql::CourseOps<Conn>(connection()).update_assignment_rules(a);
}

template <class Conn>
void SqlStore<Conn>::set_assignment_version(const std::string& assignment_id, const std::string& version_id) {
    sql::CourseOps<Conn>(connection()).set_assignment_version(assignment_id, version_id);
}

}  // namespace np::store
