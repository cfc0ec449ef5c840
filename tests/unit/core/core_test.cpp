#include <gtest/gtest.h>

#include "core/bundle.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"

using namespace np;

TEST(Config, ReadsNestedKeysWithDefaults) {
    auto c = core::Config::from_string("server:\n  port: 9000\n  address: 0.0.0.0\nauth:\n  token_ttl: 2h\n");
    EXPECT_EQ(c.get_int("server.port", 1), 9000);
    EXPECT_EQ(c.get_string("server.address"), "0.0.0.0");
    EXPECT_EQ(c.get_int("server.missing", 7), 7);
    EXPECT_EQ(c.get_duration("auth.token_ttl", {}), std::chrono::hours(2));
    EXPECT_FALSE(c.has("store.url"));
}

TEST(Config, WrongTypeNamesTheKeyAndLine) {
    auto c = core::Config::from_string("server:\n  port: eighty\n");
    try {
        c.get_int("server.port", 0);
        FAIL() << "expected an error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::invalid);
        EXPECT_NE(std::string(e.what()).find("server.port"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("line 2"), std::string::npos);
    }
}

TEST(Config, BrokenYamlIsInvalidWithLine) {
    try {
        core::Config::from_string("server:\n  port: [1, 2\n");
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::invalid);
        EXPECT_NE(std::string(e.what()).find("line"), std::string::npos);
    }
}

TEST(Config, EnvironmentOverridesUseDoubleUnderscores) {
    auto c = core::Config::from_string("auth:\n  jwt_secret: from-file\n");
    std::string a = "NETPRAXIS_AUTH__JWT_SECRET=from-env", b = "NETPRAXIS_SERVER__PORT=8181",
                d = "NETPRAXIS_CONFIG=x", e = "HOME=/root";
    char* env[] = {a.data(), b.data(), d.data(), e.data(), nullptr};
    c.apply_env(env);
    EXPECT_EQ(c.get_string("auth.jwt_secret"), "from-env");
    EXPECT_EQ(c.get_int("server.port", 0), 8181);
    EXPECT_FALSE(c.has("config"));
}

TEST(Config, Durations) {
    EXPECT_EQ(core::parse_duration("500ms", "x"), std::chrono::milliseconds(500));
    EXPECT_EQ(core::parse_duration("30", "x"), std::chrono::seconds(30));
    EXPECT_EQ(core::parse_duration("1.5m", "x"), std::chrono::seconds(90));
    EXPECT_THROW(core::parse_duration("soon", "x"), core::Error);
    EXPECT_THROW(core::parse_duration("5 parsecs", "x"), core::Error);
    EXPECT_THROW(core::parse_duration("-3s", "x"), core::Error);
}

TEST(Log, RedactsSecretKeysAndQuotes) {
    auto line = log::render("auth.login",
                            {{"user", "alice"},
                             {"password", "hunter2"},
                             {"pve_ticket", "PVE:x"},
                             {"msg", "two words"},
                             {"Authorization", "Bearer abc"}},
                            false);
    EXPECT_EQ(line.find("hunter2"), std::string::npos);
    EXPECT_EQ(line.find("PVE:x"), std::string::npos);
    EXPECT_EQ(line.find("Bearer abc"), std::string::npos);
    EXPECT_NE(line.find("user=alice"), std::string::npos);
    EXPECT_NE(line.find("msg=\"two words\""), std::string::npos);
    auto json = log::render("e", {{"k", "a\"b\n"}}, true);
    EXPECT_EQ(json, R"("event":"e","k":"a\"b\n")");
}

TEST(Ids, TimeOrderedAndUnique) {
    auto a = core::new_id();
    auto b = core::new_id();
    EXPECT_EQ(a.size(), 20u);
    EXPECT_NE(a, b);
    EXPECT_LE(a.substr(0, 12), b.substr(0, 12));
    EXPECT_EQ(core::random_hex(4).size(), 8u);
    EXPECT_EQ(core::random_base64url(3).size(), 4u);
}

TEST(Time, Rfc3339RoundTripAndOffsets) {
    std::int64_t t = 0;
    ASSERT_TRUE(core::parse_rfc3339("2026-11-25T18:21:28Z", t));
    EXPECT_EQ(core::rfc3339(t), "2026-11-25T18:21:28Z");
    std::int64_t t2 = 0;
    ASSERT_TRUE(core::parse_rfc3339("2026-11-25T19:21:28+01:00", t2));
    EXPECT_EQ(t, t2);
    EXPECT_FALSE(core::parse_rfc3339("tomorrow", t));
    EXPECT_FALSE(core::parse_rfc3339("2026-13-01T00:00:00Z", t));
    // Calendar edges of the hand-written formatter.
    EXPECT_EQ(core::rfc3339(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(core::rfc3339(951782400), "2000-02-29T00:00:00Z");   // leap day of a century leap year
    EXPECT_EQ(core::rfc3339(4107542399), "2100-02-28T23:59:59Z");  // 2100 is not a leap year
    EXPECT_EQ(core::rfc3339(-1), "1969-12-31T23:59:59Z");
}

TEST(Ids, RequestIdsArePrefixDashHexCounter) {
    auto a = core::new_request_id();
    auto b = core::new_request_id();
    ASSERT_EQ(a.size(), 15u);  // 8 hex prefix, '-', at least 6 hex digits
    EXPECT_EQ(a[8], '-');
    EXPECT_EQ(a.substr(0, 9), b.substr(0, 9));
    EXPECT_EQ(std::stoull(b.substr(9), nullptr, 16), std::stoull(a.substr(9), nullptr, 16) + 1);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef-"), std::string::npos);
}

TEST(Error, CodesMapToHttp) {
    EXPECT_EQ(core::http_status(core::Code::invalid), 400);
    EXPECT_EQ(core::http_status(core::Code::rate_limited), 429);
    EXPECT_EQ(core::http_status(core::Code::upstream), 502);
    EXPECT_TRUE(core::unavailable("x").retryable());
    EXPECT_FALSE(core::invalid("x").retryable());
}

TEST(Bundle, NamesStayInsideTheFolder) {
    using np::core::bundle_name_problem;
    EXPECT_EQ(bundle_name_problem("configs/r1.conf"), "");
    EXPECT_EQ(bundle_name_problem("./instructions.md"), "");
    EXPECT_NE(bundle_name_problem("../x").find("'..'"), std::string::npos);
    EXPECT_NE(bundle_name_problem("a/../../x").find("'..'"), std::string::npos);
    EXPECT_NE(bundle_name_problem("/etc/shadow").find("absolute"), std::string::npos);
    EXPECT_NE(bundle_name_problem("~/x").find("absolute"), std::string::npos);
    EXPECT_NE(bundle_name_problem("a\\..\\b").find("backslash"), std::string::npos);
    EXPECT_NE(bundle_name_problem(std::string("a\0b", 3)).find("control"), std::string::npos);
    EXPECT_NE(bundle_name_problem("").find("empty"), std::string::npos);
    EXPECT_NE(bundle_name_problem(std::string(300, 'a')).find("255"), std::string::npos);
}

TEST(Error, PublicMessagesHideInternalDetail) {
    using namespace np::core;
    auto shadow = internal("`sh /tmp/x` failed (exit 2): root:$6$abcdef:19000:0:99999:7:::");
    EXPECT_EQ(public_message(shadow).find("root:"), std::string::npos);
    EXPECT_NE(public_message(shadow).find("internal error"), std::string::npos);
    EXPECT_EQ(public_message(std::runtime_error("boom /etc/passwd")).find("passwd"), std::string::npos);
    // Reasons written for the user stay.
    EXPECT_EQ(public_message(conflict("all 3 attempts are used")), "all 3 attempts are used");
    EXPECT_EQ(public_message(unavailable("host lab cap reached")), "host lab cap reached");
    // Cut, and secrets masked even there.
    EXPECT_LT(public_message(conflict(std::string(5000, 'x'))).size(), 500u);
    EXPECT_EQ(public_message(upstream("proxmox said: ticket=PVE:root@pam:ABC123 denied")).find("ABC123"),
              std::string::npos);
}

TEST(Error, RedactMasksSecretsAndCuts) {
    using np::core::redact;
    auto r = redact(
        "GET https://root:hunter2@pve:8006/api2/json Cookie: PVEAuthCookie=PVE:root@pam:XYZ; "
        "password=hunter2&x=1 Authorization: Bearer eyJabc.def CSRFPreventionToken: 1234:abcd");
    for (const char* secret : {"hunter2", "XYZ", "eyJabc", "1234:abcd"})
        EXPECT_EQ(r.find(secret), std::string::npos) << secret << " in " << r;
    EXPECT_NE(r.find("[redacted]"), std::string::npos);
    EXPECT_NE(r.find("pve:8006/api2/json"), std::string::npos);  // the rest is kept
    auto cut = redact(std::string(10000, 'a'), 100);
    EXPECT_NE(cut.find("9900 more bytes cut"), std::string::npos);
    EXPECT_EQ(redact("plain text, no secret"), "plain text, no secret");
}
