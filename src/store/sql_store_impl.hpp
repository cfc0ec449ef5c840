// Definitions of SqlStore<Conn> (sql_store.hpp), one header per entity (sql_users.hpp ... sql_audit.hpp:
// each method written there once, on this thread's connection), and the course and instance methods,
// which run sql::CourseOps and sql::InstanceOps. Include only where the connection type is complete, then
// instantiate: `template class SqlStore<Conn>;`.
#pragma once

#include "store/instances_ops.hpp"
#include "store/sql_assignments.hpp"
#include "store/sql_attachments.hpp"
#include "store/sql_audit.hpp"
#include "store/sql_course_ops.hpp"
#include "store/sql_environments.hpp"
#include "store/sql_evaluations.hpp"
#include "store/sql_exercises.hpp"
#include "store/sql_jobs.hpp"
#include "store/sql_ops.hpp"
#include "store/sql_schema.hpp"
#include "store/sql_store.hpp"
#include "store/sql_users.hpp"

namespace np::store {

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
