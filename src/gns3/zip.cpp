#include "gns3/zip.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <cstdint>
#include <memory>
#include <set>

#include "core/error.hpp"

namespace np::gns3 {

namespace {
struct ReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
}  // namespace

Files read_zip(std::string_view bytes) {
    std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
    archive_read_support_format_zip(a.get());
    if (bytes.empty() || archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
        throw core::invalid("not a zip archive");
    Files files;
    archive_entry* entry = nullptr;
    for (;;) {
        int rc = archive_read_next_header(a.get(), &entry);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            throw core::invalid(std::string("not a zip archive (") + archive_error_string(a.get()) + ")");
        if (archive_entry_filetype(entry) != AE_IFREG) continue;
        std::string path = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
        std::string content;
        char buf[16384];
        for (;;) {
            la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
            if (n < 0)
                throw core::invalid("zip entry '" + path +
                                    "' cannot be read: " + archive_error_string(a.get()));
            if (n == 0) break;
            content.append(buf, static_cast<std::size_t>(n));
            if (content.size() > (256u << 20))
                throw core::invalid("zip entry '" + path + "' is over 256 MiB");
        }
        files[path] = std::move(content);
    }
    return files;
}

namespace {

// Whether `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view s) {
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    std::size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = 0;  // continuation bytes
        if (c >= 0x80) {
            if ((c >> 5) == 6)
                n = 1;
            else if ((c >> 4) == 14)
                n = 2;
            else if ((c >> 3) == 30)
                n = 3;
            else
                return false;
        }
        if (s.size() - i <= n) return false;
        std::uint32_t cp = n == 0 ? c : c & (0x3fu >> n);
        for (std::size_t k = 1; k <= n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3fu);
        }
        if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n + 1;
    }
    return true;
}

// Why a path inside an archive is refused ("" when it is a plain relative path).
std::string zip_name_problem(std::string_view name) {
    if (name.empty()) return "has an empty name";
    if (!valid_utf8(name)) return "is not UTF-8";
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f) return "holds a control character";
    if (name.find('\\') != std::string_view::npos) return "holds a backslash";
    if (name.front() == '/') return "is an absolute path";
    std::string_view rest = name;
    if (rest.back() == '/') rest.remove_suffix(1);  // a folder
    while (true) {
        auto slash = rest.find('/');
        auto part = rest.substr(0, slash);
        if (part.empty()) return "has an empty path part ('//')";
        if (part == "..") return "climbs out of the archive ('..')";
        if (part == ".") return "has a '.' path part";
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return {};
}

}  // namespace

Files read_zip_untrusted(std::string_view bytes, const ZipLimits& limits) {
    std::unique_ptr<archive, ReadDeleter> a(archive_read_new());
    archive_read_support_format_zip(a.get());
    if (bytes.empty() || archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
        throw core::invalid("the upload is not a zip archive", {{"zip", "is not a zip archive"}});
    Files files;
    std::set<std::string> seen;
    std::size_t entries = 0, total = 0;
    archive_entry* entry = nullptr;
    for (;;) {
        int rc = archive_read_next_header(a.get(), &entry);
        if (rc == ARCHIVE_EOF) break;
        if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
            throw core::invalid("the zip archive is damaged",
                                {{"zip", std::string("is damaged: ") + archive_error_string(a.get())}});
        if (++entries > limits.max_entries)
            throw core::Error(
                core::Code::payload_too_large,
                "the zip archive has more than " + std::to_string(limits.max_entries) + " entries", false,
                {{"zip", "has more than " + std::to_string(limits.max_entries) + " entries"}});
        // The name as UTF-8 when the archive says it is (or it converts), else its raw bytes (checked below).
        const char* raw = archive_entry_pathname_utf8(entry);
        if (!raw) raw = archive_entry_pathname(entry);
        std::string path = raw ? raw : "";
        auto shown = "'" + path.substr(0, 120) + "'";
        if (auto problem = zip_name_problem(path); !problem.empty())
            throw core::invalid("zip entry " + shown + " " + problem,
                                {{"zip", "entry " + shown + " " + problem}});
        auto type = archive_entry_filetype(entry);
        if (type == AE_IFLNK || archive_entry_symlink(entry) || archive_entry_hardlink(entry))
            throw core::invalid(
                "zip entry " + shown + " is a link",
                {{"zip", "entry " + shown + " is a link: only files and folders are accepted"}});
        std::string key = path.ends_with('/') ? path.substr(0, path.size() - 1) : path;
        if (!seen.insert(key).second)
            throw core::invalid("zip entry " + shown + " appears twice",
                                {{"zip", "entry " + shown + " appears twice"}});
        if (type == AE_IFDIR || path.ends_with('/')) continue;
        if (type != AE_IFREG)
            throw core::invalid("zip entry " + shown + " is not a regular file",
                                {{"zip", "entry " + shown + " is not a regular file"}});
        std::string content;
        char buf[16384];
        for (;;) {
            la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
            if (n < 0)
                throw core::invalid(
                    "zip entry " + shown + " cannot be read",
                    {{"zip", "entry " + shown + " cannot be read: " + archive_error_string(a.get())}});
            if (n == 0) break;
            total += static_cast<std::size_t>(n);
            if (total > limits.max_total)
                throw core::Error(
                    core::Code::payload_too_large,
                    "the zip archive inflates to more than " + std::to_string(limits.max_total) + " bytes",
                    false,
                    {{"zip", "inflates to more than " + std::to_string(limits.max_total) +
                                 " bytes (at entry " + shown + ")"}});
            content.append(buf, static_cast<std::size_t>(n));
        }
        files[path] = std::move(content);
    }
    return files;
}

std::string write_zip(const Files& files) {
    std::string out;
    std::unique_ptr<archive, WriteDeleter> a(archive_write_new());
    archive_write_set_format_zip(a.get());
    archive_write_set_options(a.get(), "zip:compression=deflate");
    archive_write_set_bytes_in_last_block(a.get(), 1);  // no padding to 10 KiB blocks (a tar habit)
    auto writer = [](archive*, void* data, const void* buffer, size_t length) -> la_ssize_t {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
        return static_cast<la_ssize_t>(length);
    };
    if (archive_write_open(a.get(), &out, nullptr, writer, nullptr) != ARCHIVE_OK)
        throw core::internal(std::string("zip: ") + archive_error_string(a.get()));
    for (const auto& [path, content] : files) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, path.c_str());
        archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, 0644);
        archive_write_header(a.get(), e);
        archive_write_data(a.get(), content.data(), content.size());
        archive_entry_free(e);
    }
    archive_write_close(a.get());
    return out;
}

}  // namespace np::gns3
