#include "http/static_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/beast/core/string.hpp>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <mutex>
#include <unordered_map>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"

namespace np::http {

namespace {

struct TypeEntry {
    std::string_view extension;
    MediaType type;
};
// What a web app ships; anything else is application/octet-stream (with nosniff, a browser will not
// guess a script or a page out of it).
constexpr TypeEntry kTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"wasm", "application/wasm"},
    {"xml", "application/xml"},
};

MediaType type_of(std::string_view name) {
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return "application/octet-stream";
    auto ext = name.substr(dot + 1);
    for (const auto& t : kTypes)
        if (boost::beast::iequals(t.extension, ext)) return t.type;
    return "application/octet-stream";
}

// The request path as a path relative to the folder, each segment percent-decoded on its own so that an
// encoded slash cannot join two segments. nullopt for anything that could leave the folder or name a
// hidden file: "." and ".." (encoded or not), a segment starting with '.', '/' or '\' inside a segment,
// NUL and other control bytes. Empty segments ("//", a trailing "/") are skipped. `has_extension` tells
// whether the last segment has a dot (SPA fallback: only extension-less paths are client-side routes).
std::optional<std::string> relative_path(std::string_view target, bool& has_extension) {
    std::string_view raw = target.substr(0, target.find('?'));
    if (raw.empty() || raw.front() != '/' || raw.size() > 2048) return std::nullopt;
    std::string rel, segment;
    has_extension = false;
    std::size_t i = 1;
    while (i <= raw.size()) {
        auto j = raw.find('/', i);
        if (j == std::string_view::npos) j = raw.size();
        auto piece = raw.substr(i, j - i);
        i = j + 1;
        if (piece.empty()) continue;
        if (!percent_decode(piece, segment, false)) return std::nullopt;
        if (segment.front() == '.') return std::nullopt;  // ".", "..", ".git", ".env"
        for (unsigned char c : segment)
            if (c < 0x20 || c == 0x7f || c == '/' || c == '\\') return std::nullopt;
        if (!rel.empty()) rel.push_back('/');
        rel += segment;
        has_extension = segment.find('.') != std::string::npos;
    }
    return rel;
}

// assets/NAME-HASH.EXT, HASH 8 to 64 of [A-Za-z0-9_] (what Vite and Rollup write): its content never
// changes under that name. A name that merely looks hashed would be cached for a year, so the rule is
// narrow; anything it misses is still revalidated cheaply (no-cache + ETag).
bool is_hashed_asset(std::string_view rel) {
    if (!rel.starts_with("assets/")) return false;
    auto name = rel.substr(rel.rfind('/') + 1);
    auto dot = name.rfind('.');
    if (dot == std::string_view::npos) return false;
    auto stem = name.substr(0, dot);
    auto dash = stem.rfind('-');
    if (dash == std::string_view::npos || dash == 0) return false;
    auto hash = stem.substr(dash + 1);
    if (hash.size() < 8 || hash.size() > 64) return false;
    for (unsigned char c : hash)
        if (!(std::isalnum(c) || c == '_')) return false;
    return true;
}

struct Encodings {
    bool br = false;
    bool gzip = false;
};

// Accept-Encoding with its q-values (RFC 9110 section 12.5.3): an encoding with q=0 is refused; "*"
// stands for those not named. Hand-written: Beast's ext_list (Boost 1.81) hands the parameters of one
// element to the next ("br;q=0, gzip" reads as gzip;q=0), which would refuse what the client accepts.
Encodings accepted_encodings(std::string_view header) {
    auto trim = [](std::string_view v) {
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        return v;
    };
    Encodings out;
    bool named_br = false, named_gzip = false, star = false;
    while (!header.empty()) {
        auto comma = header.find(',');
        auto item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        auto semi = item.find(';');
        auto token = trim(item.substr(0, semi));
        bool ok = true;
        while (semi != std::string_view::npos) {  // parameters: only q matters
            item = item.substr(semi + 1);
            semi = item.find(';');
            auto param = trim(item.substr(0, semi));
            if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
                auto value = trim(param.substr(2));  // "0", "0.", "0.000": refused
                ok = value.empty() || value.front() != '0' ||
                     value.find_first_not_of("0.") != std::string_view::npos;
            }
        }
        if (boost::beast::iequals(token, "br")) {
            named_br = true;
            out.br = ok;
        } else if (boost::beast::iequals(token, "gzip") || boost::beast::iequals(token, "x-gzip")) {
            named_gzip = true;
            out.gzip = ok;
        } else if (token == "*") {
            star = ok;
        }
    }
    if (!named_br) out.br = star;
    if (!named_gzip) out.gzip = star;
    return out;
}

// If-None-Match against our entity tag, by weak comparison (RFC 9110 section 13.1.2); "*" matches.
// Hand-written: Beast has no parser for entity-tag lists (quoted strings, not tokens).
bool etag_matches(std::string_view list, std::string_view etag) {
    for (;;) {
        while (!list.empty() && (list.front() == ' ' || list.front() == '\t' || list.front() == ','))
            list.remove_prefix(1);
        if (list.empty()) return false;
        if (list.front() == '*') return true;
        if (list.starts_with("W/")) list.remove_prefix(2);
        if (list.empty() || list.front() != '"') return false;
        auto end = list.find('"', 1);
        if (end == std::string_view::npos) return false;
        if (list.substr(0, end + 1) == etag) return true;
        list.remove_prefix(end + 1);
    }
}

std::string hex(std::uint64_t v) {
    char buf[17];
    int n = std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

struct StaticFiles::Impl {
    StaticOptions options;
    std::string root_prefix;  // the canonical folder with a trailing '/'

    struct File {
        std::string path;  // canonical
        std::uint64_t size = 0;
        std::int64_t mtime_ns = 0;
    };
    struct Found {
        int status = 404;
        std::string rel;  // the file answered (index.html for a client-side route)
        std::shared_ptr<const std::string> body;
        std::string etag;
        std::string_view encoding;  // "", "br", "gzip"
        bool vary = false;          // a precompressed sibling exists: the answer depends on Accept-Encoding
    };

    // The cache: canonical path -> contents, valid while size and mtime match; least recently used out.
    struct Entry {
        std::uint64_t size;
        std::int64_t mtime_ns;
        std::shared_ptr<const std::string> data;
        std::list<std::string>::iterator lru;
    };
    std::mutex mutex;  // lookups run on the worker pool, several at once
    std::unordered_map<std::string, Entry> cache;
    std::list<std::string> lru;  // front: most recently used
    std::size_t cached_bytes = 0;

    // A regular file inside the folder, following symlinks only as far as they stay inside.
    std::optional<File> resolve(const std::string& rel) const {
        std::string full = root_prefix + rel;
        char buf[PATH_MAX];
        if (!::realpath(full.c_str(), buf)) return std::nullopt;
        std::string canon(buf);
        if (!canon.starts_with(root_prefix)) return std::nullopt;  // a symlink that leads out
        struct stat st {};
        if (::stat(canon.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
        return File{std::move(canon), static_cast<std::uint64_t>(st.st_size),
                    static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
    }

    std::shared_ptr<const std::string> contents(const File& f) {
        {
            std::lock_guard lock(mutex);
            auto it = cache.find(f.path);
            if (it != cache.end()) {
                if (it->second.size == f.size && it->second.mtime_ns == f.mtime_ns) {
                    lru.splice(lru.begin(), lru, it->second.lru);
                    return it->second.data;
                }
                cached_bytes -= it->second.data->size();
                lru.erase(it->second.lru);
                cache.erase(it);
            }
        }
        int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) return nullptr;
        auto data = std::make_shared<std::string>();
        data->resize(f.size);
        std::size_t got = 0;
        while (got < data->size()) {
            auto n = ::read(fd, data->data() + got, data->size() - got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        ::close(fd);
        if (got != f.size) return nullptr;  // changing under us: answer 404 rather than half a file
        if (f.size <= options.cache_file_max && f.size <= options.cache_bytes) {
            std::lock_guard lock(mutex);
            if (!cache.contains(f.path)) {
                lru.push_front(f.path);
                cache.emplace(f.path, Entry{f.size, f.mtime_ns, data, lru.begin()});
                cached_bytes += f.size;
                while (cached_bytes > options.cache_bytes && !lru.empty()) {
                    auto victim = cache.find(lru.back());
                    cached_bytes -= victim->second.data->size();
                    cache.erase(victim);
                    lru.pop_back();
                }
            }
        }
        return data;
    }

    // Runs on the worker pool: every filesystem call is here.
    Found lookup(const std::string& rel, Encodings accepted, std::string_view if_none_match) {
        Found out;
        auto base = resolve(rel);
        if (!base) return out;
        File chosen = *base;
        auto br = resolve(rel + ".br");
        auto gz = resolve(rel + ".gz");
        out.vary = br || gz;
        if (accepted.br && br) {
            chosen = *br;
            out.encoding = "br";
        } else if (accepted.gzip && gz) {
            chosen = *gz;
            out.encoding = "gzip";
        }
        // Strong: size and mtime to the nanosecond of the very bytes sent (each encoding has its own).
        out.etag = "\"" + hex(chosen.size) + "-" + hex(static_cast<std::uint64_t>(chosen.mtime_ns)) +
                   (out.encoding.empty()   ? ""
                    : out.encoding == "br" ? "-br"
                                           : "-gz") +
                   "\"";
        out.rel = rel;
        if (!if_none_match.empty() && etag_matches(if_none_match, out.etag)) {
            out.status = 304;
            return out;
        }
        if (chosen.size > options.file_max) {
            log::warn("static.too_large", {{"path", chosen.path}, {"bytes", chosen.size}});
            return out;
        }
        out.body = contents(chosen);
        if (out.body) out.status = 200;
        return out;
    }
};

StaticFiles::StaticFiles(StaticOptions options, core::WorkerPool& pool)
    : impl_(std::make_shared<Impl>()), pool_(pool) {
    char buf[PATH_MAX];
    struct stat st {};
    if (options.root.empty() || !::realpath(options.root.c_str(), buf) || ::stat(buf, &st) != 0 ||
        !S_ISDIR(st.st_mode))
        throw core::invalid("server.static_dir '" + options.root + "' is not a folder");
    impl_->root_prefix = buf;
    if (!impl_->root_prefix.ends_with('/')) impl_->root_prefix.push_back('/');
    impl_->options = std::move(options);
}

StaticFiles::~StaticFiles() = default;

boost::asio::awaitable<std::optional<Response>> StaticFiles::serve(const Request& req) {
    if (req.method != Method::get && req.method != Method::head) co_return std::nullopt;
    bool has_extension = false;
    auto rel = relative_path(req.target, has_extension);
    if (!rel) co_return std::nullopt;
    // A client-side route (/courses/42) is the app's page: what a browser navigating there asks for.
    bool fallback = !has_extension && req.header("accept").find("text/html") != std::string_view::npos;
    if (rel->empty()) *rel = "index.html";
    auto accepted = accepted_encodings(req.header("accept-encoding"));
    // The closure captures by reference only (these locals outlive the co_await): GCC 12 destroys a
    // coroutine's by-value lambda argument with non-trivial captures twice.
    std::string inm(req.header("if-none-match"));
    auto& impl = *impl_;
    auto found = co_await pool_.run([&] {
        auto f = impl.lookup(*rel, accepted, inm);
        if (f.status == 404 && fallback) f = impl.lookup("index.html", accepted, inm);
        return f;
    });
    if (found.status == 404) co_return std::nullopt;

    Response res;
    res.status = found.status;
    auto type = type_of(found.rel);
    res.content_type = found.status == 200 ? type : MediaType{};
    res.header("ETag", found.etag);
    res.header("Cache-Control",
               is_hashed_asset(found.rel) ? "public, max-age=31536000, immutable" : "no-cache");
    if (found.vary) res.header("Vary", "Accept-Encoding");
    if (found.status == 200) {
        if (!found.encoding.empty()) res.header("Content-Encoding", std::string(found.encoding));
        if (type.view().starts_with("text/html"))
            res.header("Content-Security-Policy", std::string(kPageCsp));
        res.body.assign(*found.body);
    }
    co_return res;
}

}  // namespace np::http
