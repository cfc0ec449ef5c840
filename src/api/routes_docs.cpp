// The interactive API reference at /api/docs: Swagger UI (npm swagger-ui-dist, docs/api-ui) rendering this
// server's own /api/v1/openapi.json, served from the binary itself (no CDN: classrooms are often offline,
// and a page that loads third-party scripts would weaken the CSP). The files are embedded at build time
// (docs_assets.cpp); a binary built without them answers 404 saying how to build them.
#include "api/docs_assets.hpp"
#include "api/handlers.hpp"

namespace np::api {
using Aw = boost::asio::awaitable<http::Response>;

namespace {

constexpr std::string_view kPage = R"(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netpraxis API reference</title>
<link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/api/docs/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body>
</html>
)";

// No inline script: the page's CSP allows scripts from this origin only.
constexpr std::string_view kInit =
    "window.ui = SwaggerUIBundle({url: '/api/v1/openapi.json', dom_id: '#ui', deepLinking: true,\n"
    "  persistAuthorization: false, tryItOutEnabled: false});\n";

// Swagger UI sets inline styles on its elements (hence style-src 'unsafe-inline'); its scripts are ours.
constexpr const char* kPageCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

http::Response asset(std::string_view body, http::MediaType type, bool page) {
    if (body.empty())
        return problem_response(404, "Not found",
                                "the API reference was not built into this binary: run `make build` (it runs "
                                "`npm ci` in docs/api-ui), or read /api/v1/openapi.json",
                                "");
    auto r = http::text_response(200, std::string(body), type);
    if (page) {
        r.header("Content-Security-Policy", kPageCsp);
        r.header("Cache-Control", "no-cache");
    } else {
        r.header("Cache-Control", "public, max-age=86400");
    }
    return r;
}

}  // namespace

void add_docs_routes(Router& r) {
    struct File {
        const char* path;
        const char* summary;
        std::string_view (*body)();
        http::MediaType type;
        bool page;
    };
    static const File files[] = {
        {"/api/docs", "The interactive API reference (Swagger UI over /api/v1/openapi.json)",
         [] { return docs_assets::available() ? kPage : std::string_view(); }, "text/html; charset=utf-8",
         true},
        {"/api/docs/init.js", "API reference: its start script",
         [] { return docs_assets::available() ? kInit : std::string_view(); },
         "text/javascript; charset=utf-8", false},
        {"/api/docs/swagger-ui-bundle.js", "API reference: Swagger UI", docs_assets::swagger_ui_js,
         "text/javascript; charset=utf-8", false},
        {"/api/docs/swagger-ui.css", "API reference: Swagger UI's styles", docs_assets::swagger_ui_css,
         "text/css; charset=utf-8", false},
    };
    for (const auto& f : files) {
        r.add({http::Method::get,
               f.path,
               Policy::public_,
               "docs",
               f.summary,
               {},
               {},
               200,
               [&f](Context&) -> Aw { co_return asset(f.body(), f.type, f.page); }});
    }
}

}  // namespace np::api
