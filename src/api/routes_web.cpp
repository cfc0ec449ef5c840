// Read routes the web app needs beside the resource routes (usable by scripts too): a student's view of
// the exercise of an assignment, and linting a spec without storing it (the exercise editor shows each
// error at its line as the teacher types).
#include <regex>

#include "api/handlers.hpp"
#include "core/offload.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

void add_web_routes(Router& r, ApiDeps& d) {
    r.add({http::Method::get,
           "/api/v1/assignments/{id}/exercise",
           Policy::student_own,
           "assignments",
           "The exercise of an assignment as its student sees it: title and instructions (Markdown) of the "
           "assigned version, and the devices its lab has; never the grading spec",
           {},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto id = ctx.param("id");
               auto found = co_await d.pool.run([&] {
                   auto a = d.store.get_assignment(id);
                   if (!a) throw core::not_found("no such object");
                   auto v = d.store.get_version_by_id(a->exercise_version_id);
                   auto e = d.store.get_exercise(a->exercise_id);
                   if (!v || !e) throw core::not_found("the assignment's exercise is gone");
                   return std::make_tuple(*a, *e, *v);
               });
               auto& [a, e, v] = found;
               ctx.require_owner(a.student_id);
               co_return json_ok(json::object{{"assignment_id", a.id},
                                              {"exercise_id", e.id},
                                              {"slug", e.slug},
                                              {"title", e.title},
                                              {"version", v.version},
                                              {"instructions", v.instructions}});
           }});

    r.add({http::Method::post,
           "/api/v1/lint",
           Policy::teacher,
           "exercises",
           "Lint a grading spec (and the instructions' variables) without storing anything: the errors "
           "publishing would refuse, each with its path and line",
           {{"spec", "string", true, "exercise.yaml text"}, {"instructions", "string", false, "Markdown"}},
           {},
           200,
           [&d](Context& ctx) -> Aw {
               auto spec = body_string(ctx, "spec");
               auto instructions = body_string(ctx, "instructions");
               if (!d.lint) throw core::unavailable("linting is not available on this server");
               auto errors = co_await d.pool.run([&] { return d.lint(spec, instructions); });
               static const std::regex line_prefix(R"(^line (\d+): )");
               json::array out;
               for (const auto& f : errors) {
                   std::smatch m;
                   json::object o{{"path", f.path}, {"message", f.message}, {"line", nullptr}};
                   if (std::regex_search(f.message, m, line_prefix)) {
                       o["line"] = std::stoi(m[1].str());
                       o["message"] = m.suffix().str();
                   }
                   out.push_back(std::move(o));
               }
               co_return json_ok(json::object{{"errors", std::move(out)}});
           }});
}

}  // namespace np::api
