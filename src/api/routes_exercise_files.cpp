// Files of exercises uploaded through the API (issues 10 and 11): a version's GNS3 portable project, kept in
// the store (migration 0006), and a whole exercise as one zip. Bodies are raw bytes (curl --data-binary,
// the browser's fetch with a File), up to exercises.max_file (Route::upload); checks and storage are the
// use-cases of app/exercise_files.hpp.
#include "api/handlers.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

json::object attachment_json(const store::Attachment& a) {
    return {{"name", a.name},
            {"media_type", a.media_type},
            {"sha256", a.sha256},
            {"size", a.size},
            {"created_at", a.created_at}};
}

const std::vector<std::string> kZipTypes = {"application/zip", "application/octet-stream"};

// An upload's media type, when it says one: a zip (a .gns3project is one) or plain bytes.
void check_upload_type(const Context& ctx) {
    auto ct = ctx.request.header("content-type");
    if (ct.empty()) return;
    for (const auto& type : kZipTypes)
        if (ct.starts_with(type)) return;
    if (ct.starts_with("application/x-gns3project")) return;
    throw core::invalid("Content-Type must be application/zip or application/octet-stream",
                        {{"Content-Type", "'" + std::string(ct.substr(0, 60)) + "' is not a zip"}});
}

void add_project_upload(Router& r, ApiDeps& d) {
    Route route{
        http::Method::put,
        "/api/v1/exercises/{id}/versions/{version}/project",
        Policy::teacher,
        "exercises",
        "Upload the draft version's GNS3 portable project (.gns3project) as the raw body (curl "
        "--data-binary @lab.gns3project -H 'Content-Type: application/zip'): stored with the version and "
        "named its gns3_project; publishing checks it against the grading spec. Larger than "
        "exercises.max_file: 413.",
        {},
        {{"name", "string", false, "its file name, ending in .gns3project (default lab.gns3project)"}},
        200,
        [&d](Context& ctx) -> Aw {
            check_upload_type(ctx);
            auto id = ctx.param("id");
            int n = version_param(ctx);
            auto name = query_or(ctx, "name", app::kDefaultProjectName);
            auto& bytes = ctx.request.body;
            auto [a, v] = co_await d.pool.run([&] {
                app::check_project_upload(name, bytes, d.options.uploads);
                auto found = require_version(d.store, id, n);
                if (store::is(found.second.state, store::VersionState::published))
                    throw core::conflict("version " + std::to_string(n) +
                                         " is published and immutable: add a new version instead");
                store::Attachment out;
                d.store.transaction([&] {
                    out = app::attach_project(d.store, found.second, name, bytes);
                    audit(d.store, ctx, "exercise.project.upload", "exercise", found.first.id,
                          json::serialize(
                              json::object{{"version", n}, {"name", name}, {"sha256", out.sha256}}));
                });
                return std::make_pair(out, *d.store.get_version(found.first.id, n));
            });
            auto o = attachment_json(a);
            o["version"] = version_json(v, false);
            o["gns3_project"] = v.gns3_project;
            co_return json_ok(o);
        }};
    route.upload = kZipTypes;
    r.add(std::move(route));
}

void add_file_reads(Router& r, ApiDeps& d) {
    r.add({http::Method::get,
           "/api/v1/exercises/{id}/versions/{version}/files",
           Policy::teacher,
           "exercises",
           "The files stored with a version (its uploaded GNS3 project): name, size, sha256",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               int n = version_param(ctx);
               auto files = co_await d.pool.run(
                   [&] { return d.store.list_attachments(require_version(d.store, id, n).second.id); });
               json::array items;
               for (const auto& f : files) items.push_back(attachment_json(f));
               co_return json_ok(json::object{{"items", std::move(items)}});
           }});

    r.add({http::Method::get,
           "/api/v1/exercises/{id}/versions/{version}/files/{name}",
           Policy::teacher,
           "exercises",
           "Download one stored file of a version (the bytes, as an attachment)",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               int n = version_param(ctx);
               auto name = ctx.param("name");
               auto bytes = co_await d.pool.run([&] {
                   auto v = require_version(d.store, id, n).second;
                   auto a = d.store.get_attachment(v.id, name);
                   if (!a)
                       throw core::not_found("version " + std::to_string(n) + " has no file '" + name + "'");
                   auto content = d.store.attachment_bytes(a->sha256);
                   if (!content) throw core::not_found("the content of '" + name + "' is gone");
                   return std::move(*content);
               });
               auto res = http::text_response(200, std::move(bytes), "application/octet-stream");
               // The name was checked at upload (a bundle name: no quote, no control character).
               res.header("Content-Disposition", "attachment; filename=\"" + name + "\"");
               co_return res;
           }});
}

void add_zip_import(Router& r, ApiDeps& d) {
    Route route{
        http::Method::post,
        "/api/v1/exercises/import",
        Policy::teacher,
        "exercises",
        "Create an exercise, or a new draft version of the one with the same id, from a zip of its folder "
        "sent as the raw body (curl --data-binary @ex.zip -H 'Content-Type: application/zip'): "
        "exercise.yaml (its `id` is the slug), the instructions, the topology and its config files, and an "
        "optional .gns3project. Hostile zips are refused with the entry named (links, '..', absolute or "
        "non-UTF-8 names, duplicates; more than exercises.zip_max_entries entries or "
        "exercises.zip_max_total inflated bytes: 413).",
        {},
        {},
        201,
        [&d](Context& ctx) -> Aw {
            check_upload_type(ctx);
            auto& bytes = ctx.request.body;
            auto user = ctx.caller->user_id;
            auto result = co_await d.pool.run([&] {
                auto bundle = app::read_exercise_zip(bytes, d.options.uploads);
                if (bundle.slug.empty())
                    throw core::invalid("exercise.yaml has no id",
                                        {{"spec.id", "is required: the exercise's slug"}});
                check_version_content(bundle.version);
                app::ImportResult out;
                d.store.transaction([&] {
                    out = app::import_exercise(d.store, bundle, user);
                    audit(d.store, ctx, out.created ? "exercise.create" : "exercise.version.add", "exercise",
                          out.exercise.id,
                          json::serialize(json::object{{"version", out.version.version}, {"from", "zip"}}));
                });
                return out;
            });
            auto o = exercise_json(result.exercise);
            o["created"] = result.created;
            o["version"] = version_json(result.version, true);
            co_return json_ok(o, 201);
        }};
    route.upload = kZipTypes;
    r.add(std::move(route));
}

}  // namespace

void add_exercise_file_routes(Router& r, ApiDeps& d) {
    add_project_upload(r, d);
    add_file_reads(r, d);
    add_zip_import(r, d);
}

}  // namespace np::api
