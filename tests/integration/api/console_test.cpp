// The browser console bridge through `netpraxis serve`, as root on a real local lab with a real VPCS: a
// student types `ip 10.0.0.1/24` and `show ip` into the WebSocket and reads the device's answer, as clean
// text (no telnet negotiation); another student is refused without an upgrade; a teacher's watch mode cannot
// write; the per-user cap answers 429; closing the consoles leaves the device running.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "http_client.hpp"
#include "ws_client.hpp"

using namespace np::testkit;
namespace json = boost::json;
using H = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr const char* kTopology = R"(name: console
nodes:
  pc1: {kind: vpcs}
  pc2: {kind: vpcs}
links:
  - endpoints: ["pc1:eth0", "pc2:eth0"]
)";

constexpr const char* kSpec = R"(id: console
title: Console
version: 1
devices:
  pc1: {platform: vpcs}
checks:
  - id: pc1-address
    on: pc1
    run: show ip
    expect: {contains: "10.0.0.1/24"}
    points: 1
)";

struct Client {
    HttpClient c;
    explicit Client(std::uint16_t port) : c(port) {}
    H login(const std::string& user, const std::string& pw) {
        auto r = c.request("POST", "/api/v1/auth/login",
                           json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    }
    json::value call(const std::string& method, const std::string& path, const H& h, const std::string& body,
                     int expect) {
        auto r = c.request(method, path, body, h);
        EXPECT_EQ(r.status, expect) << method << " " << path << ": " << r.body;
        return r.body.empty() ? json::value(nullptr) : json::parse(r.body);
    }
    std::string wait_job(const std::string& id, const H& h) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (std::chrono::steady_clock::now() < deadline) {
            auto j = call("GET", "/api/v1/jobs/" + id, h, "", 200);
            std::string st(j.at("state").as_string());
            if (st == "succeeded" || st == "failed" || st == "cancelled") return st;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return "timeout";
    }
};

// Reads binary messages until their text contains `want` (bounded by the client's socket timeout).
std::string read_until(WsClient& ws, const std::string& want, std::string& all) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (all.find(want) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        auto [data, binary] = ws.receive(ec);
        if (ec) break;
        EXPECT_TRUE(binary);
        all += data;
    }
    return all;
}

}  // namespace

TEST(Console, StudentTypesIntoVpcsOthersAreRefusedWatchIsReadOnly) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    ServerProcess server({}, "lab:\n  state_dir: {dir}/labs\nconsoles:\n  max_per_user: 2\n");
    Client t(server.port());
    auto teacher = t.login("admin", server.admin_password());
    std::vector<std::string> students;
    for (const char* name : {"con-a", "con-b"})
        students.emplace_back(
            t.call("POST", "/api/v1/users", teacher,
                   json::serialize(
                       json::object{{"username", name}, {"role", "student"}, {"password", "pw-pw-pw-1"}}),
                   201)
                .at("id")
                .as_string());
    auto ex =
        t.call("POST", "/api/v1/exercises", teacher,
               json::serialize(json::object{
                   {"slug", "console"}, {"title", "Console"}, {"spec", kSpec}, {"topology", kTopology}}),
               201);
    auto ex_id = std::string(ex.at("id").as_string());
    t.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);
    auto as = t.call("POST", "/api/v1/assignments", teacher,
                     json::serialize(json::object{{"exercise_id", ex_id},
                                                  {"student_ids", json::array{students[0], students[1]}}}),
                     201);
    std::string a_id;
    for (auto& a : as.at("items").as_array())
        if (a.at("student_id").as_string() == students[0]) a_id = std::string(a.at("id").as_string());
    auto a = t.login("con-a", "pw-pw-pw-1");
    auto b = t.login("con-b", "pw-pw-pw-1");
    auto env_id = std::string(
        t.call("GET", "/api/v1/assignments/" + a_id, a, "", 200).at("environment").at("id").as_string());
    const std::string path = "/api/v1/environments/" + env_id + "/nodes/pc1/console";

    // Before the lab runs: a conflict, not an upgrade.
    {
        WsClient early(server.port(), path, a);
        EXPECT_FALSE(early.open());
        EXPECT_EQ(early.status(), 409);
    }
    auto start =
        t.call("POST", "/api/v1/environments/" + env_id + "/actions", a, R"({"action":"start"})", 202);
    ASSERT_EQ(t.wait_job(std::string(start.at("job").at("id").as_string()), a), "succeeded");

    {
        WsClient ws(server.port(), path, a);
        ASSERT_TRUE(ws.open()) << ws.status() << " " << ws.handshake_error.message();
        std::string all;
        read_until(ws, "pc1> ", all);  // the server wakes the console: the prompt comes without typing
        ASSERT_NE(all.find("pc1> "), std::string::npos) << all;
        ASSERT_TRUE(ws.send("ip 10.0.0.1/24\r", true));
        read_until(ws, "10.0.0.1", all);
        all.clear();
        ASSERT_TRUE(ws.send(R"({"type":"resize","cols":120,"rows":40})"));  // a control: nothing to see
        ASSERT_TRUE(ws.send("show ip\r", true));
        read_until(ws, "IP/MASK", all);
        read_until(ws, "pc1> ", all);
        EXPECT_NE(all.find("IP/MASK     : 10.0.0.1/24"), std::string::npos) << all;
        EXPECT_EQ(all.find('\xff'), std::string::npos) << "telnet negotiation reached the browser";

        // The cap: two consoles open at once for this student, the third is refused.
        WsClient second(server.port(), "/api/v1/environments/" + env_id + "/nodes/pc2/console", a);
        EXPECT_TRUE(second.open()) << second.status();
        WsClient third(server.port(), path, a);
        EXPECT_FALSE(third.open());
        EXPECT_EQ(third.status(), 429);
    }

    // Another student: the environment does not exist for them (no upgrade), in any mode.
    for (const char* q : {"", "?mode=watch"}) {
        WsClient other(server.port(), path + q, b);
        EXPECT_FALSE(other.open());
        EXPECT_EQ(other.status(), 404) << q << server.output();
    }
    // An unknown node, a bad mode.
    {
        WsClient none(server.port(), "/api/v1/environments/" + env_id + "/nodes/pc9/console", teacher);
        EXPECT_EQ(none.status(), 404);
        WsClient bad(server.port(), path + "?mode=takeover", teacher);
        EXPECT_EQ(bad.status(), 400);
    }

    // The teacher watches: what they type never reaches the device.
    {
        WsClient watch(server.port(), path + "?mode=watch", teacher);
        ASSERT_TRUE(watch.open()) << watch.status();
        ASSERT_TRUE(watch.send("ip 10.0.0.99/24\r", true));
        ASSERT_TRUE(watch.send("\r", true));
    }
    // Closing every console left the device running, with the student's address and not the watcher's.
    WsClient again(server.port(), path, a);
    ASSERT_TRUE(again.open()) << again.status();
    std::string all;
    read_until(again, "pc1> ", all);
    all.clear();
    ASSERT_TRUE(again.send("show ip\r", true));
    read_until(again, "IP/MASK", all);
    read_until(again, "pc1> ", all);
    EXPECT_NE(all.find("10.0.0.1/24"), std::string::npos) << all;
    EXPECT_EQ(all.find("10.0.0.99"), std::string::npos) << all;
    auto env = t.call("GET", "/api/v1/environments/" + env_id, teacher, "", 200);
    EXPECT_EQ(env.at("observed_state").as_string(), "running");

    auto destroy = t.call("POST", "/api/v1/environments/" + env_id + "/actions", teacher,
                          R"({"action":"destroy"})", 202);
    EXPECT_EQ(t.wait_job(std::string(destroy.at("job").at("id").as_string()), teacher), "succeeded");
    if (HasFailure()) ADD_FAILURE() << server.output();
}

// One device connection per node, shared (VPCS serves one telnet client): the student's console and a
// teacher's watch are open at once and both see what the device prints; grading while they are open pauses
// them (a notice), gets the exact score from the device, and the consoles work again after, on the same
// device (the address typed before grading is still there: nothing was restarted).
TEST(Console, StudentAndWatcherShareTheDeviceAndGradingPausesThem) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    ServerProcess server({}, "lab:\n  state_dir: {dir}/labs\n");
    Client t(server.port());
    auto teacher = t.login("admin", server.admin_password());
    auto student_id =
        std::string(t.call("POST", "/api/v1/users", teacher,
                           json::serialize(json::object{
                               {"username", "hub-a"}, {"role", "student"}, {"password", "pw-pw-pw-1"}}),
                           201)
                        .at("id")
                        .as_string());
    auto ex =
        t.call("POST", "/api/v1/exercises", teacher,
               json::serialize(json::object{
                   {"slug", "console"}, {"title", "Console"}, {"spec", kSpec}, {"topology", kTopology}}),
               201);
    auto ex_id = std::string(ex.at("id").as_string());
    t.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);
    auto as = t.call(
        "POST", "/api/v1/assignments", teacher,
        json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", json::array{student_id}}}), 201);
    auto a_id = std::string(as.at("items").as_array().at(0).at("id").as_string());
    auto a = t.login("hub-a", "pw-pw-pw-1");
    auto env_id = std::string(
        t.call("GET", "/api/v1/assignments/" + a_id, a, "", 200).at("environment").at("id").as_string());
    auto start =
        t.call("POST", "/api/v1/environments/" + env_id + "/actions", a, R"({"action":"start"})", 202);
    ASSERT_EQ(t.wait_job(std::string(start.at("job").at("id").as_string()), a), "succeeded");
    const std::string path = "/api/v1/environments/" + env_id + "/nodes/pc1/console";

    WsClient mine(server.port(), path, a);
    ASSERT_TRUE(mine.open()) << mine.status() << " " << mine.response.body();
    std::string seen, watched;
    read_until(mine, "pc1> ", seen);
    ASSERT_NE(seen.find("pc1> "), std::string::npos) << seen;
    // The watch opens while the student's console is open (it used to wait for it to close) and starts
    // with the screen so far.
    WsClient watch(server.port(), path + "?mode=watch", teacher);
    ASSERT_TRUE(watch.open()) << watch.status() << " " << watch.response.body();
    read_until(watch, "pc1> ", watched);
    ASSERT_NE(watched.find("pc1> "), std::string::npos) << watched;
    watched.clear();
    seen.clear();
    ASSERT_TRUE(mine.send("ip 10.0.0.1/24\r", true));
    read_until(mine, "255.255.255.0", seen);
    read_until(watch, "255.255.255.0", watched);
    EXPECT_NE(seen.find("ip 10.0.0.1/24"), std::string::npos) << seen;
    EXPECT_NE(watched.find("ip 10.0.0.1/24"), std::string::npos)
        << "the watcher sees the student's typing: " << watched;
    EXPECT_NE(watched.find("255.255.255.0"), std::string::npos) << watched;

    // Grading with both consoles open: the exact score, from the device itself.
    auto ev = t.call("POST", "/api/v1/assignments/" + a_id + "/evaluations", a, "", 202);
    // What the student types once the pause is announced is kept and reaches the device after grading.
    seen.clear();
    read_until(mine, "grading in progress", seen);
    ASSERT_NE(seen.find("what you type is sent then"), std::string::npos) << seen;
    ASSERT_TRUE(mine.send("show ip\r", true));
    EXPECT_EQ(t.wait_job(std::string(ev.at("job").at("id").as_string()), a), "succeeded");
    auto graded = t.call(
        "GET", "/api/v1/evaluations/" + std::string(ev.at("evaluation").at("id").as_string()), a, "", 200);
    EXPECT_EQ(graded.at("status").as_string(), "done") << json::serialize(graded);
    EXPECT_EQ(graded.at("score").to_number<double>(), 1.0) << json::serialize(graded);
    // The finished grading is in the audit log: the student's, its score, the environment graded.
    auto logged = t.call("GET",
                         "/api/v1/audit?action=evaluation.finish&object_id=" +
                             std::string(ev.at("evaluation").at("id").as_string()),
                         teacher, "", 200)
                      .at("items")
                      .as_array();
    ASSERT_EQ(logged.size(), 1u);
    EXPECT_EQ(logged[0].at("outcome").as_string(), "ok");
    EXPECT_EQ(logged[0].at("actor").as_string(), "hub-a");
    EXPECT_EQ(logged[0].at("detail").at("score").to_number<double>(), 1.0);
    EXPECT_EQ(logged[0].at("detail").at("max_score").to_number<double>(), 1.0);
    EXPECT_EQ(logged[0].at("detail").at("environment_id").as_string(), env_id);
    // Both viewers were told, and got the device back (with its prompt); the input kept during the pause
    // ran then (never refused).
    watched.clear();
    read_until(mine, "grading done", seen);
    read_until(watch, "grading done", watched);
    EXPECT_NE(seen.find("grading done"), std::string::npos) << seen;
    EXPECT_NE(watched.find("grading done"), std::string::npos) << watched;
    auto after = seen.substr(seen.find("grading done"));
    read_until(mine, "IP/MASK", after);
    read_until(mine, "pc1> ", after);
    EXPECT_NE(after.find("IP/MASK     : 10.0.0.1/24"), std::string::npos) << after;
    EXPECT_EQ(seen.find("input refused"), std::string::npos) << seen;

    // The console works after grading, on the same device: the address typed before is still set.
    seen.clear();
    watched.clear();
    ASSERT_TRUE(mine.send("show ip\r", true));
    read_until(mine, "IP/MASK", seen);
    read_until(mine, "pc1> ", seen);
    read_until(watch, "IP/MASK", watched);
    EXPECT_NE(seen.find("IP/MASK     : 10.0.0.1/24"), std::string::npos) << seen;
    EXPECT_NE(watched.find("IP/MASK"), std::string::npos) << watched;
    auto env = t.call("GET", "/api/v1/environments/" + env_id, teacher, "", 200);
    EXPECT_EQ(env.at("observed_state").as_string(), "running");

    auto destroy = t.call("POST", "/api/v1/environments/" + env_id + "/actions", teacher,
                          R"({"action":"destroy"})", 202);
    EXPECT_EQ(t.wait_job(std::string(destroy.at("job").at("id").as_string()), teacher), "succeeded");
    if (HasFailure()) ADD_FAILURE() << server.output();
}
