#include "store/migrations.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "store/url.hpp"

namespace np::store {
namespace {

// Numbered from one with no gaps: the store applies every migration it has not recorded, in order, and a
// missing number would mean a branch's migration was lost in a merge.
TEST(Migrations, EmbeddedAreNumberedFromOneWithNoGaps) {
    auto all = embedded_migrations();
    ASSERT_FALSE(all.empty());
    for (std::size_t i = 0; i < all.size(); ++i) {
        EXPECT_EQ(all[i].version, static_cast<int>(i) + 1) << all[i].name;
        EXPECT_FALSE(all[i].name.empty());
        EXPECT_TRUE(all[i].sql.find("CREATE TABLE") != std::string_view::npos ||
                    all[i].sql.find("ALTER TABLE") != std::string_view::npos)
            << all[i].name;
    }
    EXPECT_EQ(all[0].name, "init");
}

TEST(Migrations, DialectBlocksKeepOnlyTheirEngine) {
    const std::string sql =
        "CREATE TABLE a (x TEXT);\n"
        "--@ sqlite\n"
        "CREATE TABLE only_sqlite (id INTEGER PRIMARY KEY AUTOINCREMENT);\n"
        "--@ end\n"
        "  --@ postgresql  \n"
        "CREATE TABLE only_pg (id BIGINT GENERATED ALWAYS AS IDENTITY);\n"
        "--@ end\n"
        "CREATE TABLE b (y TEXT);\n";
    auto lite = sql_for_dialect(sql, "sqlite");
    auto pg = sql_for_dialect(sql, "postgresql");
    EXPECT_NE(lite.find("only_sqlite"), std::string::npos);
    EXPECT_EQ(lite.find("only_pg"), std::string::npos);
    EXPECT_NE(pg.find("only_pg"), std::string::npos);
    EXPECT_EQ(pg.find("only_sqlite"), std::string::npos);
    for (const auto* out : {&lite, &pg}) {
        EXPECT_NE(out->find("CREATE TABLE a"), std::string::npos);
        EXPECT_NE(out->find("CREATE TABLE b"), std::string::npos);
        // line numbers survive, so an engine error points at the right line of the file
        EXPECT_EQ(std::count(out->begin(), out->end(), '\n'), 8);
    }
}

TEST(Migrations, MalformedBlocksAreRejected) {
    EXPECT_THROW(sql_for_dialect("--@ sqlite\nCREATE TABLE a (x TEXT);\n", "sqlite"), core::Error);
    EXPECT_THROW(sql_for_dialect("--@ end\n", "sqlite"), core::Error);
    EXPECT_THROW(sql_for_dialect("--@ mysql\n--@ end\n", "sqlite"), core::Error);
    EXPECT_THROW(sql_for_dialect("--@ sqlite\n--@ postgresql\n--@ end\n--@ end\n", "sqlite"), core::Error);
    EXPECT_THROW(sql_for_dialect("SELECT 1;", "oracle"), core::Error);
}

TEST(StoreUrl, PasswordsAreRedacted) {
    EXPECT_EQ(redacted_url("postgresql://np:s3cret@db:5432/np"), "postgresql://np:***@db:5432/np");
    EXPECT_EQ(redacted_url("postgresql://np@db/np"), "postgresql://np@db/np");
    EXPECT_EQ(redacted_url("sqlite:./var/netpraxis.db"), "sqlite:./var/netpraxis.db");
    EXPECT_EQ(redacted_url("postgresql://db/np?x=a@b"), "postgresql://db/np?x=a@b");
}

}  // namespace
}  // namespace np::store
