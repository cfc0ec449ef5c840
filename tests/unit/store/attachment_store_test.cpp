// The Store's exercise attachments (migration 0006) on each engine: files of a version stored under their
// sha256, shared between versions (one blob), binary bytes kept exactly (NUL bytes, every byte value),
// published versions immutable, a blob removed with the last file that held it. The unit build runs
// SQLite; the PostgreSQL build (tests/integration/store) compiles this file with NP_STORE_TEST_POSTGRESQL.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"

#ifdef NP_STORE_TEST_POSTGRESQL
#include "pg_server.hpp"
#endif

namespace np::store {
namespace {

class AttachmentStore : public ::testing::Test {
 protected:
    void SetUp() override {
#ifdef NP_STORE_TEST_POSTGRESQL
        conninfo_ = test::create_database();
        s = std::make_unique<PgStore>(PgOptions{.conninfo = conninfo_});
#else
        std::string tmpl = (std::filesystem::temp_directory_path() / "np-attach-store-XXXXXX").string();
        ASSERT_TRUE(mkdtemp(tmpl.data()));
        dir_ = tmpl;
        s = std::make_unique<SqliteStore>(SqliteOptions{.path = dir_ + "/np.db"});
#endif
        s->migrate();
        Exercise e{core::new_id(), "gns3-lab", "GNS3 lab", "", 1700000000};
        s->create_exercise(e);
        exercise_id = e.id;
    }
    void TearDown() override {
        s.reset();
#ifdef NP_STORE_TEST_POSTGRESQL
        test::drop_database(conninfo_);
#else
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
#endif
    }
    ExerciseVersion version() {
        ExerciseVersion v;
        v.exercise_id = exercise_id;
        v.spec = "id: x";
        return s->add_version(v);
    }
    // Every byte value, NULs included, and more than one page of the engines' buffers.
    static std::string binary(std::size_t n, int seed) {
        std::string out(n, '\0');
        for (std::size_t i = 0; i < n; ++i)
            out[i] = static_cast<char>((i * 131 + static_cast<std::size_t>(seed)) % 256);
        return out;
    }
    std::unique_ptr<Store> s;
    std::string exercise_id;
    std::string conninfo_;
    std::string dir_;
};

void expect_code(const std::function<void()>& fn, core::Code code, const std::string& part) {
    try {
        fn();
        ADD_FAILURE() << "no error; expected one containing '" << part << "'";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), code) << e.what();
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST_F(AttachmentStore, BytesComeBackExactlyUnderTheirSha256) {
    auto v1 = version();
    const auto bytes = binary(300 * 1024 + 7, 1);
    auto a = s->put_attachment(
        {.version_id = v1.id, .name = "lab.gns3project", .media_type = "application/zip"}, bytes);
    EXPECT_EQ(a.sha256, core::sha256_hex(bytes));
    EXPECT_EQ(a.size, static_cast<std::int64_t>(bytes.size()));
    EXPECT_GT(a.created_at, 0);
    auto got = s->get_attachment(v1.id, "lab.gns3project");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->sha256, a.sha256);
    EXPECT_EQ(got->media_type, "application/zip");
    auto back = s->attachment_bytes(a.sha256);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->size(), bytes.size());
    EXPECT_TRUE(*back == bytes);
    EXPECT_FALSE(s->get_attachment(v1.id, "other"));
    EXPECT_FALSE(s->attachment_bytes(std::string(64, '0')));
    // An empty file is a file too.
    auto empty = s->put_attachment({.version_id = v1.id, .name = "empty.txt"}, "");
    EXPECT_EQ(empty.size, 0);
    EXPECT_EQ(empty.media_type, "application/octet-stream");
    EXPECT_EQ(*s->attachment_bytes(empty.sha256), "");
    auto all = s->list_attachments(v1.id);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "empty.txt");  // by name
    EXPECT_EQ(all[1].name, "lab.gns3project");
}

TEST_F(AttachmentStore, VersionsShareOneBlobAndTheLastHolderRemovesIt) {
    auto v1 = version();
    const auto bytes = binary(4096, 2);
    auto a = s->put_attachment({.version_id = v1.id, .name = "lab.gns3project"}, bytes);
    auto v2 = version();
    EXPECT_EQ(s->copy_attachments(v1.id, v2.id), 1);
    EXPECT_EQ(s->copy_attachments(v1.id, v2.id), 0);  // it has them now
    EXPECT_EQ(s->get_attachment(v2.id, "lab.gns3project")->sha256, a.sha256);
    // Replacing v2's file with new bytes keeps v1's.
    const auto other = binary(4096, 3);
    auto b = s->put_attachment({.version_id = v2.id, .name = "lab.gns3project"}, other);
    EXPECT_NE(b.sha256, a.sha256);
    EXPECT_TRUE(*s->attachment_bytes(a.sha256) == bytes);
    // Putting the same bytes again under another name stores nothing new.
    s->put_attachment({.version_id = v2.id, .name = "copy.gns3project"}, other);
    s->delete_attachment(v2.id, "lab.gns3project");
    EXPECT_TRUE(s->attachment_bytes(b.sha256));  // copy.gns3project still holds them
    s->delete_attachment(v2.id, "copy.gns3project");
    EXPECT_FALSE(s->attachment_bytes(b.sha256));  // nobody does now
    EXPECT_TRUE(s->attachment_bytes(a.sha256));
    expect_code([&] { s->delete_attachment(v2.id, "copy.gns3project"); }, core::Code::not_found, "copy");
}

TEST_F(AttachmentStore, PublishedVersionsAndUnknownVersionsRefuseFiles) {
    auto v1 = version();
    s->put_attachment({.version_id = v1.id, .name = "lab.gns3project"}, binary(10, 4));
    s->publish_version(exercise_id, 1, 1700000100);
    expect_code([&] { s->put_attachment({.version_id = v1.id, .name = "lab.gns3project"}, "x"); },
                core::Code::conflict, "immutable");
    expect_code([&] { s->delete_attachment(v1.id, "lab.gns3project"); }, core::Code::conflict, "immutable");
    expect_code([&] { s->put_attachment({.version_id = "missing", .name = "a"}, "x"); },
                core::Code::not_found, "missing");
    expect_code([&] { s->put_attachment({.version_id = v1.id, .name = ""}, "x"); }, core::Code::invalid,
                "name");
    EXPECT_TRUE(*s->attachment_bytes(core::sha256_hex(binary(10, 4))) == binary(10, 4));
    // A new draft gets the published version's files.
    auto v2 = version();
    EXPECT_EQ(s->copy_attachments(v1.id, v2.id), 1);
    expect_code([&] { s->copy_attachments(v2.id, v1.id); }, core::Code::conflict, "immutable");
}

TEST_F(AttachmentStore, AFailedTransactionStoresNoBytes) {
    auto v1 = version();
    const auto bytes = binary(1000, 5);
    EXPECT_THROW(s->transaction([&] {
        s->put_attachment({.version_id = v1.id, .name = "lab.gns3project"}, bytes);
        throw core::invalid("the upload was refused after storing");
    }),
                 core::Error);
    EXPECT_FALSE(s->get_attachment(v1.id, "lab.gns3project"));
    EXPECT_FALSE(s->attachment_bytes(core::sha256_hex(bytes)));
}

}  // namespace
}  // namespace np::store
