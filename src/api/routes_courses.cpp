// Courses (issue 12): a course, its roster (imported from CSV; students listed can be assigned before
// their first login), and assigning an exercise to the whole course (or one group) as one job.
// Teachers only.
#include "api/handlers.hpp"
#include "api/rules_body.hpp"
#include "app/courses.hpp"
#include "app/job_kinds.hpp"
#include "app/jobs.hpp"
#include "auth/login.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

// The course's declared groups from the body (`groups`: array of names); throws a 400 naming the item.
std::string groups_from_body(const Context& ctx) {
    json::array out;
    if (!body_has(ctx, "groups")) return "[]";
    const auto& arr = ctx.body->at("groups").as_array();
    if (arr.size() > 200) throw core::invalid("too many groups", {{"groups", "at most 200"}});
    for (std::size_t i = 0; i < arr.size(); ++i) {
        const auto& g = arr[i].as_string();
        if (g.empty() || g.size() > 64)
            throw core::invalid("bad group", {{"groups[" + std::to_string(i) + "]", "1-64 characters"}});
        out.push_back(g);
    }
    return json::serialize(out);
}

std::vector<std::string> groups_of(const store::Course& c) {
    std::vector<std::string> out;
    auto v = parse_stored(c.groups);
    if (v.is_array())
        for (const auto& g : v.as_array())
            if (g.is_string()) out.emplace_back(g.as_string());
    return out;
}

json::object course_json(const store::Course& c) {
    json::array groups;
    for (auto& g : groups_of(c)) groups.push_back(json::string(g));
    return {{"id", c.id},
            {"slug", c.slug},
            {"title", c.title},
            {"groups", std::move(groups)},
            {"members", c.members},
            {"created_by", c.created_by},
            {"created_at", core::rfc3339(c.created_at)}};
}

json::object member_json(const store::CourseMember& m) {
    auto o = user_json(m.user);
    o["group"] = m.group;
    o["email"] = m.email;
    o["added_at"] = core::rfc3339(m.added_at);
    return o;
}

void check_slug(const std::string& s) {
    bool ok = !s.empty() && s.size() <= 64;
    for (char c : s)
        ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!ok) throw core::invalid("bad slug", {{"slug", "1-64 characters: letters, digits, - _ ."}});
}

store::Course course_or_404(store::Store& store, const std::string& ref) {
    auto c = store.get_course(ref);
    if (!c) throw core::not_found("no course '" + ref + "'");
    return *c;
}

void add_course_crud(Router& r, ApiDeps& d) {
    r.add({http::Method::post,
           "/api/v1/courses",
           Policy::teacher,
           "courses",
           "Create a course (a class, or a group of students)",
           {{"slug", "string", true, "unique; letters, digits, - _ ."},
            {"title", "string", false, ""},
            {"groups", "array", false, "group names a roster may use; empty: any"}},
           {},
           201,
           [&d](Context& ctx) -> Aw {
               store::Course c;
               c.id = core::new_id();
               c.slug = body_string(ctx, "slug");
               check_slug(c.slug);
               c.title = body_string(ctx, "title", c.slug);
               if (c.title.size() > 200)
                   throw core::invalid("title too long", {{"title", "at most 200 characters"}});
               c.groups = groups_from_body(ctx);
               c.created_by = ctx.caller->user_id;
               c.created_at = core::unix_now();
               co_await d.pool.run([&] {
                   d.store.transaction([&] {
                       d.store.create_course(c);
                       audit(d.store, ctx, "course.create", "course", c.id);
                   });
               });
               co_return json_ok(course_json(c), 201);
           }});

    r.add({http::Method::get,
           "/api/v1/courses",
           Policy::teacher,
           "courses",
           "List courses",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto page = page_of(ctx);
               auto res = co_await d.pool.run([&] { return d.store.list_courses(page); });
               co_return json_ok(page_json(res, course_json));
           },
           true});

    r.add({http::Method::get,
           "/api/v1/courses/{id}",
           Policy::teacher,
           "courses",
           "One course (id or slug)",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto c = co_await d.pool.run([&] { return course_or_404(d.store, id); });
               co_return json_ok(course_json(c));
           }});

    r.add({http::Method::patch,
           "/api/v1/courses/{id}",
           Policy::teacher,
           "courses",
           "Change a course's title or groups",
           {{"title", "string", false, ""}, {"groups", "array", false, "group names a roster may use"}},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto groups = body_has(ctx, "groups") ? std::optional(groups_from_body(ctx)) : std::nullopt;
               auto title = body_has(ctx, "title") ? std::optional(body_string(ctx, "title")) : std::nullopt;
               if (title && (title->empty() || title->size() > 200))
                   throw core::invalid("bad title", {{"title", "1-200 characters"}});
               auto c = co_await d.pool.run([&] {
                   store::Course out;
                   d.store.transaction([&] {
                       out = course_or_404(d.store, id);
                       if (title) out.title = *title;
                       if (groups) out.groups = *groups;
                       d.store.update_course(out);
                       audit(d.store, ctx, "course.update", "course", out.id);
                   });
                   return out;
               });
               co_return json_ok(course_json(c));
           }});

    r.add({http::Method::del,
           "/api/v1/courses/{id}",
           Policy::teacher,
           "courses",
           "Delete a course and its roster (its users and assignments stay)",
           {},
           {},
           204,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               co_await d.pool.run([&] {
                   d.store.transaction([&] {
                       auto c = course_or_404(d.store, id);
                       d.store.delete_course(c.id);
                       audit(d.store, ctx, "course.delete", "course", c.id);
                   });
               });
               http::Response res;
               res.status = 204;
               res.content_type = {};
               co_return res;
           }});
}

// The members of an ldap realm's group as roster lines (line: their place in the group, from 1).
boost::asio::awaitable<std::vector<app::RosterLine>> ldap_roster(auth::Realm& realm, std::string group) {
    auto* directory = dynamic_cast<auth::GroupDirectory*>(&realm);
    if (!directory)
        throw core::invalid("not an ldap realm",
                            {{"realm", "'" + realm.name() + "' is a " + std::string(realm.kind()) +
                                           " realm: ldap_group needs an ldap realm"}});
    auto found = co_await directory->group_members(std::move(group));
    std::vector<app::RosterLine> lines;
    for (auto& m : found)
        lines.push_back({static_cast<int>(lines.size()) + 1, std::move(m.username), std::move(m.display_name),
                         std::move(m.email), ""});
    co_return lines;
}

void add_roster_routes(Router& r, ApiDeps& d) {
    r.add({http::Method::get,
           "/api/v1/courses/{id}/roster",
           Policy::teacher,
           "courses",
           "The course's roster (by username), with each student's group and email",
           {},
           {{"group", "string", false, "only this group"}},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto group = query_or(ctx, "group");
               auto members = co_await d.pool.run(
                   [&] { return d.store.list_course_members(course_or_404(d.store, id).id, group); });
               json::array items;
               for (const auto& m : members) items.push_back(member_json(m));
               co_return json_ok(json::object{{"items", std::move(items)}});
           }});

    r.add(
        {http::Method::post,
         "/api/v1/courses/{id}/roster",
         Policy::teacher,
         "courses",
         "Import students from CSV (header: username, display_name, email, group). Every line is checked "
         "first: any bad line, duplicate username or unknown group is a 400 listing each with its line, and "
         "nothing is imported. A student who never logged in is created in `realm`, and their first login "
         "through that realm finds the record (so they can be assigned before). With `ldap_group` instead of "
         "`csv`, the members of that group of the ldap realm `realm` are imported the same way (404 naming "
         "an "
         "unknown group, 503 naming the realm when its directory is down).",
         {{"csv", "string", false, "the CSV text (or ldap_group)"},
          {"ldap_group", "string", false, "DN of a group in the ldap realm `realm` (or csv)"},
          {"realm", "string", false, "realm of the listed users (default local)"}},
         {},
         200,
         [&d](Context& ctx) -> Aw {
             auto id = ctx.param("id");
             const bool from_ldap = body_has(ctx, "ldap_group");
             if (from_ldap == body_has(ctx, "csv"))
                 throw core::invalid(
                     "give the roster as csv or as ldap_group",
                     {{from_ldap ? "ldap_group" : "csv", "exactly one of csv and ldap_group"}});
             auto csv = from_ldap ? std::string{} : body_string(ctx, "csv");
             auto realm = body_string(ctx, "realm", "local");
             auth::Realm* source = nullptr;
             std::string names;
             for (const auto& rl : d.login.realms()) {
                 if (rl->name() == realm) source = rl.get();
                 names += (names.empty() ? "" : ", ") + rl->name();
             }
             if (!source)
                 throw core::invalid(
                     "unknown realm",
                     {{"realm", "'" + realm + "' is not a configured realm (" + names + ")"}});
             std::vector<app::RosterLine> members;
             if (from_ldap) members = co_await ldap_roster(*source, body_string(ctx, "ldap_group"));
             auto [result, course] = co_await d.pool.run([&] {
                 auto c = course_or_404(d.store, id);
                 auto lines = from_ldap ? std::move(members) : app::parse_roster(csv, groups_of(c));
                 app::RosterImport out;
                 d.store.transaction([&] {
                     out = app::import_roster(d.store, c.id, realm, lines);
                     audit(d.store, ctx, "course.roster_import", "course", c.id,
                           json::serialize(json::object{{"added", out.added}, {"created", out.created}}));
                 });
                 return std::make_pair(out, c);
             });
             json::array already;
             for (const auto& u : result.already) already.push_back(json::string(u));
             co_return json_ok(json::object{{"course_id", course.id},
                                            {"added", result.added},
                                            {"created", result.created},
                                            {"already_members", std::move(already)}});
         }});

    r.add({http::Method::del,
           "/api/v1/courses/{id}/roster/{user_id}",
           Policy::teacher,
           "courses",
           "Remove a student from the roster (the user and their assignments stay)",
           {},
           {},
           204,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto user_id = ctx.param("user_id");
               co_await d.pool.run([&] {
                   d.store.transaction([&] {
                       auto c = course_or_404(d.store, id);
                       d.store.remove_course_member(c.id, user_id);
                       audit(d.store, ctx, "course.roster_remove", "course", c.id);
                   });
               });
               http::Response res;
               res.status = 204;
               res.content_type = {};
               co_return res;
           }});
}

}  // namespace

void add_course_routes(Router& r, ApiDeps& d) {
    add_course_crud(r, d);
    add_roster_routes(r, d);

    std::vector<Field> fields{
        {"exercise_id", "string", true, "id or slug"},
        {"version", "integer", false, "published version; default the latest published"},
        {"group", "string", false, "only this group of the roster"}};
    for (auto& f : rule_fields()) fields.push_back(std::move(f));
    r.add({http::Method::post,
           "/api/v1/courses/{id}/assignments",
           Policy::teacher,
           "courses",
           "Assign a published exercise to every student of the course (or of one group) as one job "
           "(course.assign): an assignment and an environment per student, progress per student; students "
           "already assigned are skipped. On a Proxmox server it then submits ONE environments.provision job "
           "for the course's new environments (`provision_job_id` in its result)",
           std::move(fields),
           {},
           202,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto exercise_ref = body_string(ctx, "exercise_id");
               int version = static_cast<int>(body_int(ctx, "version", 0, 0, INT32_MAX));
               auto group = body_string(ctx, "group");
               auto rules = rule_overrides(ctx);
               // Everything that can be refused is refused now, with a 400/404/409, not in the job.
               auto [course, ex] = co_await d.pool.run([&] {
                   auto c = course_or_404(d.store, id);
                   auto [e, v] = app::published_version(d.store, exercise_ref, version);
                   store::Assignment probe;
                   app::apply_rules(probe, v.spec, rules);
                   return std::make_pair(c, e);
               });
               app::job::AssignCourse params;
               params.request.course_id = course.id;
               params.request.exercise_ref = ex.id;
               params.request.version = version;
               params.request.rules = rules;
               params.request.created_by = ctx.caller->user_id;
               params.request.provider = d.options.environment_provider;
               params.group = group;
               auto job = app::job::make_job(params);
               job.owner_id = ctx.caller->user_id;
               job.subject_type = "course";
               job.subject_id = course.id;
               job = co_await d.jobs.submit(job);
               co_return json_ok(json::object{{"job", job_json(job, true)}}, 202);
           }});
}

}  // namespace np::api
