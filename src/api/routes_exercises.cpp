// Exercises and their versions. A published version is immutable: edits make a new draft version.
#include <yaml-cpp/yaml.h>

#include "api/handlers.hpp"
#include "app/courses.hpp"
#include "core/bundle.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "core/yaml.hpp"
#include "lab/topology.hpp"
#include "store/states.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

void check_slug(const std::string& s) {
    bool ok = !s.empty() && s.size() <= 64 && std::isalnum(static_cast<unsigned char>(s.front()));
    for (char c : s)
        ok = ok && (std::islower(static_cast<unsigned char>(c)) ||
                    std::isdigit(static_cast<unsigned char>(c)) || c == '-');
    if (!ok)
        throw core::invalid("bad slug", {{"slug", "1-64 characters: lowercase letters, digits and '-'"}});
}

// A YAML document that does not parse, or is over a size limit (core/yaml.hpp), is refused with its
// line, before anything is stored.
void check_yaml(const std::string& field, const std::string& text) {
    if (text.empty()) return;
    try {
        auto n = core::load_yaml(text, field);
        if (!n.IsMap()) throw core::invalid(field + " is not valid", {{field, "must be a YAML mapping"}});
    } catch (const core::YamlLimitError& e) {
        throw core::invalid(e.what(), {{field, e.fields().front().message}});
    } catch (const YAML::Exception& e) {
        throw core::invalid(field + " is not valid YAML",
                            {{field, "line " + std::to_string(e.mark.line + 1) + ": " + e.msg}});
    }
}

// A topology sent through the API is parsed as the runtime will parse it, with no folder: configs are
// inline text, never names of files on the server (core/bundle.hpp). Each problem is a field of the 400.
void check_topology(const std::string& text) {
    if (text.empty()) return;
    try {
        lab::parse_topology(text, "topology");
    } catch (const core::Error& e) {
        std::vector<core::FieldError> fields;
        for (const auto& f : e.fields()) fields.push_back({"topology." + f.path, f.message});
        if (fields.empty()) fields.push_back({"topology", e.what()});
        throw core::invalid(
            "the topology has " + std::to_string(fields.size()) + (fields.size() == 1 ? " error" : " errors"),
            std::move(fields));
    }
}

// The GNS3 project is named relative to the exercise's folder, like every file of an exercise.
void check_gns3_project(const std::string& name) {
    if (name.empty()) return;
    if (auto problem = core::bundle_name_problem(name); !problem.empty())
        throw core::invalid("gns3_project is not valid",
                            {{"gns3_project", "'" + name.substr(0, 80) + "' " + problem}});
}

store::ExerciseVersion version_from_body(const Context& ctx, const std::string& exercise_id) {
    store::ExerciseVersion v;
    v.exercise_id = exercise_id;
    v.spec = body_string(ctx, "spec");
    v.instructions = body_string(ctx, "instructions");
    v.topology = body_string(ctx, "topology");
    v.gns3_project = body_string(ctx, "gns3_project");
    v.created_at = core::unix_now();
    check_yaml("spec", v.spec);
    check_yaml("topology", v.topology);
    check_topology(v.topology);
    check_gns3_project(v.gns3_project);
    return v;
}

const std::vector<Field> kContentFields = {
    {"spec", "string", false, "exercise.yaml text (FORMATS.md)"},
    {"instructions", "string", false, "Markdown"},
    {"topology", "string", false, "topology.yaml text for the local provider"},
    {"gns3_project", "string", false, "GNS3 project for the proxmox provider"}};

}  // namespace

int version_param(const Context& ctx) {
    return static_cast<int>(parse_int(ctx.param("version"), "version", 1, INT32_MAX));
}

store::Exercise require_exercise(store::Store& st, const std::string& id) {
    auto ex = st.get_exercise(id);
    if (!ex) throw core::not_found("no exercise '" + id + "'");
    return *ex;
}

std::pair<store::Exercise, store::ExerciseVersion> require_version(store::Store& st, const std::string& id,
                                                                   int n) {
    auto ex = require_exercise(st, id);
    auto v = st.get_version(ex.id, n);
    if (!v) throw core::not_found("exercise '" + id + "' has no version " + std::to_string(n));
    return {ex, *v};
}

void check_version_content(const store::ExerciseVersion& v) {
    check_yaml("spec", v.spec);
    check_yaml("topology", v.topology);
    check_topology(v.topology);
    check_gns3_project(v.gns3_project);
}

void add_exercise_routes(Router& r, ApiDeps& d) {
    r.add({http::Method::get,
           "/api/v1/exercises",
           Policy::teacher,
           "exercises",
           "List exercises",
           {},
           {{"q", "string", false, "substring of the slug or title"}},
           200,
           [&d](Context& ctx) -> Aw {
               auto q = query_or(ctx, "q");
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_exercises(q, page); });
               co_return json_ok(page_json(res, exercise_json));
           },
           true});

    auto create_fields = kContentFields;
    create_fields.insert(create_fields.begin(), {{"slug", "string", true, "unique, e.g. ospf-two-lans"},
                                                 {"title", "string", true, ""}});
    r.add({http::Method::post,
           "/api/v1/exercises",
           Policy::teacher,
           "exercises",
           "Create an exercise with its first (draft) version",
           create_fields,
           {},
           201,
           [&d](Context& ctx) -> Aw {
               store::Exercise e;
               e.id = core::new_id();
               e.slug = body_string(ctx, "slug");
               e.title = body_string(ctx, "title");
               e.created_by = ctx.caller->user_id;
               e.created_at = core::unix_now();
               check_slug(e.slug);
               if (e.title.empty()) throw core::invalid("title is empty", {{"title", "must not be empty"}});
               auto v = version_from_body(ctx, e.id);
               auto stored = co_await d.pool.run([&] {
                   store::ExerciseVersion out;
                   d.store.transaction([&] {
                       d.store.create_exercise(e);
                       out = d.store.add_version(v);
                       audit(d.store, ctx, "exercise.create", "exercise", e.id);
                   });
                   return *d.store.get_exercise(e.id);
               });
               co_return json_ok(exercise_json(stored), 201);
           }});

    r.add({http::Method::get,
           "/api/v1/exercises/{id}",
           Policy::teacher,
           "exercises",
           "One exercise (by id or slug) with its versions",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto [e, versions] = co_await d.pool.run([&] {
                   auto ex = require_exercise(d.store, id);
                   return std::make_pair(ex, d.store.list_versions(ex.id));
               });
               auto o = exercise_json(e);
               json::array vs;
               for (const auto& v : versions) vs.push_back(version_json(v, false));
               o["versions"] = std::move(vs);
               co_return json_ok(o);
           }});

    r.add({http::Method::patch,
           "/api/v1/exercises/{id}",
           Policy::teacher,
           "exercises",
           "Rename an exercise",
           {{"title", "string", true, ""}},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto title = body_string(ctx, "title");
               if (title.empty()) throw core::invalid("title is empty", {{"title", "must not be empty"}});
               auto e = co_await d.pool.run([&] {
                   auto ex = require_exercise(d.store, id);
                   d.store.transaction([&] {
                       d.store.update_exercise_title(ex.id, title);
                       audit(d.store, ctx, "exercise.rename", "exercise", ex.id);
                   });
                   return *d.store.get_exercise(ex.id);
               });
               co_return json_ok(exercise_json(e));
           }});

    r.add({http::Method::post,
           "/api/v1/exercises/{id}/versions",
           Policy::teacher,
           "exercises",
           "Add a new draft version",
           kContentFields,
           {},
           201,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto v = co_await d.pool.run([&] {
                   auto ex = require_exercise(d.store, id);
                   auto nv = version_from_body(ctx, ex.id);
                   store::ExerciseVersion out;
                   d.store.transaction([&] {
                       out = d.store.add_version(nv);
                       // The uploaded files (a GNS3 project) carry over to the new version: shared bytes.
                       if (auto prev = d.store.get_version(ex.id, out.version - 1))
                           d.store.copy_attachments(prev->id, out.id);
                       audit(d.store, ctx, "exercise.version.add", "exercise", ex.id);
                   });
                   return out;
               });
               co_return json_ok(version_json(v, true), 201);
           }});

    r.add({http::Method::get,
           "/api/v1/exercises/{id}/versions/{version}",
           Policy::teacher,
           "exercises",
           "One version with its content",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               int n = version_param(ctx);
               auto v = co_await d.pool.run([&] { return require_version(d.store, id, n).second; });
               co_return json_ok(version_json(v, true));
           }});

    r.add({http::Method::put,
           "/api/v1/exercises/{id}/versions/{version}",
           Policy::teacher,
           "exercises",
           "Replace a draft version's content (published versions are immutable: 409)",
           kContentFields,
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               int n = version_param(ctx);
               auto v = co_await d.pool.run([&] {
                   auto found = require_version(d.store, id, n);
                   auto& ex = found.first;
                   auto& cur = found.second;
                   if (store::is(cur.state, store::VersionState::published))
                       throw core::conflict("version " + std::to_string(n) +
                                            " is published and immutable: add a new version instead");
                   auto nv = version_from_body(ctx, ex.id);
                   nv.id = cur.id;
                   nv.version = cur.version;
                   nv.created_at = cur.created_at;
                   d.store.transaction([&] {
                       d.store.update_draft(nv);
                       audit(d.store, ctx, "exercise.version.update", "exercise", ex.id);
                   });
                   return *d.store.get_version(ex.id, n);
               });
               co_return json_ok(version_json(v, true));
           }});

    r.add({http::Method::post,
           "/api/v1/exercises/{id}/versions/{version}/publish",
           Policy::teacher,
           "exercises",
           "Publish a draft version: from now on it is immutable and can be assigned",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               int n = version_param(ctx);
               auto v = co_await d.pool.run([&] {
                   auto found = require_version(d.store, id, n);
                   auto& ex = found.first;
                   auto& cur = found.second;
                   if (cur.spec.empty())
                       throw core::invalid("version " + std::to_string(n) + " has no grading spec",
                                           {{"spec", "is required before publishing"}});
                   // Drafts stored before these checks existed are checked again before they can run.
                   check_topology(cur.topology);
                   check_gns3_project(cur.gns3_project);
                   if (d.check_lab) d.check_lab(cur);  // issue 10: a GNS3 project the provider can build
                   if (d.lint) {
                       auto errors = d.lint(cur.spec, cur.instructions);
                       if (!errors.empty())
                           throw core::invalid("the grading spec of version " + std::to_string(n) +
                                                   " has errors: fix them in a draft, then publish",
                                               std::move(errors));
                   }
                   d.store.transaction([&] {
                       d.store.publish_version(ex.id, n, core::unix_now());
                       audit(d.store, ctx, "exercise.version.publish", "exercise", ex.id,
                             json::serialize(json::object{{"version", n}}));
                   });
                   return *d.store.get_version(ex.id, n);
               });
               co_return json_ok(version_json(v, false));
           }});

    r.add({http::Method::post,
           "/api/v1/exercises/{id}/trial",
           Policy::teacher,
           "exercises",
           "Try the grader on a lab of your own before assigning: an assignment of this version (a draft "
           "too; default the latest) to the calling teacher, with its environment, made once and returned "
           "again on later calls. Start its lab, configure, grade it as a student would (no attempt limit).",
           {{"version", "integer", false, "default the latest version"}},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               int version = static_cast<int>(body_int(ctx, "version", 0, 0, INT32_MAX));
               auto caller = ctx.caller->user_id;
               auto a = co_await d.pool.run([&] {
                   store::Assignment out;
                   d.store.transaction([&] {
                       out = app::trial_assignment(d.store, id, version, caller,
                                                   d.options.environment_provider);
                       audit(d.store, ctx, "exercise.trial", "exercise", out.exercise_id,
                             json::serialize(json::object{{"assignment_id", out.id}}));
                   });
                   return out;
               });
               co_return json_ok(assignment_json(a));
           }});
}

}  // namespace np::api
