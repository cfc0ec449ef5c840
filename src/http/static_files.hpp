// http::StaticFiles: the web app's files (a built single-page app) served from one folder, for the API to
// compose for GET/HEAD of paths it does not route. Strong ETags with If-None-Match (304); Cache-Control
// `no-cache` for pages and unhashed files, a year and `immutable` for hashed assets (assets/NAME-HASH.EXT);
// precompressed siblings (FILE.br, FILE.gz) when Accept-Encoding allows, with Vary; an SPA fallback
// (index.html) for client-side routes; pages get a Content-Security-Policy that lets the app's own
// scripts and styles run. No path leaves the folder: dot segments, encoded slashes, NUL and symlinks out
// are 404 (the resolved, canonical path must lie inside the canonical folder).
//
// Files are read on the worker pool, never on the event loop, and kept in an in-memory cache bounded in
// bytes (least recently used out): a web app is a few small files read over and over, so after the first
// request a file costs a stat() (on the pool, which also picks up a redeployed file at once) and a copy.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "http/message.hpp"

namespace np::core {
class WorkerPool;
}

namespace np::http {

struct StaticOptions {
    std::string root;                              // the folder; must exist
    std::size_t cache_bytes = 64 * 1024 * 1024;    // cached file contents, in total
    std::size_t cache_file_max = 4 * 1024 * 1024;  // larger files are read for each request, not cached
    std::size_t file_max = 64 * 1024 * 1024;       // larger files are not served (404, logged)
};

// The Content-Security-Policy of the app's pages. Scripts only from this server; styles may also be inline:
// xterm.js (the browser consoles) colours and sizes its rows with <style> elements and style attributes, and
// blocked, the terminal's text is drawn black on black. Inline styles cannot run script.
inline constexpr std::string_view kPageCsp =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

class StaticFiles {
 public:
    // Throws core::Error(invalid) when `options.root` is not a folder.
    StaticFiles(StaticOptions options, core::WorkerPool& pool);
    ~StaticFiles();
    StaticFiles(const StaticFiles&) = delete;
    StaticFiles& operator=(const StaticFiles&) = delete;

    // The answer for `request` (GET or HEAD): the file, a 304, or index.html for a client-side route;
    // nullopt when nothing here answers (the caller's 404).
    boost::asio::awaitable<std::optional<Response>> serve(const Request& request);

 private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
    core::WorkerPool& pool_;
};

}  // namespace np::http
