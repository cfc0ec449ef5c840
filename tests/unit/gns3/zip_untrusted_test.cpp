// gns3::read_zip_untrusted: archives a teacher uploads (an exercise's zip, a GNS3 project) are refused when
// hostile, naming the entry: links, climbing or absolute names, duplicates, names that are not UTF-8,
// too many entries, and zip bombs (counted on the inflated bytes, not on what the headers say).
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "gns3/zip.hpp"

namespace np::gns3 {
namespace {

struct Entry {
    std::string name;
    std::string content;
    unsigned type = AE_IFREG;
    std::string link;  // AE_IFLNK: its target
};

// A zip written entry by entry, exactly as given (libarchive writes what it is told: duplicates too).
std::string make_zip(const std::vector<Entry>& entries) {
    std::string out;
    std::unique_ptr<archive, decltype(&archive_write_free)> a(archive_write_new(), archive_write_free);
    archive_write_set_format_zip(a.get());
    archive_write_set_options(a.get(), "zip:compression=deflate");
    archive_write_set_bytes_in_last_block(a.get(), 1);
    auto writer = [](archive*, void* data, const void* buffer, size_t length) -> la_ssize_t {
        static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
        return static_cast<la_ssize_t>(length);
    };
    archive_write_open(a.get(), &out, nullptr, writer, nullptr);
    for (const auto& e : entries) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.name.c_str());
        archive_entry_set_filetype(entry, e.type);
        archive_entry_set_perm(entry, 0644);
        if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.link.c_str());
        archive_entry_set_size(entry, e.type == AE_IFREG ? static_cast<la_int64_t>(e.content.size()) : 0);
        archive_write_header(a.get(), entry);
        if (e.type == AE_IFREG) archive_write_data(a.get(), e.content.data(), e.content.size());
        archive_entry_free(entry);
    }
    archive_write_close(a.get());
    return out;
}

// The error's code and its "zip" field message.
std::pair<core::Code, std::string> refusal(const std::string& zip, const ZipLimits& limits = {}) {
    try {
        read_zip_untrusted(zip, limits);
    } catch (const core::Error& e) {
        EXPECT_FALSE(e.fields().empty()) << e.what();
        return {e.code(),
                e.fields().empty() ? "" : e.fields().front().path + ": " + e.fields().front().message};
    }
    ADD_FAILURE() << "the archive was accepted";
    return {core::Code::internal, ""};
}

TEST(ZipUntrusted, ReadsFilesAndFoldersOfAPlainArchive) {
    auto files = read_zip_untrusted(make_zip({{"ex/", "", AE_IFDIR},
                                              {"ex/exercise.yaml", "id: x\n"},
                                              {"ex/configs/r1.conf", "hostname r1\n"},
                                              {"ex/caf\xc3\xa9.md", "utf-8 name"}}),
                                    {});
    ASSERT_EQ(files.size(), 3u);  // folders are not files
    EXPECT_EQ(files.at("ex/exercise.yaml"), "id: x\n");
    EXPECT_EQ(files.at("ex/configs/r1.conf"), "hostname r1\n");
    EXPECT_TRUE(files.contains("ex/caf\xc3\xa9.md"));
}

TEST(ZipUntrusted, RefusesHostileNamesAndLinksNamingTheEntry) {
    struct Case {
        std::vector<Entry> entries;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {{{"../evil.sh", "x"}}, "'../evil.sh' climbs out"},
        {{{"ex/../../etc/passwd", "x"}}, "climbs out"},
        {{{"/etc/passwd", "x"}}, "absolute path"},
        // libarchive reads a backslash as a folder separator (zips made on Windows): the path is checked
        // then.
        {{{"ex\\..\\..\\evil", "x"}}, "climbs out"},
        {{{"ex//a", "x"}}, "empty path part"},
        {{{"ex/./a", "x"}}, "'.' path part"},
        {{{"bad\xff\xfe.yaml", "x"}}, "not UTF-8"},
        {{{"overlong\xc0\xaf.yaml", "x"}}, "not UTF-8"},
        {{{"tab\there", "x"}}, "control character"},
        {{{"ex/link", "", AE_IFLNK, "/etc/passwd"}}, "'ex/link' is a link"},
        {{{"ex/a.yaml", "1"}, {"ex/a.yaml", "2"}}, "'ex/a.yaml' appears twice"},
    };
    for (const auto& c : cases) {
        auto [code, message] = refusal(make_zip(c.entries));
        EXPECT_EQ(code, core::Code::invalid) << c.expected;
        EXPECT_NE(message.find(c.expected), std::string::npos) << message;
        EXPECT_TRUE(message.starts_with("zip: entry")) << message;
    }
    auto [code, message] = refusal("PK\x03\x04 but not really a zip");
    EXPECT_EQ(code, core::Code::invalid);
    EXPECT_FALSE(message.empty());
}

TEST(ZipUntrusted, BoundsEntriesAndInflatedBytes) {
    std::vector<Entry> many;
    for (int i = 0; i < 11; ++i) many.push_back({"f" + std::to_string(i), "x"});
    auto [code, message] = refusal(make_zip(many), {.max_entries = 10, .max_total = 1 << 20});
    EXPECT_EQ(code, core::Code::payload_too_large);
    EXPECT_NE(message.find("more than 10 entries"), std::string::npos) << message;
    EXPECT_EQ(read_zip_untrusted(make_zip(many), {.max_entries = 11, .max_total = 1 << 20}).size(), 11u);

    // A bomb: 8 MiB of zeros deflate to a few KiB; the reader stops at the bound while inflating.
    auto bomb = make_zip({{"zeros.bin", std::string(8u << 20, '\0')}});
    EXPECT_LT(bomb.size(), 64u * 1024);
    auto [bcode, bmessage] = refusal(bomb, {.max_entries = 10, .max_total = 1 << 20});
    EXPECT_EQ(bcode, core::Code::payload_too_large);
    EXPECT_NE(bmessage.find("inflates to more than 1048576 bytes (at entry 'zeros.bin')"), std::string::npos)
        << bmessage;
}

}  // namespace
}  // namespace np::gns3
