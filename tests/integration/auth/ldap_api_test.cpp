// LDAP logins through POST /api/v1/auth/login of a spawned `netpraxis serve` whose realms are local, then
// `teachers` (ldaps://) and `students` (ldap:// + StartTLS) on a real slapd (slapd_server.hpp). The service
// account's password reaches the server from the environment only (NETPRAXIS_AUTH__LDAP__<NAME>__...).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>

#include "http_client.hpp"
#include "slapd_server.hpp"

using namespace np::testkit;
using namespace np::auth::test;
namespace json = boost::json;

namespace {

class LdapLogin : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        slapd_ = new Slapd();
        ::setenv("NETPRAXIS_AUTH__LDAP__TEACHERS__BIND_PASSWORD", kServicePassword, 1);
        ::setenv("NETPRAXIS_AUTH__LDAP__STUDENTS__BIND_PASSWORD", kServicePassword, 1);
        const std::string common = std::string(", ca_file: '") + slapd_->ca_file() + "', bind_dn: '" +
                                   kServiceDn + "', base_dn: '" + kPeopleDn +
                                   "', user_filter: '(&(objectClass=inetOrgPerson)(uid={username}))'";
        const std::string config =
            "auth:\n"
            "  login_attempts_per_address: 1000\n"
            "  realms:\n"
            "    - {name: local, kind: local}\n"
            "    - {name: teachers, kind: ldap, url: '" +
            slapd_->ldaps_url() + "', teacher_group: '" + kTeachersDn + "'" + common +
            "}\n"
            "    - {name: students, kind: ldap, url: '" +
            slapd_->ldap_url() + "', student_group: '" + kStudentsDn + "'" + common + "}\n";
        server_ = new ServerProcess({}, config);
    }
    static void TearDownTestSuite() {
        delete server_;
        delete slapd_;
        ::unsetenv("NETPRAXIS_AUTH__LDAP__TEACHERS__BIND_PASSWORD");
        ::unsetenv("NETPRAXIS_AUTH__LDAP__STUDENTS__BIND_PASSWORD");
    }
    void SetUp() override { slapd_->start(); }

    static HttpResult login(const std::string& user, const std::string& password) {
        HttpClient c(server_->port());
        return c.request("POST", "/api/v1/auth/login",
                         json::serialize(json::object{{"username", user}, {"password", password}}));
    }
    static json::object user_of(const HttpResult& r) { return json::parse(r.body).at("user").as_object(); }
    static std::string detail_of(const HttpResult& r) {
        return std::string(json::parse(r.body).at("detail").as_string());
    }

    static Slapd* slapd_;
    static ServerProcess* server_;
};
Slapd* LdapLogin::slapd_ = nullptr;
ServerProcess* LdapLogin::server_ = nullptr;

}  // namespace

TEST_F(LdapLogin, TeacherAndStudentGetTheirRoles) {
    auto t = login("tina", "tina-pw");
    ASSERT_EQ(t.status, 200) << t.body;
    EXPECT_EQ(user_of(t).at("role").as_string(), "teacher");
    EXPECT_EQ(user_of(t).at("realm").as_string(), "teachers");
    EXPECT_EQ(user_of(t).at("display_name").as_string(), "Tina Teacher");
    auto s = login("sam", "sam-pw");
    ASSERT_EQ(s.status, 200) << s.body;
    EXPECT_EQ(user_of(s).at("role").as_string(), "student");
    EXPECT_EQ(user_of(s).at("realm").as_string(), "students");
    // The token works: the session is a real one.
    HttpClient c(server_->port());
    auto me =
        c.request("GET", "/api/v1/me", "",
                  {{"Authorization", "Bearer " + std::string(json::parse(s.body).at("token").as_string())}});
    EXPECT_EQ(me.status, 200) << me.body;
    // The local realm still comes first.
    EXPECT_EQ(login("admin", server_->admin_password()).status, 200);
}

TEST_F(LdapLogin, WrongPasswordAndUnknownUserGetTheSame401) {
    auto wrong = login("tina", "not-her-password");
    auto unknown = login("ghost", "not-her-password");
    auto nogroup = login("nora", "nora-pw");
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    EXPECT_EQ(unknown.status, 401) << unknown.body;
    EXPECT_EQ(nogroup.status, 401) << nogroup.body;
    EXPECT_EQ(detail_of(wrong), detail_of(unknown));
    EXPECT_EQ(detail_of(wrong), detail_of(nogroup));
    EXPECT_EQ(wrong.body.find("ldap"), std::string::npos) << wrong.body;  // nothing about the directory
}

TEST_F(LdapLogin, InjectedUsernamesAreRefused) {
    for (const std::string attack : {"*", "ti*", "tina)(uid=*", "*)(objectClass=*", "tin\\61"}) {
        auto r = login(attack, "tina-pw");
        EXPECT_EQ(r.status, 401) << attack << ": " << r.body;
    }
    auto nul = login(std::string("tina\0", 5), "tina-pw");
    EXPECT_EQ(nul.status, 401) << nul.body;
    // The literal username made of metacharacters logs in (as a student).
    auto weird = login(kWeirdUid, "weird-pw");
    ASSERT_EQ(weird.status, 200) << weird.body;
    EXPECT_EQ(user_of(weird).at("username").as_string(), kWeirdUid);
}

TEST_F(LdapLogin, DirectoryDownIs503NamingTheRealm) {
    slapd_->stop();
    auto r = login("tina", "tina-pw");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(detail_of(r).find("realm '"), std::string::npos) << r.body;
    EXPECT_TRUE(detail_of(r).find("teachers") != std::string::npos ||
                detail_of(r).find("students") != std::string::npos)
        << r.body;
    EXPECT_EQ(r.body.find(kServicePassword), std::string::npos);
    // Local users are not locked out by a directory that is down.
    EXPECT_EQ(login("admin", server_->admin_password()).status, 200);
    slapd_->start();
    EXPECT_EQ(login("tina", "tina-pw").status, 200);  // back, with no restart of the server
}
