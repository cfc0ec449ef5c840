// app job kinds: every kind of job netpraxis runs, one params struct each, its name written once (`kind`)
// and its params' JSON in one place (job_kinds.cpp). The API submits `make_job(params)`; the use-case
// registers `register_job<Params>` and receives the params parsed; nobody else spells a kind.
//
// A new job kind: a struct here with `static constexpr const char* kind`, a `to_text`/`from_text` pair in
// job_kinds.cpp, `register_job<Params>(...)` next to its use-case in src/app, and (if it needs its own queue)
// a line in `job_kinds` (src/cmd/server_main.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "app/courses.hpp"
#include "app/jobs.hpp"
#include "core/error.hpp"

namespace np::app::job {

// Drives an environment's lab toward its desired state (Workflows::reconcile).
struct ReconcileEnvironment {
    static constexpr const char* kind = "environment.reconcile";
    std::string environment_id;
    std::string action;  // start | stop | reset | destroy (reset rebuilds a running lab)
};

// Grades one evaluation (Workflows::evaluate).
struct RunEvaluation {
    static constexpr const char* kind = "evaluation.run";
    std::string evaluation_id;
    std::string assignment_id;
};

// Grades a whole class on one exercise (gradebook.cpp).
struct GradeClass {
    static constexpr const char* kind = "class.grade";
    std::string exercise_id;
    std::string course_id;  // '' : every assignment of the exercise
    int concurrency = 8;    // students graded at once, 1-64
    int version = 0;        // re-grade with this published version; 0: each assignment's own
};

// Assigns an exercise to a course's members (courses.cpp).
struct AssignCourse {
    static constexpr const char* kind = "course.assign";
    AssignRequest request;  // student_ids unused: the members of course_id (and group)
    std::string group;      // '' : every member
};

// Creates a class's environments (not started) as one batch of their provider (lab::BatchProvider: the
// proxmox provider's clone workload), with progress per VM on the event stream (provisioning.cpp).
struct ProvisionEnvironments {
    static constexpr const char* kind = "environments.provision";
    std::vector<std::string> environment_ids;
};

// Starts a class's environments in waves bounded by the cluster's capacity (provisioning.cpp).
struct StartEnvironments {
    static constexpr const char* kind = "environments.start";
    std::vector<std::string> environment_ids;
};

// Params as stored in store::Job::params (a JSON object text), and back. from_text throws
// core::Error(invalid) naming the kind and the field when the text is not what the kind wrote.
std::string to_text(const ReconcileEnvironment& p);
std::string to_text(const RunEvaluation& p);
std::string to_text(const GradeClass& p);
std::string to_text(const AssignCourse& p);
std::string to_text(const ProvisionEnvironments& p);
std::string to_text(const StartEnvironments& p);
void from_text(const std::string& text, ReconcileEnvironment& p);
void from_text(const std::string& text, RunEvaluation& p);
void from_text(const std::string& text, GradeClass& p);
void from_text(const std::string& text, AssignCourse& p);
void from_text(const std::string& text, ProvisionEnvironments& p);
void from_text(const std::string& text, StartEnvironments& p);

// A job's params, parsed as kind P (throws core::Error(invalid) when the job is of another kind).
template <class P>
P params_of(const store::Job& job) {
    if (job.kind != P::kind)
        throw core::invalid("job " + job.id + " is a " + job.kind + ", not a " + P::kind);
    P p;
    from_text(job.params, p);
    return p;
}

// A job of kind P to submit (kind and params set; the caller fills owner and subject).
template <class P>
store::Job make_job(const P& params) {
    store::Job job;
    job.kind = P::kind;
    job.params = to_text(params);
    return job;
}

// Registers kind P: `fn(ctx, params)` runs it, `pin(params)` (optional, run on the worker pool) names the
// instance it must run on.
template <class P, class Fn>
void register_job(JobRunner& jobs, Fn fn) {
    jobs.register_kind(P::kind,
                       [fn = std::move(fn)](JobContext& ctx) { return fn(ctx, params_of<P>(ctx.job())); });
}
template <class P, class Fn, class Pin>
void register_job(JobRunner& jobs, Fn fn, Pin pin) {
    jobs.register_kind(
        P::kind, [fn = std::move(fn)](JobContext& ctx) { return fn(ctx, params_of<P>(ctx.job())); },
        [pin = std::move(pin)](const store::Job& job) { return pin(params_of<P>(job)); });
}

}  // namespace np::app::job
