// Issue 12: a course's roster filled from an LDAP group, through POST /api/v1/courses/{id}/roster
// {"ldap_group", "realm"} of a spawned `netpraxis serve` whose realm `students` is an ldap realm on a real
// slapd (slapd_server.hpp): the members are created bound to realm + username, assigned before they ever
// log in, and their first LDAP login is that record; an unknown group, a realm that is not ldap, a group
// made of filter metacharacters and a directory that is down each get their own clear error.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>

#include "http_client.hpp"
#include "slapd_server.hpp"

using namespace np::testkit;
using namespace np::auth::test;
namespace json = boost::json;

namespace {

using H = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSpec = R"(id: one-pc
title: One PC
version: 1
devices:
  pc1: {platform: vpcs}
checks:
  - id: up
    on: pc1
    run: show ip
    expect: {contains: "10.0.0.1"}
    points: 1
)";

class LdapRoster : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        slapd_ = new Slapd();
        ::setenv("NETPRAXIS_AUTH__LDAP__STUDENTS__BIND_PASSWORD", kServicePassword, 1);
        const std::string config =
            std::string("auth:\n  login_attempts_per_address: 1000\n  realms:\n") +
            "    - {name: local, kind: local}\n    - {name: students, kind: ldap, url: '" +
            slapd_->ldap_url() + "', student_group: '" + kStudentsDn + "', ca_file: '" + slapd_->ca_file() +
            "', bind_dn: '" + kServiceDn + "', base_dn: '" + kPeopleDn +
            "', user_filter: '(&(objectClass=inetOrgPerson)(uid={username}))'}\n";
        server_ = new ServerProcess({}, config);
    }
    static void TearDownTestSuite() {
        delete server_;
        delete slapd_;
        ::unsetenv("NETPRAXIS_AUTH__LDAP__STUDENTS__BIND_PASSWORD");
    }
    void SetUp() override {
        slapd_->start();
        teacher_ = login("admin", server_->admin_password());
    }

    H login(const std::string& user, const std::string& pw) {
        auto r = c_.request("POST", "/api/v1/auth/login",
                            json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << user << ": " << r.body;
        if (r.status != 200) return {};
        return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    }
    std::string course(const std::string& slug) {
        auto r =
            c_.request("POST", "/api/v1/courses", json::serialize(json::object{{"slug", slug}}), teacher_);
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(json::parse(r.body).at("id").as_string());
    }
    HttpResult import(const std::string& course_id, const std::string& group, const std::string& realm) {
        return c_.request("POST", "/api/v1/courses/" + course_id + "/roster",
                          json::serialize(json::object{{"ldap_group", group}, {"realm", realm}}), teacher_);
    }
    json::array roster(const std::string& course_id) {
        auto r = c_.request("GET", "/api/v1/courses/" + course_id + "/roster", "", teacher_);
        EXPECT_EQ(r.status, 200) << r.body;
        return json::parse(r.body).at("items").as_array();
    }

    static Slapd* slapd_;
    static ServerProcess* server_;
    HttpClient c_{server_->port()};
    H teacher_;
};
Slapd* LdapRoster::slapd_ = nullptr;
ServerProcess* LdapRoster::server_ = nullptr;

TEST_F(LdapRoster, AGroupsMembersAreAssignedBeforeTheirFirstLogin) {
    auto id = course("ldap-class");
    auto r = import(id, kStudentsDn, "students");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).at("added").as_int64(), 4) << r.body;  // sam, sally, tom, Weird
    std::string sam_id;
    for (const auto& m : roster(id)) {
        EXPECT_EQ(m.at("realm").as_string(), "students");
        if (m.at("username").as_string() == "sam") {
            sam_id = std::string(m.at("id").as_string());
            EXPECT_EQ(m.at("email").as_string(), "sam@np.test") << json::serialize(m);
        }
    }
    ASSERT_FALSE(sam_id.empty());
    // Importing again adds nobody.
    auto again = import(id, kStudentsDn, "students");
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(json::parse(again.body).at("added").as_int64(), 0);

    auto ex = c_.request(
        "POST", "/api/v1/exercises",
        json::serialize(json::object{{"slug", "ldap-one"}, {"title", "One"}, {"spec", kSpec}}), teacher_);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = std::string(json::parse(ex.body).at("id").as_string());
    ASSERT_EQ(c_.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", teacher_).status,
              200);
    auto as = c_.request(
        "POST", "/api/v1/assignments",
        json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{sam_id}}}),
        teacher_);
    ASSERT_EQ(as.status, 201) << as.body;

    auto sam = login("sam", "sam-pw");
    auto me = json::parse(c_.request("GET", "/api/v1/me", "", sam).body);
    EXPECT_EQ(me.at("id").as_string(), sam_id);
    EXPECT_EQ(me.at("realm").as_string(), "students");
    auto mine = json::parse(c_.request("GET", "/api/v1/assignments", "", sam).body);
    ASSERT_EQ(mine.at("items").as_array().size(), 1u);
    EXPECT_EQ(mine.at("items").at(0).at("exercise_id").as_string(), ex_id);
    // A student cannot import.
    auto denied =
        c_.request("POST", "/api/v1/courses/" + id + "/roster",
                   json::serialize(json::object{{"ldap_group", kStudentsDn}, {"realm", "students"}}), sam);
    EXPECT_EQ(denied.status, 403) << denied.body;
}

TEST_F(LdapRoster, UnknownGroupAndWrongRealmAreRefusedNamingThem) {
    auto id = course("ldap-errors");
    const std::string ghost = "cn=ghosts,ou=groups,dc=np,dc=test";
    auto unknown = import(id, ghost, "students");
    EXPECT_EQ(unknown.status, 404) << unknown.body;
    EXPECT_NE(unknown.body.find("cn=ghosts"), std::string::npos) << unknown.body;
    auto local = import(id, kStudentsDn, "local");
    EXPECT_EQ(local.status, 400) << local.body;
    EXPECT_NE(local.body.find("\"realm\""), std::string::npos) << local.body;
    EXPECT_NE(local.body.find("ldap"), std::string::npos) << local.body;
    auto both = c_.request("POST", "/api/v1/courses/" + id + "/roster",
                           json::serialize(json::object{
                               {"ldap_group", kStudentsDn}, {"csv", "username\nx\n"}, {"realm", "students"}}),
                           teacher_);
    EXPECT_EQ(both.status, 400) << both.body;
    EXPECT_TRUE(roster(id).empty());
}

TEST_F(LdapRoster, MetacharactersCannotWidenTheGroup) {
    auto id = course("ldap-inject");
    for (const std::string attack :
         {"*", "cn=*,ou=groups,dc=np,dc=test", "cn=stud*,ou=groups,dc=np,dc=test",
          "cn=students)(cn=*,ou=groups,dc=np,dc=test", "cn=x,ou=groups,dc=np,dc=test)(|(cn=*", "students"}) {
        auto r = import(id, attack, "students");
        EXPECT_TRUE(r.status == 400 || r.status == 404) << attack << ": " << r.status << " " << r.body;
    }
    EXPECT_TRUE(roster(id).empty());
}

TEST_F(LdapRoster, DirectoryDownIs503NamingTheRealm) {
    auto id = course("ldap-down");
    slapd_->stop();
    auto r = import(id, kStudentsDn, "students");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_NE(r.body.find("realm 'students'"), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find(kServicePassword), std::string::npos);
    EXPECT_TRUE(roster(id).empty());
    slapd_->start();
    EXPECT_EQ(import(id, kStudentsDn, "students").status, 200);
}

}  // namespace
