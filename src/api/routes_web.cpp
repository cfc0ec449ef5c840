// Routes the web app needs beside the resource routes (usable by scripts too): linting a spec without storing
// it (the exercise editor shows each error at its line as the teacher types). A student's view of an
// assignment is GET /api/v1/assignments/{id}/view (routes_assignments.cpp).
#include <regex>

#include "api/handlers.hpp"
#include "core/offload.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

void add_web_routes(Router& r, ApiDeps& d) {
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
