#include "gns3/zip.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>

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
