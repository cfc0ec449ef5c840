// The params of every job kind as JSON (job_kinds.hpp): the one place their keys are written.
#include "app/job_kinds.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <optional>

namespace np::app::job {
namespace json = boost::json;

namespace {

// Reads one kind's params object; the accessors name the kind and the field of what does not fit.
class Reader {
 public:
    Reader(const std::string& text, const char* kind) : kind_(kind) {
        boost::system::error_code ec;
        auto v = json::parse(text, ec);
        if (ec || !v.is_object())
            throw core::invalid(std::string("params of a ") + kind_ + " job are not a JSON object");
        o_ = std::move(v.as_object());
    }
    std::string str(const char* key, bool required = true) const {
        const auto* v = o_.if_contains(key);
        if (v && v->is_string()) return std::string(v->as_string());
        if (!v && !required) return {};
        throw bad(key, "a string");
    }
    std::optional<std::int64_t> opt_int(const char* key) const { return opt_int(o_, key); }
    std::vector<std::string> strings(const char* key) const {
        const auto* v = o_.if_contains(key);
        if (!v || !v->is_array()) throw bad(key, "an array of strings");
        std::vector<std::string> out;
        for (const auto& e : v->as_array()) {
            if (!e.is_string()) throw bad(key, "an array of strings");
            out.emplace_back(e.as_string());
        }
        return out;
    }
    std::int64_t integer(const char* key, std::int64_t fallback) const {
        return opt_int(key).value_or(fallback);
    }
    const json::object* object(const char* key) const {
        const auto* v = o_.if_contains(key);
        if (!v) return nullptr;
        if (!v->is_object()) throw bad(key, "an object");
        return &v->as_object();
    }
    std::optional<std::int64_t> opt_int(const json::object& o, const char* key) const {
        const auto* v = o.if_contains(key);
        if (!v) return std::nullopt;
        if (!v->is_number()) throw bad(key, "a number");
        return v->to_number<std::int64_t>();
    }
    std::optional<std::string> opt_str(const json::object& o, const char* key) const {
        const auto* v = o.if_contains(key);
        if (!v) return std::nullopt;
        if (!v->is_string()) throw bad(key, "a string");
        return std::string(v->as_string());
    }

 private:
    core::Error bad(const char* key, const char* what) const {
        return core::invalid(std::string("params of a ") + kind_ + " job: '" + key + "' must be " + what);
    }
    const char* kind_;
    json::object o_;
};

json::object rules_object(const RuleOverrides& r) {
    json::object o;
    if (r.deadline) o["deadline"] = *r.deadline;
    if (r.max_attempts) o["max_attempts"] = *r.max_attempts;
    if (r.cooldown_seconds) o["cooldown_seconds"] = *r.cooldown_seconds;
    if (r.late_penalty) o["late_penalty"] = *r.late_penalty;
    if (r.score) o["score_policy"] = *r.score;
    if (r.late) o["late"] = *r.late;
    if (r.keep_hidden) o["keep_hidden"] = *r.keep_hidden;
    return o;
}

RuleOverrides rules_of(const Reader& in, const json::object& o) {
    RuleOverrides r;
    r.deadline = in.opt_int(o, "deadline");
    r.max_attempts = in.opt_int(o, "max_attempts");
    r.cooldown_seconds = in.opt_int(o, "cooldown_seconds");
    r.late_penalty = in.opt_int(o, "late_penalty");
    r.score = in.opt_str(o, "score_policy");
    r.late = in.opt_str(o, "late");
    if (const auto* v = o.if_contains("keep_hidden"); v && v->is_bool()) r.keep_hidden = v->as_bool();
    return r;
}

}  // namespace

std::string to_text(const ReconcileEnvironment& p) {
    return json::serialize(json::object{{"environment_id", p.environment_id}, {"action", p.action}});
}
void from_text(const std::string& text, ReconcileEnvironment& p) {
    Reader in(text, ReconcileEnvironment::kind);
    p.environment_id = in.str("environment_id");
    p.action = in.str("action", false);
}

std::string to_text(const RunEvaluation& p) {
    return json::serialize(
        json::object{{"evaluation_id", p.evaluation_id}, {"assignment_id", p.assignment_id}});
}
void from_text(const std::string& text, RunEvaluation& p) {
    Reader in(text, RunEvaluation::kind);
    p.evaluation_id = in.str("evaluation_id");
    p.assignment_id = in.str("assignment_id", false);
}

std::string to_text(const GradeClass& p) {
    json::object o{
        {"exercise_id", p.exercise_id}, {"course_id", p.course_id}, {"concurrency", p.concurrency}};
    if (p.version) o["version"] = p.version;
    return json::serialize(o);
}
void from_text(const std::string& text, GradeClass& p) {
    Reader in(text, GradeClass::kind);
    p.exercise_id = in.str("exercise_id");
    p.course_id = in.str("course_id", false);
    p.concurrency = static_cast<int>(std::clamp<std::int64_t>(in.integer("concurrency", 8), 1, 64));
    p.version = static_cast<int>(in.integer("version", 0));
}

std::string to_text(const AssignCourse& p) {
    const auto& r = p.request;
    json::object o{{"course_id", r.course_id},   {"exercise_id", r.exercise_ref},
                   {"group", p.group},           {"rules", rules_object(r.rules)},
                   {"created_by", r.created_by}, {"provider", r.provider}};
    if (r.version) o["version"] = r.version;
    return json::serialize(o);
}
void from_text(const std::string& text, AssignCourse& p) {
    Reader in(text, AssignCourse::kind);
    auto& r = p.request;
    r.course_id = in.str("course_id");
    r.exercise_ref = in.str("exercise_id");
    r.version = static_cast<int>(in.integer("version", 0));
    r.created_by = in.str("created_by", false);
    r.provider = in.str("provider", false);
    if (const auto* rules = in.object("rules")) r.rules = rules_of(in, *rules);
    p.group = in.str("group", false);
}

namespace {
std::string ids_text(const std::vector<std::string>& ids) {
    json::array a;
    for (const auto& id : ids) a.emplace_back(id);
    return json::serialize(json::object{{"environment_ids", std::move(a)}});
}
}  // namespace

std::string to_text(const ProvisionEnvironments& p) {
    return ids_text(p.environment_ids);
}
void from_text(const std::string& text, ProvisionEnvironments& p) {
    p.environment_ids = Reader(text, ProvisionEnvironments::kind).strings("environment_ids");
}

std::string to_text(const StartEnvironments& p) {
    return ids_text(p.environment_ids);
}
void from_text(const std::string& text, StartEnvironments& p) {
    p.environment_ids = Reader(text, StartEnvironments::kind).strings("environment_ids");
}

}  // namespace np::app::job
