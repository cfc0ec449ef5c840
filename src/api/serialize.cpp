// JSON views of stored entities. Secrets (password hashes) never appear here.
#include "api/handlers.hpp"
#include "core/ids.hpp"

namespace np::api {
namespace {
json::value time_or_null(std::int64_t t) {
    return t ? json::value(core::rfc3339(t)) : json::value(nullptr);
}
}  // namespace

json::object user_json(const store::User& u) {
    return {{"id", u.id},
            {"username", u.username},
            {"realm", u.realm},
            {"role", u.role},
            {"display_name", u.display_name},
            {"must_change_password", u.must_change_password},
            {"disabled", u.disabled},
            {"created_at", time_or_null(u.created_at)}};
}

json::object exercise_json(const store::Exercise& e) {
    return {{"id", e.id},
            {"slug", e.slug},
            {"title", e.title},
            {"created_by", e.created_by},
            {"created_at", time_or_null(e.created_at)},
            {"latest_version", e.latest_version},
            {"published_version", e.published_version}};
}

json::object version_json(const store::ExerciseVersion& v, bool with_content) {
    json::object o{{"id", v.id},
                   {"exercise_id", v.exercise_id},
                   {"version", v.version},
                   {"state", v.state},
                   {"created_at", time_or_null(v.created_at)},
                   {"published_at", time_or_null(v.published_at)}};
    if (with_content) {
        o["spec"] = v.spec;
        o["instructions"] = v.instructions;
        o["topology"] = v.topology;
        o["gns3_project"] = v.gns3_project;
    }
    return o;
}

json::object assignment_json(const store::Assignment& a) {
    return {{"id", a.id},
            {"exercise_id", a.exercise_id},
            {"exercise_version_id", a.exercise_version_id},
            {"student_id", a.student_id},
            {"created_by", a.created_by},
            {"deadline", time_or_null(a.deadline)},
            {"max_attempts", a.max_attempts},
            {"cooldown_seconds", a.cooldown_seconds},
            {"score_policy", a.score_policy},
            {"late", a.late_policy},
            {"late_penalty", a.late_penalty},
            {"keep_hidden", a.keep_hidden},
            {"course_id", a.course_id.empty() ? json::value(nullptr) : json::value(a.course_id)},
            {"created_at", time_or_null(a.created_at)}};
}

json::object environment_json(const store::Environment& e) {
    return {{"id", e.id},
            {"assignment_id", e.assignment_id},
            {"student_id", e.student_id},
            {"provider", e.provider},
            {"desired_state", e.desired_state},
            {"observed_state", e.observed_state},
            // the instance its lab lives on (a local lab's host); null when any instance reaches it
            {"instance", e.instance_id.empty() ? json::value(nullptr) : json::value(e.instance_id)},
            {"provider_ids", parse_stored(e.provider_ids)},
            {"addresses", parse_stored(e.addresses)},
            {"last_error", e.last_error},
            {"updated_at", time_or_null(e.updated_at)}};
}

json::object evaluation_json(const store::Evaluation& e, bool teacher_view, bool reveal_hidden) {
    json::value results = parse_stored(e.results);
    // A student sees that a hidden check exists and its points, never its command, pattern or evidence
    // (until the deadline has passed, unless the teacher keeps them hidden: app::hidden_revealed).
    if (!teacher_view && !reveal_hidden && results.is_array()) {
        for (auto& r : results.as_array()) {
            if (!r.is_object()) continue;
            auto& o = r.as_object();
            auto* hidden = o.if_contains("hidden");
            if (hidden && hidden->is_bool() && hidden->as_bool()) {
                json::object redacted{
                    {"id", o.contains("id") ? o["id"] : json::value(nullptr)},
                    {"hidden", true},
                    {"status", o.contains("status") ? o["status"] : json::value(nullptr)},
                    {"points", o.contains("points") ? o["points"] : json::value(nullptr)},
                    {"max_points", o.contains("max_points") ? o["max_points"] : json::value(nullptr)}};
                r = std::move(redacted);
            }
        }
    }
    json::object o{{"id", e.id},
                   {"assignment_id", e.assignment_id},
                   {"student_id", e.student_id},
                   {"attempt", e.attempt},
                   {"status", e.status},
                   {"score", e.score},
                   {"max_score", e.max_score},
                   {"results", std::move(results)},
                   {"error", e.error},
                   {"job_id", e.job_id},
                   {"late", e.late},
                   {"exercise_version_id", e.exercise_version_id},
                   {"run_id", e.run_id.empty() ? json::value(nullptr) : json::value(e.run_id)},
                   {"created_at", time_or_null(e.created_at)},
                   {"finished_at", time_or_null(e.finished_at)}};
    if (teacher_view) o["transcript"] = parse_stored(e.transcript);
    return o;
}

json::object job_json(const store::Job& j, bool teacher_view) {
    json::value result = parse_stored(j.result);
    // The detail of a failure (command lines, device output) is for teachers (app::JobRunner::run).
    if (!teacher_view && result.is_object()) result.as_object().erase("error_detail");
    return {{"id", j.id},
            {"kind", j.kind},
            {"params", parse_stored(j.params)},
            {"state", j.state},
            {"progress",
             json::object{{"done", j.progress_done}, {"total", j.progress_total}, {"message", j.message}}},
            {"owner_id", j.owner_id},
            {"attempt", j.attempt},
            {"subject", json::object{{"type", j.subject_type}, {"id", j.subject_id}}},
            // the only instance that runs it (the one its lab lives on); null: any
            {"instance", j.instance_id.empty() ? json::value(nullptr) : json::value(j.instance_id)},
            {"result", std::move(result)},
            {"error", j.error},
            {"created_at", time_or_null(j.created_at)},
            {"started_at", time_or_null(j.started_at)},
            {"finished_at", time_or_null(j.finished_at)}};
}

json::object audit_json(const store::AuditEntry& a) {
    return {{"id", a.id},
            {"at", time_or_null(a.at)},
            {"actor_id", a.actor_id},
            {"actor", a.actor_name},
            {"action", a.action},
            {"outcome", a.outcome},
            {"object_type", a.object_type},
            {"object_id", a.object_id},
            {"detail", parse_stored(a.detail)}};
}

}  // namespace np::api
