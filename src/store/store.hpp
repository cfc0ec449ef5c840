// store::Store: persistence of every entity of DESIGN.md behind one interface; SQLite is the embedded
// implementation (sqlite_store.hpp). Calls are blocking and thread-safe: the event loop runs them on the
// core::WorkerPool (`co_await pool.run([&] { return store.get_user(id); })`), never on the loop itself.
// No Boost and no SQL in this header. JSON-valued columns travel as serialized JSON text.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace np::store {

// A provider whose labs live on one host (namespaces and processes of that machine): its environments
// are placed on an instance and only that instance touches them. Other labs (proxmox) are reached from any.
inline bool lives_on_one_host(const std::string& provider) {
    return provider == "local";
}

// Keyset pagination: ids are time-ordered (core::new_id), lists are sorted by id ascending and
// `after` is the last id of the previous page. `limit` is clamped to [1, 500].
struct Page {
    int limit = 50;
    std::string after;
};

template <class T>
struct PageResult {
    std::vector<T> items;
    std::string next;  // id to pass as `after` for the next page; empty on the last page
};

struct User {
    std::string id;
    std::string username;
    std::string realm;  // "local" or the realm name that accepted the login
    std::string role;   // a Role (store/states.hpp): "teacher" | "student"
    std::string display_name;
    std::string password_hash;  // argon2id encoded hash, local realm only; never leaves the server
    bool must_change_password = false;
    std::int64_t created_at = 0;  // unix seconds
    // Goes up (in update_user, by the store) when role, password_hash or disabled change: tokens carry the
    // generation they were issued in, and older ones are refused (migration 0003).
    std::int64_t session_gen = 1;
    bool disabled = false;  // cannot log in
};

struct ClaimFilter {
    std::string kind;            // empty: any kind
    bool one_per_owner = false;  // pass over jobs whose owner already runs one of this kind
    // The claiming instance: a job pinned to an instance (Job::instance_id, a local lab's jobs) is claimed
    // only by that one; empty: only jobs pinned to none.
    std::string instance_id;
};

struct UserFilter {
    std::string role;    // empty: any
    std::string realm;   // empty: any
    std::string search;  // substring of username or display name
};

struct Exercise {
    std::string id;
    std::string slug;
    std::string title;
    std::string created_by;  // user id
    std::int64_t created_at = 0;
    int latest_version = 0;     // highest version number, 0 when none
    int published_version = 0;  // highest published version number, 0 when none
};

// A version's content. A published version is immutable; a draft may be replaced.
struct ExerciseVersion {
    std::string id;
    std::string exercise_id;
    int version = 0;
    std::string state = "draft";  // a VersionState (store/states.hpp)
    std::string instructions;     // Markdown
    std::string spec;             // exercise.yaml text
    std::string topology;         // topology.yaml text (local provider), may be empty
    std::string gns3_project;     // name or reference of the GNS3 project (proxmox provider), may be empty
    std::int64_t created_at = 0;
    std::int64_t published_at = 0;
};

// A file attached to an exercise version (migration 0006): the uploaded GNS3 project, the files of an
// uploaded zip. The bytes are stored once per content (sha256) and shared by every version that has them.
struct Attachment {
    std::string version_id;
    std::string name;  // e.g. "lab.gns3project": unique per version
    std::string media_type = "application/octet-stream";
    std::string sha256;  // lowercase hex of the bytes (set by the store)
    std::int64_t size = 0;
    std::int64_t created_at = 0;
};

struct Assignment {
    std::string id;
    std::string exercise_id;
    std::string exercise_version_id;
    std::string student_id;
    std::string created_by;
    std::int64_t deadline = 0;  // unix seconds, 0: none
    int max_attempts = 0;       // 0: unlimited
    int cooldown_seconds = 0;
    std::string score_policy = "last";  // "last" | "best" | "average" (migration 0004)
    std::int64_t created_at = 0;
    // Migration 0004 (table assignment_rules): the course it was given in ('' none), late submissions
    // ("refuse" | "accept" with late_penalty percent off their score), and whether hidden checks stay
    // hidden from the student after the deadline.
    std::string course_id;
    std::string late_policy = "refuse";
    int late_penalty = 0;
    bool keep_hidden = false;
};

struct AssignmentFilter {
    std::string exercise_id;
    std::string student_id;
    std::string course_id;  // migration 0004
};

struct Environment {
    std::string id;
    std::string assignment_id;
    std::string student_id;
    std::string provider;                   // "local" | "proxmox"
    std::string desired_state = "absent";   // a DesiredState (store/states.hpp)
    std::string observed_state = "absent";  // an ObservedState (store/states.hpp)
    std::string provider_ids = "{}";        // JSON: {"node": "...", "vmid": 123} or {"lab": "..."}
    std::string addresses = "{}";           // JSON: how to reach the lab
    std::string last_error;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    // The instance the lab lives on (a local lab: the one that builds it, chosen by create_environment);
    // empty: any instance reaches it (proxmox), or not placed yet.
    std::string instance_id;
};

struct EnvironmentFilter {
    std::string assignment_id;
    std::string student_id;
    std::string observed_state;
    std::string exercise_id;
};

struct Evaluation {
    std::string id;
    std::string assignment_id;
    std::string student_id;
    int attempt = 0;                // 1-based per assignment
    std::string status = "queued";  // an EvaluationStatus (store/states.hpp)
    double score = 0;
    double max_score = 0;
    std::string results = "[]";     // JSON: per-check results
    std::string transcript = "[]";  // JSON: device transcript
    std::string error;
    std::string job_id;
    std::int64_t created_at = 0;
    std::int64_t finished_at = 0;
    // Migration 0004: the exercise version graded with ('' before 0004: the assignment's), whether it was
    // asked after the deadline, and the class-grading job that made it ('' when the student asked).
    std::string exercise_version_id;
    bool late = false;
    std::string run_id;
};

struct EvaluationFilter {
    std::string assignment_id;
    std::string student_id;
    std::string status;
};

// Evaluations in bulk (gradebooks, class reports): every field set must match.
struct EvaluationScope {
    std::string course_id;    // of assignments given in that course
    std::string exercise_id;  // of assignments of that exercise
    std::string run_id;       // made by that class-grading job
};

// A course and its roster (migration 0004).
struct Course {
    std::string id;
    std::string slug;
    std::string title;
    std::string groups = "[]";  // JSON array of group names; empty: a roster may name any group
    std::string created_by;
    std::int64_t created_at = 0;
    std::int64_t members = 0;  // read only
};

struct CourseMember {
    std::string course_id;
    std::string user_id;
    std::string group;
    std::string email;
    std::int64_t added_at = 0;
    User user;  // read only: the member's user row (list_course_members)
};

struct Job {
    std::string id;
    std::string kind;
    std::string params = "{}";     // JSON
    std::string state = "queued";  // a JobState (store/states.hpp)
    std::int64_t progress_done = 0;
    std::int64_t progress_total = 0;
    std::string message;
    std::string owner_id;  // user who started it
    int attempt = 0;       // incremented at each claim
    std::string lease_owner;
    std::int64_t lease_expires = 0;
    std::string result = "{}";  // JSON
    std::string error;
    std::string subject_type;  // optional object the job works on, e.g. "environment"
    std::string subject_id;
    std::int64_t created_at = 0;
    std::int64_t started_at = 0;
    std::int64_t finished_at = 0;
    std::string instance_id;  // the only instance that may run it (the one its lab lives on); empty: any
};

struct JobFilter {
    std::string state;
    std::string kind;
    std::string owner_id;
    std::string subject_id;
};

// A `netpraxis serve` sharing the store (migration 0005): registered and kept alive by a heartbeat.
struct Instance {
    std::string id;                      // server.instance_id: stable across restarts
    std::vector<std::string> providers;  // lab providers it offers ("local", "proxmox")
    int max_labs = 0;                    // lab.max_labs
    std::int64_t free_memory = 0;        // bytes available on its host at the last heartbeat
    std::int64_t memory_reserve = 0;     // it takes no new lab while free_memory is below this
    std::string address;                 // its API (http://host:port), for requests it must serve itself
    std::int64_t started_at = 0;
    std::int64_t heartbeat_at = 0;
    std::int64_t lease_expires = 0;  // alive until then
    int labs = 0;                    // read only: its environments whose lab exists or is wanted
    int placed = 0;                  // read only: all environments placed on it
};

struct AuditEntry {
    std::int64_t id = 0;
    std::int64_t at = 0;
    std::string actor_id;
    std::string action;       // e.g. "exercise.publish"
    std::string object_type;  // e.g. "exercise"
    std::string object_id;
    std::string detail;          // JSON
    std::string actor_name;      // the actor's username then (a failed login has no actor_id)
    std::string outcome = "ok";  // ok | denied | failed
};

// Which audit entries to list; empty fields do not filter.
struct AuditFilter {
    std::string object_id;
    std::string actor;   // an actor's user id or username
    std::string action;  // exact, or a prefix ending in '.' ("exercise." is every exercise action)
    std::string object_type;
    std::string outcome;        // ok | denied | failed
    std::int64_t since = 0;     // unix seconds, inclusive; 0: no bound
    std::int64_t until = 0;     // unix seconds, exclusive; 0: no bound
    bool newest_first = false;  // then `Page::after` is the id below which the page starts
};

class Store {
 public:
    virtual ~Store() = default;

    // Applies numbered migrations that are not yet applied; returns how many ran.
    virtual int migrate() = 0;
    virtual int schema_version() = 0;
    // Runs `fn` as one transaction: every Store call `fn` makes on this thread belongs to it; commits when
    // `fn` returns, rolls back when it throws (and rethrows). Nested calls join the outer transaction.
    virtual void transaction(const std::function<void()>& fn) = 0;
    // Cheap liveness probe for /readyz.
    virtual bool ping() = 0;

    // Settings: small named values (the generated JWT secret, ...).
    virtual std::optional<std::string> get_setting(const std::string& key) = 0;
    // Stores `value` unless the key exists; returns the stored value either way (first writer wins).
    virtual std::string put_setting_if_absent(const std::string& key, const std::string& value) = 0;

    // Users. Throws core::Error(conflict) on a duplicate (username, realm).
    virtual void create_user(const User& user) = 0;
    virtual std::optional<User> get_user(const std::string& id) = 0;
    virtual std::optional<User> find_user(const std::string& username, const std::string& realm) = 0;
    virtual PageResult<User> list_users(const UserFilter& filter, const Page& page) = 0;
    // Throws not_found. Bumps session_gen when role, password_hash or disabled differ from the stored row.
    virtual void update_user(const User& user) = 0;
    virtual void delete_user(const std::string& id) = 0;  // throws not_found
    virtual std::int64_t count_users() = 0;

    // Exercises and their versions. Slug is unique (conflict).
    virtual void create_exercise(const Exercise& exercise) = 0;
    virtual std::optional<Exercise> get_exercise(const std::string& id_or_slug) = 0;
    virtual PageResult<Exercise> list_exercises(const std::string& search, const Page& page) = 0;
    virtual void update_exercise_title(const std::string& id, const std::string& title) = 0;
    // Adds version latest+1 as a draft (fills version and id when empty); returns the stored row.
    virtual ExerciseVersion add_version(const ExerciseVersion& version) = 0;
    virtual std::optional<ExerciseVersion> get_version(const std::string& exercise_id, int version) = 0;
    virtual std::optional<ExerciseVersion> get_version_by_id(const std::string& version_id) = 0;
    virtual std::vector<ExerciseVersion> list_versions(const std::string& exercise_id) = 0;
    // Replaces a draft's content; throws conflict when the version is published.
    virtual void update_draft(const ExerciseVersion& version) = 0;
    // Marks a draft published (sets published_at); throws conflict when already published.
    virtual void publish_version(const std::string& exercise_id, int version, std::int64_t now) = 0;

    // Attachments of exercise versions (migration 0006). put_attachment stores the bytes under their sha256
    // (once per content) and adds or replaces the version's file of that name; it returns the row. Throws
    // not_found for an unknown version and conflict when the version is published (immutable).
    virtual Attachment put_attachment(const Attachment& meta, const std::string& bytes) = 0;
    virtual std::optional<Attachment> get_attachment(const std::string& version_id,
                                                     const std::string& name) = 0;
    virtual std::vector<Attachment> list_attachments(const std::string& version_id) = 0;  // sorted by name
    // The bytes of a content (an attachment's sha256); nullopt when no attachment holds it.
    virtual std::optional<std::string> attachment_bytes(const std::string& sha256) = 0;
    // Removes a draft's file (conflict when published, not_found when absent); the bytes go with the last
    // attachment that held them.
    virtual void delete_attachment(const std::string& version_id, const std::string& name) = 0;
    // Gives version `to` (a draft) every file of version `from` that it lacks, sharing their bytes; returns
    // how many it copied.
    virtual int copy_attachments(const std::string& from_version_id, const std::string& to_version_id) = 0;

    // Assignments (unique per exercise and student: conflict).
    virtual void create_assignment(const Assignment& a) = 0;
    virtual std::optional<Assignment> get_assignment(const std::string& id) = 0;
    virtual PageResult<Assignment> list_assignments(const AssignmentFilter& filter, const Page& page) = 0;
    virtual void delete_assignment(const std::string& id) = 0;

    // Environments (one per assignment).
    virtual void create_environment(const Environment& e) = 0;
    virtual std::optional<Environment> get_environment(const std::string& id) = 0;
    virtual std::optional<Environment> environment_for_assignment(const std::string& assignment_id) = 0;
    virtual PageResult<Environment> list_environments(const EnvironmentFilter& filter, const Page& page) = 0;
    virtual void update_environment(const Environment& e) = 0;  // all mutable fields; throws not_found
    virtual void delete_environment(const std::string& id) = 0;

    // Evaluations. `attempt` is assigned by create (max attempt of the assignment + 1).
    virtual Evaluation create_evaluation(const Evaluation& e) = 0;
    virtual std::optional<Evaluation> get_evaluation(const std::string& id) = 0;
    virtual PageResult<Evaluation> list_evaluations(const EvaluationFilter& filter, const Page& page) = 0;
    virtual void update_evaluation(const Evaluation& e) = 0;
    // The attempts used: evaluations of the assignment not in status 'error' (an error is no grade).
    virtual int count_evaluations(const std::string& assignment_id) = 0;
    virtual std::optional<Evaluation> last_evaluation(const std::string& assignment_id) = 0;

    // Courses and rosters (migration 0004). Slug is unique (conflict). Deleting a course removes its roster,
    // not its users nor its assignments.
    virtual void create_course(const Course& course) = 0;
    virtual std::optional<Course> get_course(const std::string& id_or_slug) = 0;
    virtual PageResult<Course> list_courses(const Page& page) = 0;
    virtual void update_course(const Course& course) = 0;   // title and groups; throws not_found
    virtual void delete_course(const std::string& id) = 0;  // throws not_found
    // Throws conflict when the user is already in the course, not_found for an unknown course or user.
    virtual void add_course_member(const CourseMember& member) = 0;
    // The roster sorted by username, with each user's row; `group` empty: every group.
    virtual std::vector<CourseMember> list_course_members(const std::string& course_id,
                                                          const std::string& group) = 0;
    virtual void remove_course_member(const std::string& course_id, const std::string& user_id) = 0;
    // Unpaged lists for gradebooks (a course is a few hundred students): sorted by id.
    virtual std::vector<Assignment> assignments_in(const AssignmentFilter& filter) = 0;
    virtual std::vector<Evaluation> evaluations_in(const EvaluationScope& scope) = 0;
    // Writes an assignment's rules: deadline, max_attempts, cooldown_seconds, score_policy, late_policy,
    // late_penalty, keep_hidden (throws not_found).
    virtual void update_assignment_rules(const Assignment& a) = 0;
    // Re-points an assignment at another version of its exercise (re-grading after a spec fix).
    virtual void set_assignment_version(const std::string& assignment_id, const std::string& version_id) = 0;

    // Jobs.
    virtual void create_job(const Job& job) = 0;
    virtual std::optional<Job> get_job(const std::string& id) = 0;
    virtual PageResult<Job> list_jobs(const JobFilter& filter, const Page& page) = 0;
    // Claims the oldest queued job, or a running one whose lease expired (crashed instance): sets state
    // running, lease_owner, lease_expires = now + lease_seconds, attempt + 1. Atomic across instances.
    // `filter`: only jobs of that kind (empty: any); with one_per_owner, a queued job is passed over while
    // its owner has a job of the same kind running under a live lease (one evaluation per student at a
    // time: a student who presses grade ten times holds one slot, not ten).
    virtual std::optional<Job> claim_job(const std::string& lease_owner, std::int64_t now, int lease_seconds,
                                         const ClaimFilter& filter) = 0;
    std::optional<Job> claim_job(const std::string& lease_owner, std::int64_t now, int lease_seconds) {
        return claim_job(lease_owner, now, lease_seconds, ClaimFilter{});
    }
    // Progress and lease renewal; returns false when the job is no longer leased by `lease_owner`.
    virtual bool update_job_progress(const std::string& id, const std::string& lease_owner, std::int64_t done,
                                     std::int64_t total, const std::string& message,
                                     std::int64_t lease_expires) = 0;
    // Final state (succeeded | failed | cancelled) with result JSON or error text.
    virtual void finish_job(const std::string& id, const std::string& state, const std::string& result,
                            const std::string& error, std::int64_t now) = 0;
    // Marks a queued or running job cancelled; returns false when it had already finished.
    virtual bool cancel_job(const std::string& id, std::int64_t now) = 0;
    virtual std::vector<std::pair<std::string, std::int64_t>> count_jobs_by_state() = 0;

    // Instances sharing the store (issue 13). register_instance inserts or refreshes the row (its
    // heartbeat: every field but started_at, which a restart sets again).
    virtual void register_instance(const Instance& instance) = 0;
    virtual std::optional<Instance> get_instance(const std::string& id) = 0;
    virtual std::vector<Instance> list_instances() = 0;  // sorted by id, with labs and placed counted
    // Where a new environment of `provider` lives: for "local", the live instance (lease_expires > now)
    // offering it with room (labs < max_labs, free_memory >= memory_reserve), least loaded first; empty
    // when the provider is reachable from any instance or no instance is registered at all (a store used
    // without `serve`). Throws conflict when instances are registered and none can take a local lab.
    // create_environment calls it for an environment whose instance_id is empty.
    virtual std::string place_environment(const std::string& provider, std::int64_t now) = 0;
    // Sets an unplaced environment's instance (a lab made before migration 0005); returns the instance
    // it lives on afterwards (`instance_id`, or the one that adopted it first).
    virtual std::string adopt_environment(const std::string& environment_id,
                                          const std::string& instance_id) = 0;
    virtual std::vector<Environment> environments_of_instance(const std::string& instance_id) = 0;
    // Queued and running jobs pinned to the instance, oldest first.
    virtual std::vector<Job> unfinished_jobs_of_instance(const std::string& instance_id) = 0;
    // Sets observed_state (and last_error, updated_at) only while it is still `from`: a write that does
    // not undo a newer one (desired_state and the rest are left alone). False when it was not `from`.
    virtual bool set_observed_state(const std::string& environment_id, const std::string& from,
                                    const std::string& to, const std::string& error, std::int64_t now) = 0;

    // Audit log (append-only).
    virtual void append_audit(const AuditEntry& entry) = 0;
    virtual PageResult<AuditEntry> list_audit(const AuditFilter& filter, const Page& page) = 0;
    PageResult<AuditEntry> list_audit(const std::string& object_id, const Page& page) {
        return list_audit(AuditFilter{.object_id = object_id}, page);
    }

    // Revoked session tokens (by JWT id), until they expire. revoke_token also forgets revocations of
    // tokens that have expired by `now`; revoked_tokens lists those revoked at or after `since` that have
    // not expired by `now`, with their expiry.
    virtual void revoke_token(const std::string& jti, std::int64_t expires_at, std::int64_t now) = 0;
    virtual std::vector<std::pair<std::string, std::int64_t>> revoked_tokens(std::int64_t since,
                                                                             std::int64_t now) = 0;

    // Notifications between instances sharing the store (PostgreSQL LISTEN/NOTIFY), so that events of a
    // job run by one instance reach browsers connected to another. The embedded SQLite store serves one
    // instance: notify does nothing and listen returns null.
    class Listener {
     public:
        virtual ~Listener() = default;
        // The connection's socket: wait for it to be readable (on the caller's event loop), then drain().
        virtual int fd() const = 0;
        // Reads what arrived without blocking and returns the payloads in the order they were sent.
        // Throws core::Error(unavailable) when the connection is lost: make a new listener.
        virtual std::vector<std::string> drain() = 0;
    };
    // Sends `payload` (at most 7999 bytes) to every listener of `channel`, at once (outside transactions).
    virtual void notify(const std::string& channel, const std::string& payload) {
        (void)channel;
        (void)payload;
    }
    // Opens a dedicated connection listening on `channel` (blocking: call it off the event loop).
    virtual std::unique_ptr<Listener> listen(const std::string& channel) {
        (void)channel;
        return nullptr;
    }
};

// Opens the store named by a URL: "sqlite:PATH" (or a bare path) or, later, "postgresql://...".
std::unique_ptr<Store> open_store(const std::string& url);

}  // namespace np::store
