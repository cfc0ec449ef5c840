// store::SqlStore<Conn>: the Store methods both engines implement the same way, on the calling thread's
// connection. SqliteStore and PgStore derive from it and supply connection(); the member definitions are
// written once per entity (sql_users.hpp, sql_exercises.hpp, ... over the helpers of sql_ops.hpp), gathered
// by sql_store_impl.hpp and instantiated once in each engine's .cpp, so neither the connection types nor
// the SQL logic reach the code that includes these headers.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace np::store {

template <class Conn>
class SqlStore : public Store {
 public:
    int migrate() override;
    int schema_version() override;
    void transaction(const std::function<void()>& fn) override;
    bool ping() override;

    std::optional<std::string> get_setting(const std::string& key) override;
    std::string put_setting_if_absent(const std::string& key, const std::string& value) override;

    void create_user(const User& user) override;
    std::optional<User> get_user(const std::string& id) override;
    std::optional<User> find_user(const std::string& username, const std::string& realm) override;
    PageResult<User> list_users(const UserFilter& filter, const Page& page) override;
    void update_user(const User& user) override;
    void delete_user(const std::string& id) override;
    std::int64_t count_users() override;

    void create_exercise(const Exercise& exercise) override;
    std::optional<Exercise> get_exercise(const std::string& id_or_slug) override;
    PageResult<Exercise> list_exercises(const std::string& search, const Page& page) override;
    void update_exercise_title(const std::string& id, const std::string& title) override;
    ExerciseVersion add_version(const ExerciseVersion& version) override;
    std::optional<ExerciseVersion> get_version(const std::string& exercise_id, int version) override;
    std::optional<ExerciseVersion> get_version_by_id(const std::string& version_id) override;
    std::vector<ExerciseVersion> list_versions(const std::string& exercise_id) override;
    void update_draft(const ExerciseVersion& version) override;
    void publish_version(const std::string& exercise_id, int version, std::int64_t now) override;

    Attachment put_attachment(const Attachment& meta, const std::string& bytes) override;
    std::optional<Attachment> get_attachment(const std::string& version_id, const std::string& name) override;
    std::vector<Attachment> list_attachments(const std::string& version_id) override;
    std::optional<std::string> attachment_bytes(const std::string& sha256) override;
    void delete_attachment(const std::string& version_id, const std::string& name) override;
    int copy_attachments(const std::string& from_version_id, const std::string& to_version_id) override;

    void create_assignment(const Assignment& a) override;
    std::optional<Assignment> get_assignment(const std::string& id) override;
    PageResult<Assignment> list_assignments(const AssignmentFilter& filter, const Page& page) override;
    void delete_assignment(const std::string& id) override;

    void create_environment(const Environment& e) override;
    std::optional<Environment> get_environment(const std::string& id) override;
    std::optional<Environment> environment_for_assignment(const std::string& assignment_id) override;
    PageResult<Environment> list_environments(const EnvironmentFilter& filter, const Page& page) override;
    void update_environment(const Environment& e) override;
    void delete_environment(const std::string& id) override;

    Evaluation create_evaluation(const Evaluation& e) override;
    std::optional<Evaluation> get_evaluation(const std::string& id) override;
    PageResult<Evaluation> list_evaluations(const EvaluationFilter& filter, const Page& page) override;
    void update_evaluation(const Evaluation& e) override;
    int count_evaluations(const std::string& assignment_id) override;
    std::optional<Evaluation> last_evaluation(const std::string& assignment_id) override;

    void create_course(const Course& course) override;
    std::optional<Course> get_course(const std::string& id_or_slug) override;
    PageResult<Course> list_courses(const Page& page) override;
    void update_course(const Course& course) override;
    void delete_course(const std::string& id) override;
    void add_course_member(const CourseMember& member) override;
    std::vector<CourseMember> list_course_members(const std::string& course_id,
                                                  const std::string& group) override;
    void remove_course_member(const std::string& course_id, const std::string& user_id) override;
    std::vector<Assignment> assignments_in(const AssignmentFilter& filter) override;
    std::vector<Evaluation> evaluations_in(const EvaluationScope& scope) override;
    void update_assignment_rules(const Assignment& a) override;
    void set_assignment_version(const std::string& assignment_id, const std::string& version_id) override;

    void create_job(const Job& job) override;
    std::optional<Job> get_job(const std::string& id) override;
    PageResult<Job> list_jobs(const JobFilter& filter, const Page& page) override;
    using Store::claim_job;
    std::optional<Job> claim_job(const std::string& lease_owner, std::int64_t now, int lease_seconds,
                                 const ClaimFilter& filter) override;
    bool update_job_progress(const std::string& id, const std::string& lease_owner, std::int64_t done,
                             std::int64_t total, const std::string& message,
                             std::int64_t lease_expires) override;
    void finish_job(const std::string& id, const std::string& state, const std::string& result,
                    const std::string& error, std::int64_t now) override;
    bool cancel_job(const std::string& id, std::int64_t now) override;
    std::vector<std::pair<std::string, std::int64_t>> count_jobs_by_state() override;

    void register_instance(const Instance& instance) override;
    std::optional<Instance> get_instance(const std::string& id) override;
    std::vector<Instance> list_instances() override;
    std::string place_environment(const std::string& provider, std::int64_t now) override;
    std::string adopt_environment(const std::string& environment_id, const std::string& instance_id) override;
    std::vector<Environment> environments_of_instance(const std::string& instance_id) override;
    std::vector<Job> unfinished_jobs_of_instance(const std::string& instance_id) override;
    bool set_observed_state(const std::string& environment_id, const std::string& from, const std::string& to,
                            const std::string& error, std::int64_t now) override;

    void append_audit(const AuditEntry& entry) override;
    using Store::list_audit;
    PageResult<AuditEntry> list_audit(const AuditFilter& filter, const Page& page) override;
    void revoke_token(const std::string& jti, std::int64_t expires_at, std::int64_t now) override;
    std::vector<std::pair<std::string, std::int64_t>> revoked_tokens(std::int64_t since,
                                                                     std::int64_t now) override;

 protected:
    // This thread's connection (opened on first use).
    virtual Conn& connection() = 0;
};

}  // namespace np::store
