// Issue 12 through the API, without a lab: courses, roster import (bad lines, duplicates, unknown columns
// and groups: a 400 naming each line, nothing imported), students assigned before their first login,
// assigning to a course as one job, and the grading rules an assignment takes from its spec or overrides
// (absurd limits refused naming the field; deadline, late submissions and cooldown enforced).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <regex>
#include <thread>

#include "api_session.hpp"

using namespace np::testkit;
namespace json = boost::json;

namespace {

using H = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kSpec = R"(id: one-pc
title: One PC
version: 1
variables:
  lan: {subnet: {within: 10.0.0.0/8, prefix: 24}}
devices:
  pc1: {platform: vpcs}
checks:
  - id: addr
    on: pc1
    run: show ip
    expect: {contains: "{{ lan.host(10) }}"}
    points: 1
  - id: secret
    on: pc1
    run: show ip
    expect: {contains: "10.99.99.99"}
    points: 1
    hidden: true
grading:
  attempts: 3
  cooldown: 1h
  deadline: 2020-01-01T00:00:00Z
  score: average
)";

class Course : public ::testing::Test, public ApiSession {
 protected:
    Course() : ApiSession(server_->port()) {}
    static void SetUpTestSuite() { server_ = new ServerProcess(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    HttpClient& c = http();
    H admin() { return login("admin", server_->admin_password()); }
    // The exercise (published), its id.
    std::string exercise(const H& t, const std::string& slug) {
        auto ex = call(
            "POST", "/api/v1/exercises", t,
            json::serialize(json::object{{"slug", slug},
                                         {"title", "One PC " + slug},
                                         {"spec", kSpec},
                                         {"instructions", "Your LAN: {{ lan.network }}/{{ lan.prefix }}"}}),
            201);
        auto id = std::string(ex.at("id").as_string());
        call("POST", "/api/v1/exercises/" + id + "/versions/1/publish", t, "", 200);
        return id;
    }
    // The path:message pairs of a 400's errors, joined.
    static std::string errors_of(const std::string& body) {
        std::string out;
        auto v = json::parse(body);
        if (auto* e = v.as_object().if_contains("errors"))
            for (auto& x : e->as_array())
                out += std::string(x.at("path").as_string()) + ": " +
                       std::string(x.at("message").as_string()) + "\n";
        return out;
    }
    static ServerProcess* server_;
};
ServerProcess* Course::server_ = nullptr;

TEST_F(Course, CoursesAreTeachersAndSlugsAreUnique) {
    auto t = admin();
    auto made = call("POST", "/api/v1/courses", t,
                     R"({"slug":"net-101","title":"Networks","groups":["a","b"]})", 201);
    EXPECT_EQ(made.at("groups").as_array().size(), 2u);
    call("POST", "/api/v1/courses", t, R"({"slug":"net-101"})", 409);
    auto bad = c.request("POST", "/api/v1/courses", R"({"slug":"no spaces"})", t);
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find("slug"), std::string::npos) << bad.body;
    auto got = call("GET", "/api/v1/courses/net-101", t, "", 200);
    EXPECT_EQ(got.at("title").as_string(), "Networks");
    call("PATCH", "/api/v1/courses/net-101", t, R"({"title":"Networks I"})", 200);
    EXPECT_EQ(call("GET", "/api/v1/courses/net-101", t, "", 200).at("title").as_string(), "Networks I");
    call("POST", "/api/v1/users", t,
         R"({"username":"course-st","role":"student","password":"student-pass-1"})", 201);
    auto st = login("course-st", "student-pass-1");
    EXPECT_EQ(c.request("GET", "/api/v1/courses", "", st).status, 403);
    EXPECT_EQ(c.request("POST", "/api/v1/courses", R"({"slug":"mine"})", st).status, 403);
}

TEST_F(Course, ARosterWithBadLinesIsRefusedWholeNamingEachLine) {
    auto t = admin();
    auto id =
        std::string(call("POST", "/api/v1/courses", t, R"({"slug":"roster-bad","groups":["g1","g2"]})", 201)
                        .at("id")
                        .as_string());
    // Unknown column: the header line is named.
    auto r = c.request("POST", "/api/v1/courses/" + id + "/roster",
                       json::serialize(json::object{{"csv", "username,shoe_size\nbad-a,42\n"}}), t);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(errors_of(r.body).find("line 1: unknown column 'shoe_size'"), std::string::npos) << r.body;
    // Good lines mixed with bad ones: every bad one named, none imported.
    std::string csv =
        "username,display_name,email,group\n"
        "rb-ok1,\"Doe, Jane\",jane@example.org,g1\n"  // line 2: fine (a quoted comma)
        "rb-ok2,Ok Two,,g2\n"                         // line 3: fine
        "rb-ok1,Again,,g1\n"                          // line 4: duplicate username
        "rb-grp,Group,,g9\n"                          // line 5: unknown group
        "rb mail,Space,x,g1\n"                        // line 6: bad username and bad email
        "rb-short,Short\n";                           // line 7: too few fields
    r = c.request("POST", "/api/v1/courses/" + id + "/roster", json::serialize(json::object{{"csv", csv}}),
                  t);
    ASSERT_EQ(r.status, 400) << r.body;
    auto errs = errors_of(r.body);
    EXPECT_NE(errs.find("line 4: username 'rb-ok1' is already on line 2"), std::string::npos) << errs;
    EXPECT_NE(errs.find("line 5: group 'g9' is not a group of this course"), std::string::npos) << errs;
    EXPECT_NE(errs.find("line 6: username 'rb mail'"), std::string::npos) << errs;
    EXPECT_NE(errs.find("line 6: email 'x' is not an address"), std::string::npos) << errs;
    EXPECT_NE(errs.find("line 7: has 2 fields"), std::string::npos) << errs;
    EXPECT_EQ(errs.find("line 2:"), std::string::npos) << errs;
    EXPECT_NE(r.body.find("nothing was imported"), std::string::npos);
    // Nothing stored: no member, no user created.
    EXPECT_TRUE(call("GET", "/api/v1/courses/" + id + "/roster", t, "", 200).at("items").as_array().empty());
    EXPECT_TRUE(call("GET", "/api/v1/users?q=rb-ok", t, "", 200).at("items").as_array().empty());
    // An unknown realm is named.
    r = c.request("POST", "/api/v1/courses/" + id + "/roster",
                  json::serialize(json::object{{"csv", "username\nx1\n"}, {"realm", "nowhere"}}), t);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(errors_of(r.body).find("realm: 'nowhere' is not a configured realm"), std::string::npos)
        << r.body;
}

TEST_F(Course, RosterStudentsAreAssignedBeforeTheirFirstLoginAndFindItThen) {
    auto t = admin();
    auto ex_id = exercise(t, "roster-first-login");
    auto course_id =
        std::string(call("POST", "/api/v1/courses", t, R"({"slug":"first-login","groups":["g1","g2"]})", 201)
                        .at("id")
                        .as_string());
    std::string csv =
        "Username , Display Name,Email,Group\r\nfl-ann,Ann,ann@example.org,g1\r\nfl-bob,Bob,,g2\r\n";
    auto imported = call("POST", "/api/v1/courses/" + course_id + "/roster", t,
                         json::serialize(json::object{{"csv", csv}}), 200);
    EXPECT_EQ(imported.at("added").as_int64(), 2);
    EXPECT_EQ(imported.at("created").as_int64(), 2);
    // Importing again adds nothing and says who was there.
    imported = call("POST", "/api/v1/courses/" + course_id + "/roster", t,
                    json::serialize(json::object{{"csv", csv}}), 200);
    EXPECT_EQ(imported.at("added").as_int64(), 0);
    EXPECT_EQ(imported.at("already_members").as_array().size(), 2u);
    auto roster =
        call("GET", "/api/v1/courses/" + course_id + "/roster?group=g1", t, "", 200).at("items").as_array();
    ASSERT_EQ(roster.size(), 1u);
    EXPECT_EQ(roster[0].at("username").as_string(), "fl-ann");
    EXPECT_EQ(roster[0].at("email").as_string(), "ann@example.org");
    auto ann_id = std::string(roster[0].at("id").as_string());

    // Assign to the course as one job (absurd rules are refused before any job).
    auto bad = c.request("POST", "/api/v1/courses/" + course_id + "/assignments",
                         json::serialize(json::object{{"exercise_id", ex_id}, {"max_attempts", 5000}}), t);
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(errors_of(bad.body).find("max_attempts"), std::string::npos) << bad.body;
    auto sub = call(
        "POST", "/api/v1/courses/" + course_id + "/assignments", t,
        json::serialize(json::object{{"exercise_id", ex_id}, {"deadline", "2030-01-01T00:00:00Z"}}), 202);
    auto job = wait_job(std::string(sub.at("job").at("id").as_string()), t);
    ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
    EXPECT_EQ(job.at("progress").at("done").as_int64(), 2);
    EXPECT_EQ(job.at("progress").at("total").as_int64(), 2);
    EXPECT_EQ(job.at("result").at("assigned").as_int64(), 2);
    // Run again: everyone is skipped, nobody assigned twice.
    sub = call("POST", "/api/v1/courses/" + course_id + "/assignments", t,
               json::serialize(json::object{{"exercise_id", ex_id}}), 202);
    job = wait_job(std::string(sub.at("job").at("id").as_string()), t);
    EXPECT_EQ(job.at("result").at("skipped").as_int64(), 2) << json::serialize(job);
    auto listed = call("GET", "/api/v1/assignments?exercise_id=" + ex_id, t, "", 200).at("items").as_array();
    ASSERT_EQ(listed.size(), 2u);
    EXPECT_EQ(listed[0].at("course_id").as_string(), course_id);

    // Ann's first login (local realm: a teacher gives her a password) is the roster's record, with the
    // assignment made before.
    call("PATCH", "/api/v1/users/" + ann_id, t, R"({"password":"ann-pass-123"})", 200);
    auto ann = login("fl-ann", "ann-pass-123");
    auto me = call("GET", "/api/v1/me", ann, "", 200);
    EXPECT_EQ(me.at("id").as_string(), ann_id);
    auto mine = call("GET", "/api/v1/assignments", ann, "", 200).at("items").as_array();
    ASSERT_EQ(mine.size(), 1u);
    EXPECT_EQ(mine[0].at("exercise_id").as_string(), ex_id);
    // Her view: the title, instructions with her own values (no template left), the devices, and
    // nothing of the spec's internals (hidden check's pattern).
    auto view = call("GET", "/api/v1/assignments/" + std::string(mine[0].at("id").as_string()) + "/view", ann,
                     "", 200);
    EXPECT_EQ(view.at("title").as_string(), "One PC roster-first-login");
    auto instructions = std::string(view.at("instructions").as_string());
    EXPECT_EQ(instructions.find("{{"), std::string::npos) << instructions;
    EXPECT_NE(instructions.find("/24"), std::string::npos) << instructions;
    EXPECT_EQ(view.at("devices").as_array().size(), 1u);
    EXPECT_EQ(view.at("attempts_left").as_int64(), 3);
    EXPECT_EQ(view.at("checks").at("hidden").as_int64(), 1);
    auto text = json::serialize(view);
    EXPECT_EQ(text.find("10.99.99.99"), std::string::npos) << text;
    EXPECT_EQ(text.find("show ip"), std::string::npos) << text;
    // Removing Ann from the roster keeps her account.
    call("DELETE", "/api/v1/courses/" + course_id + "/roster/" + ann_id, t, "", 204);
    EXPECT_EQ(call("GET", "/api/v1/courses/" + course_id, t, "", 200).at("members").as_int64(), 1);
    call("GET", "/api/v1/users/" + ann_id, t, "", 200);
}

TEST_F(Course, RulesComeFromTheSpecAndAbsurdOverridesAreRefusedNamingTheField) {
    auto t = admin();
    auto ex_id = exercise(t, "rules-spec");
    auto st = std::string(call("POST", "/api/v1/users", t,
                               R"({"username":"rules-st","role":"student","password":"student-pass-1"})", 201)
                              .at("id")
                              .as_string());
    for (auto [field, value] :
         std::vector<std::pair<std::string, json::value>>{{"max_attempts", -1},
                                                          {"max_attempts", 1000000},
                                                          {"cooldown_seconds", 99999999},
                                                          {"late_penalty", 150},
                                                          {"score_policy", "median"},
                                                          {"late", "maybe"},
                                                          {"deadline", "1970-01-02T00:00:00Z"},
                                                          {"deadline", "next friday"}}) {
        auto r = c.request("POST", "/api/v1/assignments",
                           json::serialize(json::object{
                               {"exercise_id", ex_id}, {"student_ids", json::array{st}}, {field, value}}),
                           t);
        EXPECT_EQ(r.status, 400) << field << "=" << json::serialize(value) << ": " << r.body;
        EXPECT_NE(errors_of(r.body).find(field), std::string::npos) << r.body;
    }
    // A penalty without accepting late submissions is a mistake too.
    auto r = c.request("POST", "/api/v1/assignments",
                       json::serialize(json::object{
                           {"exercise_id", ex_id}, {"student_ids", json::array{st}}, {"late_penalty", 10}}),
                       t);
    EXPECT_EQ(r.status, 400) << r.body;
    // Nothing was stored by any of them.
    EXPECT_TRUE(
        call("GET", "/api/v1/assignments?student_id=" + st, t, "", 200).at("items").as_array().empty());

    // No override: the spec's grading section (3 attempts, 1 h cooldown, its deadline, average).
    auto made =
        call("POST", "/api/v1/assignments", t,
             json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{st}}}), 201);
    auto a = made.at("items").at(0).as_object();
    EXPECT_EQ(a.at("max_attempts").as_int64(), 3);
    EXPECT_EQ(a.at("cooldown_seconds").as_int64(), 3600);
    EXPECT_EQ(a.at("deadline").as_string(), "2020-01-01T00:00:00Z");
    EXPECT_EQ(a.at("score_policy").as_string(), "average");
    EXPECT_EQ(a.at("late").as_string(), "refuse");
    auto a_id = std::string(a.at("id").as_string());

    // The deadline has passed and late submissions are refused.
    auto student = login("rules-st", "student-pass-1");
    auto late = c.request("POST", "/api/v1/assignments/" + a_id + "/evaluations", "", student);
    EXPECT_EQ(late.status, 409) << late.body;
    EXPECT_NE(late.body.find("deadline"), std::string::npos) << late.body;
    // The teacher accepts them with a 20 % penalty: the evaluation is accepted, marked late.
    auto patched =
        call("PATCH", "/api/v1/assignments/" + a_id, t, R"({"late":"accept","late_penalty":20})", 200);
    EXPECT_EQ(patched.at("late_penalty").as_int64(), 20);
    EXPECT_EQ(patched.at("max_attempts").as_int64(), 3);  // untouched rules stay
    auto ev = call("POST", "/api/v1/assignments/" + a_id + "/evaluations", student, "", 202);
    EXPECT_TRUE(ev.at("evaluation").at("late").as_bool());
    // The cooldown (1 h, from the spec) now holds the next request back, with the wait.
    auto again = c.request("POST", "/api/v1/assignments/" + a_id + "/evaluations", "", student);
    EXPECT_EQ(again.status, 429) << again.body;
    EXPECT_NE(again.body.find("before the next evaluation"), std::string::npos);
    // A PATCH with an absurd value changes nothing.
    EXPECT_EQ(c.request("PATCH", "/api/v1/assignments/" + a_id, R"({"cooldown_seconds":-5})", t).status, 400);
    EXPECT_EQ(call("GET", "/api/v1/assignments/" + a_id, t, "", 200).at("cooldown_seconds").as_int64(), 3600);
    // A spec whose own grading section is absurd cannot be assigned: the spec's field is named.
    std::string absurd = kSpec;
    absurd.replace(absurd.find("attempts: 3"), 11, "attempts: 99999");
    auto ex2 =
        call("POST", "/api/v1/exercises", t,
             json::serialize(json::object{{"slug", "rules-absurd"}, {"title", "x"}, {"spec", absurd}}), 201);
    auto ex2_id = std::string(ex2.at("id").as_string());
    call("POST", "/api/v1/exercises/" + ex2_id + "/versions/1/publish", t, "", 200);
    r = c.request("POST", "/api/v1/assignments",
                  json::serialize(json::object{{"exercise_id", ex2_id}, {"student_ids", json::array{st}}}),
                  t);
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(errors_of(r.body).find("spec grading.attempts"), std::string::npos) << r.body;
}

// The binding through an external realm: a roster line of realm `students` (a Proxmox realm, here the
// simulator, whose user bob@students has the password bob-pw) is assigned before bob ever logs in; his first
// login through that realm is that record, with the assignment.
TEST(CourseRealm, AProxmoxStudentsFirstLoginFindsTheRosterRecord) {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(NETPRAXIS_BINARY, NETPRAXIS_BINARY, "--log-level", "warn", "pve-sim", "--port", "0",
              "--profile", "fast", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    struct Reap {  // the simulator goes by its PID whatever happens below
        pid_t pid;
        ~Reap() {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    } reap{pid};
    std::string line;
    char ch;
    while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(out[0]);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex("(http://127\\.0\\.0\\.1:\\d+)"))) << line;
    ServerProcess server({},
                         "auth:\n  realms:\n    - {name: local, kind: local}\n"
                         "    - {name: students, kind: proxmox, role: student, pve_realm: students, url: " +
                             m[1].str() + "}\n");
    HttpClient c(server.port());
    auto login = [&](const std::string& user, const std::string& pw) {
        auto r = c.request("POST", "/api/v1/auth/login",
                           json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return H{{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    };
    auto t = login("admin", server.admin_password());
    auto course = c.request("POST", "/api/v1/courses", R"({"slug":"pve-course"})", t);
    ASSERT_EQ(course.status, 201) << course.body;
    auto course_id = std::string(json::parse(course.body).at("id").as_string());
    auto imported = c.request("POST", "/api/v1/courses/" + course_id + "/roster",
                              R"({"csv":"username,display_name\nbob,Bob B.\n","realm":"students"})", t);
    ASSERT_EQ(imported.status, 200) << imported.body;
    auto roster = json::parse(c.request("GET", "/api/v1/courses/" + course_id + "/roster", "", t).body);
    auto bob_id = std::string(roster.at("items").at(0).at("id").as_string());
    EXPECT_EQ(roster.at("items").at(0).at("realm").as_string(), "students");
    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "pve-one"}, {"title", "One"}, {"spec", kSpec}}), t);
    ASSERT_EQ(ex.status, 201) << ex.body;
    auto ex_id = std::string(json::parse(ex.body).at("id").as_string());
    ASSERT_EQ(c.request("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", "", t).status, 200);
    auto as = c.request(
        "POST", "/api/v1/assignments",
        json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{bob_id}}}), t);
    ASSERT_EQ(as.status, 201) << as.body;

    auto bob = login("bob", "bob-pw");
    auto me = json::parse(c.request("GET", "/api/v1/me", "", bob).body);
    EXPECT_EQ(me.at("id").as_string(), bob_id);
    EXPECT_EQ(me.at("realm").as_string(), "students");
    auto mine = json::parse(c.request("GET", "/api/v1/assignments", "", bob).body);
    ASSERT_EQ(mine.at("items").as_array().size(), 1u);
    EXPECT_EQ(mine.at("items").at(0).at("exercise_id").as_string(), ex_id);
    // Still one bob of that realm.
    auto users = json::parse(c.request("GET", "/api/v1/users?realm=students", "", t).body);
    EXPECT_EQ(users.at("items").as_array().size(), 1u);
}

}  // namespace
