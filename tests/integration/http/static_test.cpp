// http::StaticFiles behind http::Server on a loopback socket: ETag/304, precompressed siblings, cache
// headers, content types, the SPA fallback, the page CSP, and path escapes (all 404).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/offload.hpp"
#include "http/server.hpp"
#include "http/static_files.hpp"
#include "http_client.hpp"

using namespace np;
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
}

// <tmp>/outside.txt and <tmp>/app/{index.html, assets/app-4f3a9c1d.js(.gz), style.css(.br), ...}.
struct Site {
    fs::path dir;
    Site() {
        char tmpl[] = "/tmp/np-static-XXXXXX";
        dir = ::mkdtemp(tmpl);
        auto app = dir / "app";
        write_file(dir / "outside.txt", "SECRET");
        write_file(app / "index.html", "<!doctype html><title>np</title>");
        write_file(app / "assets/app-4f3a9c1dZ.js", "console.log(1)");
        write_file(app / "assets/app-4f3a9c1dZ.js.gz", "GZIPPED-JS");
        write_file(app / "style.css", "body{}");
        write_file(app / "style.css.br", "BROTLI-CSS");
        write_file(app / "style.css.gz", "GZIPPED-CSS");
        write_file(app / "logo.svg", "<svg/>");
        write_file(app / "data.json", "{}");
        write_file(app / "blob.bin7", "??");
        write_file(app / ".env", "HIDDEN");
        fs::create_symlink(dir / "outside.txt", app / "leak.txt");
        fs::create_symlink(dir, app / "up");
        fs::create_symlink(app / "logo.svg", app / "alias.svg");  // inside: fine
    }
    ~Site() { fs::remove_all(dir); }
};

struct StaticServer {
    Site site;
    core::WorkerPool pool{2};
    asio::io_context ioc;
    http::StaticFiles files{http::StaticOptions{(site.dir / "app").string()}, pool};
    std::unique_ptr<http::Server> server;
    std::uint16_t port = 0;
    std::thread thread;

    StaticServer() {
        http::ServerOptions opts;
        opts.port = 0;
        opts.access_log = false;
        server = std::make_unique<http::Server>(
            ioc.get_executor(), opts, [this](http::Request& req) -> asio::awaitable<http::Response> {
                http::Response res = http::json_response(404, R"({"title":"Not found"})");
                std::optional<http::Response> file = co_await files.serve(req);
                if (file) res = std::move(*file);
                co_return res;
            });
        port = server->listen();
        server->start();
        thread = std::thread([this] { ioc.run(); });
    }
    ~StaticServer() {
        ioc.stop();
        thread.join();
    }
    testkit::HttpResult get(const std::string& target,
                            const std::vector<std::pair<std::string, std::string>>& headers = {},
                            const std::string& method = "GET") {
        return testkit::HttpClient(port).request(method, target, "", headers);
    }
};

constexpr const char* kPageCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

}  // namespace

TEST(StaticFiles, IndexIsAPageWithItsCspAndNoCache) {
    StaticServer s;
    for (const char* target : {"/", "/index.html"}) {
        auto r = s.get(target);
        EXPECT_EQ(r.status, 200) << target;
        EXPECT_EQ(r.body, "<!doctype html><title>np</title>");
        EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
        EXPECT_EQ(r.header("cache-control"), "no-cache");
        EXPECT_EQ(r.header("content-security-policy"), kPageCsp);  // replaces the strict default: one CSP
        EXPECT_EQ(r.header("x-frame-options"), "DENY");
        EXPECT_FALSE(r.header("etag").empty());
    }
}

TEST(StaticFiles, EtagRevalidatesWith304) {
    StaticServer s;
    auto first = s.get("/logo.svg");
    ASSERT_EQ(first.status, 200);
    auto etag = first.header("etag");
    ASSERT_TRUE(etag.starts_with("\"") && etag.ends_with("\"")) << etag;  // strong
    for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
        auto r = s.get("/logo.svg", {{"If-None-Match", inm}});
        EXPECT_EQ(r.status, 304) << inm;
        EXPECT_EQ(r.body, "");
        EXPECT_EQ(r.header("etag"), etag);
    }
    EXPECT_EQ(s.get("/logo.svg", {{"If-None-Match", "\"stale\""}}).status, 200);
    // A new version of the file is a new tag (size and mtime).
    write_file(s.site.dir / "app/logo.svg", "<svg id='new'/>");
    auto changed = s.get("/logo.svg", {{"If-None-Match", etag}});
    EXPECT_EQ(changed.status, 200);
    EXPECT_EQ(changed.body, "<svg id='new'/>");
    EXPECT_NE(changed.header("etag"), etag);
}

TEST(StaticFiles, PrecompressedSiblingsFollowAcceptEncoding) {
    StaticServer s;
    auto gz = s.get("/assets/app-4f3a9c1dZ.js", {{"Accept-Encoding", "gzip, deflate"}});
    EXPECT_EQ(gz.status, 200);
    EXPECT_EQ(gz.body, "GZIPPED-JS");
    EXPECT_EQ(gz.header("content-encoding"), "gzip");
    EXPECT_EQ(gz.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(gz.header("vary"), "Accept-Encoding");
    EXPECT_EQ(gz.header("cache-control"), "public, max-age=31536000, immutable");  // hashed asset name
    auto plain = s.get("/assets/app-4f3a9c1dZ.js");
    EXPECT_EQ(plain.body, "console.log(1)");
    EXPECT_EQ(plain.header("content-encoding"), "");
    EXPECT_EQ(plain.header("vary"), "Accept-Encoding");
    EXPECT_NE(plain.header("etag"), gz.header("etag"));  // each representation its own strong tag
    EXPECT_EQ(s.get("/assets/app-4f3a9c1dZ.js", {{"Accept-Encoding", "gzip;q=0"}}).body, "console.log(1)");
    // br preferred when both are there and allowed; "*" covers what is not named.
    EXPECT_EQ(s.get("/style.css", {{"Accept-Encoding", "gzip, br"}}).body, "BROTLI-CSS");
    EXPECT_EQ(s.get("/style.css", {{"Accept-Encoding", "br;q=0, gzip"}}).body, "GZIPPED-CSS");
    EXPECT_EQ(s.get("/style.css", {{"Accept-Encoding", "br;q=0.0, gzip;q=0.5"}}).body, "GZIPPED-CSS");
    EXPECT_EQ(s.get("/style.css", {{"Accept-Encoding", "*;q=0"}}).body, "body{}");
    EXPECT_EQ(s.get("/style.css", {{"Accept-Encoding", "*"}}).header("content-encoding"), "br");
    auto css = s.get("/style.css", {{"Accept-Encoding", "br"}});
    EXPECT_EQ(css.header("content-type"), "text/css; charset=utf-8");
    EXPECT_EQ(css.header("cache-control"), "no-cache");  // not a hashed name
    // No sibling: no Vary.
    EXPECT_EQ(s.get("/logo.svg", {{"Accept-Encoding", "gzip"}}).header("vary"), "");
}

TEST(StaticFiles, ContentTypesFromTheTable) {
    StaticServer s;
    EXPECT_EQ(s.get("/logo.svg").header("content-type"), "image/svg+xml");
    EXPECT_EQ(s.get("/alias.svg").header("content-type"), "image/svg+xml");  // a symlink inside the folder
    EXPECT_EQ(s.get("/data.json").header("content-type"), "application/json");
    EXPECT_EQ(s.get("/blob.bin7").header("content-type"), "application/octet-stream");
    // Files that are not pages keep the strict default CSP.
    EXPECT_EQ(s.get("/logo.svg").header("content-security-policy"),
              "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
    auto head = s.get("/data.json", {}, "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("content-length"), "2");
    EXPECT_EQ(head.body, "");
}

TEST(StaticFiles, SpaFallbackForClientSideRoutesOnly) {
    StaticServer s;
    auto route = s.get("/courses/42/labs", {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}});
    EXPECT_EQ(route.status, 200);
    EXPECT_EQ(route.body, "<!doctype html><title>np</title>");
    EXPECT_EQ(route.header("cache-control"), "no-cache");
    EXPECT_EQ(route.header("content-security-policy"), kPageCsp);
    EXPECT_EQ(s.get("/courses/42/labs", {{"Accept", "application/json"}}).status, 404);  // not a browser page
    EXPECT_EQ(s.get("/missing.js", {{"Accept", "text/html"}}).status, 404);  // a file, not a route
    EXPECT_EQ(s.get("/x", {}, "POST").status, 404);
}

TEST(StaticFiles, NoPathLeavesTheFolder) {
    StaticServer s;
    for (const char* target :
         {"/../outside.txt", "/assets/../../outside.txt", "/%2e%2e/outside.txt", "/%2E%2E/outside.txt",
          "/assets/%2e%2e/%2e%2e/outside.txt", "/assets%2f..%2f..%2foutside.txt", "/..%2foutside.txt",
          "/..%5coutside.txt", "/leak.txt", "/up/outside.txt", "/index.html%00.js", "/.env", "/%2eenv",
          "/assets/./app-4f3a9c1dZ.js", "/%zz", "//outside.txt", "/app/../outside.txt"}) {
        for (const char* accept : {"*/*", "text/html"}) {
            auto r = s.get(target, {{"Accept", accept}});
            EXPECT_EQ(r.status, 404) << target << " (" << accept << "): " << r.body;
            EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << target;
        }
    }
}
