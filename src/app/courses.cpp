#include "app/courses.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "app/provisioning.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::app {
namespace json = boost::json;

std::pair<store::Exercise, store::ExerciseVersion> published_version(store::Store& store,
                                                                     const std::string& exercise_ref,
                                                                     int version) {
    auto ex = store.get_exercise(exercise_ref);
    if (!ex) throw core::not_found("no exercise '" + exercise_ref + "'");
    int n = version ? version : ex->published_version;
    auto v = n ? store.get_version(ex->id, n) : std::nullopt;
    if (!v || !store::is(v->state, store::VersionState::published))
        throw core::conflict("exercise '" + ex->slug + "' has no published version" +
                             (version ? " " + std::to_string(version) : std::string()) +
                             ": publish one first");
    return {*ex, *v};
}

namespace {

store::Assignment assign_one(store::Store& store, const store::Exercise& ex, const store::ExerciseVersion& v,
                             const store::User& student, const AssignRequest& req) {
    store::Assignment a;
    a.id = core::new_id();
    a.exercise_id = ex.id;
    a.exercise_version_id = v.id;
    a.student_id = student.id;
    a.created_by = req.created_by;
    a.course_id = req.course_id;
    a.created_at = core::unix_now();
    apply_rules(a, v.spec, req.rules);
    store.create_assignment(a);
    store::Environment e;
    e.id = core::new_id();
    e.assignment_id = a.id;
    e.student_id = student.id;
    e.provider = req.provider;
    e.created_at = e.updated_at = a.created_at;
    store.create_environment(e);
    return a;
}

}  // namespace

std::vector<store::Assignment> assign_students(store::Store& store, const AssignRequest& req) {
    if (req.student_ids.empty()) throw core::invalid("no students", {{"student_ids", "must not be empty"}});
    if (req.student_ids.size() > 2000)
        throw core::invalid("too many students", {{"student_ids", "at most 2000 per request"}});
    const auto published = published_version(store, req.exercise_ref, req.version);
    const auto& ex = published.first;
    const auto& v = published.second;
    // The rules are checked once before any student (a bad limit names its field, not a student).
    store::Assignment probe;
    apply_rules(probe, v.spec, req.rules);
    std::vector<store::Assignment> out;
    store.transaction([&] {
        for (std::size_t i = 0; i < req.student_ids.size(); ++i) {
            auto u = store.get_user(req.student_ids[i]);
            if (!u || !store::is(u->role, store::Role::student))
                throw core::invalid("not a student", {{"student_ids[" + std::to_string(i) + "]",
                                                       "no student with id '" + req.student_ids[i] + "'"}});
            out.push_back(assign_one(store, ex, v, *u, req));
        }
    });
    return out;
}

store::Assignment trial_assignment(store::Store& store, const std::string& exercise_ref, int version,
                                   const std::string& teacher_id, const std::string& provider) {
    auto ex = store.get_exercise(exercise_ref);
    if (!ex) throw core::not_found("no exercise '" + exercise_ref + "'");
    int n = version ? version : ex->latest_version;
    auto v = store.get_version(ex->id, n);
    if (!v) throw core::not_found("exercise '" + ex->slug + "' has no version " + std::to_string(n));
    auto teacher = store.get_user(teacher_id);
    if (!teacher) throw core::not_found("no user '" + teacher_id + "'");
    store::Assignment out;
    store.transaction([&] {
        // Found again: one trial per teacher and version (the newest page of their assignments suffices).
        auto mine = store.list_assignments({ex->id, teacher->id, ""}, {.limit = 500});
        for (const auto& a : mine.items)
            if (a.exercise_version_id == v->id && a.course_id.empty()) {
                out = a;
                return;
            }
        AssignRequest req;  // the spec's rules, which bind no teacher (request_evaluation)
        req.created_by = teacher->id;
        req.provider = provider;
        out = assign_one(store, *ex, *v, *teacher, req);
    });
    return out;
}

namespace {

// RFC 4180 records: fields separated by commas, double-quoted fields may hold commas, quotes ("") and
// line breaks. Each record keeps the line it starts on.
struct Record {
    int line = 0;
    std::vector<std::string> fields;
};

std::vector<Record> parse_csv(const std::string& text, std::vector<core::FieldError>& errors) {
    std::vector<Record> out;
    Record rec{1, {}};
    std::string field;
    bool quoted = false, in_quotes = false, any = false;
    int line = 1;
    auto end_field = [&] {
        rec.fields.push_back(std::move(field));
        field.clear();
        quoted = false;
    };
    auto end_record = [&] {
        end_field();
        bool blank = rec.fields.size() == 1 && rec.fields[0].empty();
        if (!blank) out.push_back(std::move(rec));
        rec = Record{line + 1, {}};
        any = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        char ch = text[i];
        if (in_quotes) {
            if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (ch == '"') {
                in_quotes = false;
            } else {
                if (ch == '\n') ++line;
                field += ch;
            }
            continue;
        }
        if (ch == '"' && field.empty() && !quoted) {
            in_quotes = quoted = any = true;
        } else if (ch == ',') {
            end_field();
        } else if (ch == '\n' || ch == '\r') {
            if (ch == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_record();
            ++line;
        } else {
            if (quoted) {
                errors.push_back({"line " + std::to_string(line), "text after a closing quote"});
                quoted = false;
            }
            field += ch;
            any = true;
        }
    }
    if (in_quotes) errors.push_back({"line " + std::to_string(rec.line), "a quoted field is not closed"});
    if (any || !field.empty() || !rec.fields.empty()) end_record();
    return out;
}

std::string trimmed_lower(std::string s, bool lower) {
    auto b = s.find_first_not_of(" \t");
    auto e = s.find_last_not_of(" \t");
    s = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    if (lower) std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

bool valid_username(const std::string& u) {
    if (u.empty() || u.size() > 64) return false;
    return std::all_of(u.begin(), u.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '.' || c == '_' || c == '-' || c == '@';
    });
}

}  // namespace

std::vector<RosterLine> parse_roster(const std::string& csv, const std::vector<std::string>& groups) {
    std::vector<core::FieldError> errors;
    auto records = parse_csv(csv, errors);
    if (records.empty())
        throw core::invalid("the roster is empty", {{"csv", "needs a header line and students"}});
    if (records.size() > 5001)
        throw core::invalid("the roster is too long", {{"csv", "at most 5000 students per import"}});
    // The header: which column holds what.
    std::map<std::string, std::string> aliases{{"username", "username"},
                                               {"user", "username"},
                                               {"display_name", "display_name"},
                                               {"display name", "display_name"},
                                               {"name", "display_name"},
                                               {"email", "email"},
                                               {"e-mail", "email"},
                                               {"group", "group"}};
    std::map<std::string, std::size_t> column;
    const auto& header = records.front();
    for (std::size_t i = 0; i < header.fields.size(); ++i) {
        auto name = trimmed_lower(header.fields[i], true);
        auto it = aliases.find(name);
        if (it == aliases.end()) {
            errors.push_back(
                {"line " + std::to_string(header.line),
                 "unknown column '" + header.fields[i] + "' (known: username, display_name, email, group)"});
        } else if (!column.emplace(it->second, i).second) {
            errors.push_back(
                {"line " + std::to_string(header.line), "column '" + it->second + "' given twice"});
        }
    }
    if (!column.contains("username"))
        errors.push_back({"line " + std::to_string(header.line), "no username column"});
    if (!errors.empty()) throw core::invalid("the roster's header is not valid", std::move(errors));
    std::set<std::string> declared(groups.begin(), groups.end());
    std::map<std::string, int> seen;  // username -> line
    std::vector<RosterLine> out;
    for (std::size_t r = 1; r < records.size(); ++r) {
        const auto& rec = records[r];
        std::string where = "line " + std::to_string(rec.line);
        if (rec.fields.size() != header.fields.size()) {
            errors.push_back({where, "has " + std::to_string(rec.fields.size()) + " fields, the header " +
                                         std::to_string(header.fields.size())});
            continue;
        }
        auto get = [&](const char* key) {
            auto it = column.find(key);
            return it == column.end() ? std::string() : trimmed_lower(rec.fields[it->second], false);
        };
        RosterLine l{rec.line, get("username"), get("display_name"), get("email"), get("group")};
        if (!valid_username(l.username))
            errors.push_back({where, l.username.empty() ? "username is empty"
                                                        : "username '" + l.username +
                                                              "' may hold only letters, digits and . _ - @ "
                                                              "(at most 64)"});
        else if (auto [it, fresh] = seen.emplace(l.username, l.line); !fresh)
            errors.push_back(
                {where, "username '" + l.username + "' is already on line " + std::to_string(it->second)});
        if (!l.email.empty() && (l.email.find('@') == std::string::npos || l.email.size() > 254))
            errors.push_back({where, "email '" + l.email + "' is not an address"});
        if (l.display_name.size() > 200)
            errors.push_back({where, "display name is longer than 200 characters"});
        if (!declared.empty() && !declared.contains(l.group))
            errors.push_back({where, "group '" + l.group + "' is not a group of this course"});
        out.push_back(std::move(l));
    }
    if (!errors.empty()) {
        std::string n = std::to_string(errors.size());
        throw core::invalid(
            "the roster has " + n + " bad line" + (errors.size() > 1 ? "s" : "") + ": nothing was imported",
            std::move(errors));
    }
    return out;
}

RosterImport import_roster(store::Store& store, const std::string& course_id, const std::string& realm,
                           const std::vector<RosterLine>& lines) {
    RosterImport out;
    store.transaction([&] {
        std::set<std::string> members;
        for (const auto& m : store.list_course_members(course_id, "")) members.insert(m.user_id);
        std::vector<core::FieldError> errors;
        for (const auto& l : lines) {
            auto u = store.find_user(l.username, realm);
            if (u && !store::is(u->role, store::Role::student)) {
                errors.push_back({"line " + std::to_string(l.line),
                                  "'" + l.username + "' of realm '" + realm + "' is a teacher"});
                continue;
            }
            if (!u) {
                store::User nu;
                nu.id = core::new_id();
                nu.username = l.username;
                nu.realm = realm;
                nu.role = store::str(store::Role::student);
                nu.display_name = l.display_name;
                nu.created_at = core::unix_now();
                store.create_user(nu);
                u = nu;
                ++out.created;
            }
            if (members.contains(u->id)) {
                out.already.push_back(l.username);
                continue;
            }
            store::CourseMember m;
            m.course_id = course_id;
            m.user_id = u->id;
            m.group = l.group;
            m.email = l.email;
            store.add_course_member(m);
            members.insert(u->id);
            ++out.added;
        }
        if (!errors.empty())
            throw core::invalid("the roster names teachers: nothing was imported", std::move(errors));
    });
    return out;
}

namespace {

// The course's environments of this exercise that no job has driven yet (absent, never updated): the ones
// this run made, and those a run interrupted before its provisioning made (a re-run converges).
std::vector<store::Environment> undriven_environments(store::Store& store, const std::string& exercise_id,
                                                      const std::string& course_id) {
    std::vector<store::Environment> out;
    for (const auto& a : store.assignments_in({exercise_id, "", course_id})) {
        auto e = store.environment_for_assignment(a.id);
        if (e && store::is(e->desired_state, store::DesiredState::absent) &&
            store::is(e->observed_state, store::ObservedState::absent) && e->updated_at == e->created_at)
            out.push_back(std::move(*e));
    }
    return out;
}

boost::asio::awaitable<std::string> run_course_assign(JobContext& ctx, job::AssignCourse params,
                                                      JobRunner& jobs, store::Store& store,
                                                      core::WorkerPool& pool) {
    const AssignRequest& req = params.request;
    const std::string& group = params.group;
    // (Named fields, not a structured binding: the lambdas below capture them.)
    auto loaded = co_await pool.run([&] {
        auto ev = published_version(store, req.exercise_ref, req.version);
        std::set<std::string> have;
        for (const auto& a : store.assignments_in({ev.first.id, "", ""})) have.insert(a.student_id);
        return std::make_tuple(ev.first, ev.second, store.list_course_members(req.course_id, group), have);
    });
    const auto& ex = std::get<0>(loaded);
    const auto& version = std::get<1>(loaded);
    const auto& members = std::get<2>(loaded);
    const auto& existing = std::get<3>(loaded);
    json::array students;
    int assigned = 0, skipped = 0;
    const auto total = static_cast<std::int64_t>(members.size());
    for (std::size_t i = 0; i < members.size(); ++i) {
        const auto& m = members[i];
        std::string status = "assigned";
        if (!store::is(m.user.role, store::Role::student)) {
            status = "skipped: not a student";
            ++skipped;
        } else if (existing.contains(m.user_id)) {
            status = "skipped: already assigned";  // a re-run after a crash, or a second assign
            ++skipped;
        } else {
            co_await pool.run(
                [&] { store.transaction([&] { assign_one(store, ex, version, m.user, req); }); });
            ++assigned;
        }
        students.push_back(
            json::object{{"student_id", m.user_id}, {"username", m.user.username}, {"status", status}});
        co_await ctx.progress(static_cast<std::int64_t>(i) + 1, total, m.user.username + ": " + status);
    }
    json::object result{{"exercise_id", ex.id},
                        {"version", version.version},
                        {"assigned", assigned},
                        {"skipped", skipped},
                        {"students", std::move(students)}};
    // A provider on a shared cluster (proxmox) makes the class's labs as ONE batch job, as
    // POST /api/v1/assignments does; local environments are made when started, as before.
    if (provisions_in_batch(req.provider)) {
        auto envs = co_await pool.run([&] { return undriven_environments(store, ex.id, req.course_id); });
        if (!envs.empty()) {
            auto job = co_await jobs.submit(provision_job(envs, ctx.job().owner_id));
            result["provision_job_id"] = job.id;
        }
    }
    co_return json::serialize(result);
}

}  // namespace

void register_course_jobs(JobRunner& jobs, store::Store& store, core::WorkerPool& pool) {
    job::register_job<job::AssignCourse>(jobs, [&jobs, &store, &pool](JobContext& ctx, job::AssignCourse p) {
        return run_course_assign(ctx, std::move(p), jobs, store, pool);
    });
}

}  // namespace np::app
