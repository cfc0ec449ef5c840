#include <gtest/gtest.h>

#include "core/error.hpp"
#include "net/http_client.hpp"

namespace np::net {
namespace {

TEST(Url, ParsesSchemeHostPortAndPath) {
    auto u = parse_url("https://pve1.example.org:8006/api2/json/");
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.host, "pve1.example.org");
    EXPECT_EQ(u.port, 8006);
    EXPECT_EQ(u.base_path, "/api2/json");
    auto p = parse_url("http://127.0.0.1");
    EXPECT_FALSE(p.tls);
    EXPECT_EQ(p.port, 80);
    EXPECT_EQ(p.base_path, "");
}

TEST(Url, RejectsOtherSchemesAndGarbage) {
    EXPECT_THROW(parse_url("ftp://x"), core::Error);
    EXPECT_THROW(parse_url("not a url"), core::Error);
    EXPECT_THROW(parse_url("https://"), core::Error);
}

TEST(Fingerprint, NormalisesColonsAndCase) {
    std::string hex64(64, 'a');
    EXPECT_EQ(normalize_fingerprint(hex64), hex64);
    std::string colons;
    for (int i = 0; i < 32; ++i) colons += std::string(i ? ":" : "") + "AB";
    EXPECT_EQ(normalize_fingerprint(colons), std::string(32 * 2, ' ').replace(0, 64, [] {
        std::string s;
        for (int i = 0; i < 32; ++i) s += "ab";
        return s;
    }()));
    EXPECT_EQ(normalize_fingerprint("zz"), "");
    EXPECT_EQ(normalize_fingerprint("abcd"), "");  // too short for SHA-256
}

}  // namespace
}  // namespace np::net
