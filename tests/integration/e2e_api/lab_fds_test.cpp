// Issue 9, through `netpraxis serve` as root on a real local lab (FRR, VPCS, a Linux host):
// - the lab's processes hold none of the server's sockets, though the lab starts while the server listens and
//   has connections open (an SSE stream, keep-alive API connections);
// - an evaluation on a lab with a device that cannot be reached ends as an error naming it, not as a score,
//   and is not an attempt used;
// - a server killed with SIGKILL while the lab runs can listen on its port again at once.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "http_client.hpp"

using namespace np::testkit;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int sh(const std::string& cmd) {
    return std::system(cmd.c_str());
}

constexpr const char* kTopology = R"(name: fds
nodes:
  r1:
    kind: frr
    daemons: [ospfd]
    config: |
      frr defaults traditional
      interface eth1
       ip address 192.168.1.1/24
      interface eth2
       ip address 10.0.1.1/24
  h1: {kind: linux, exec: ["ip addr add 192.168.1.10/24 dev eth1"]}
  pc1: {kind: vpcs, config: "ip 10.0.1.10/24 10.0.1.1\n"}
links:
  - endpoints: ["h1:eth1", "r1:eth1"]
  - endpoints: ["pc1:eth0", "r1:eth2"]
)";

constexpr const char* kSpec = R"(id: fds
title: Three devices
version: 1
devices:
  h1: {platform: linux}
  pc1: {platform: vpcs}
checks:
  - id: h1-address
    on: h1
    run: ip -br addr
    expect: {contains: "192.168.1.10/24"}
    points: 1
  - id: pc1-address
    on: pc1
    run: show ip
    expect: {contains: "10.0.1.10/24"}
    points: 1
)";

using H = std::vector<std::pair<std::string, std::string>>;

struct Api {
    HttpClient c;
    explicit Api(std::uint16_t port) : c(port) {}
    H login(const std::string& user, const std::string& pw) {
        auto r = c.request("POST", "/api/v1/auth/login",
                           json::serialize(json::object{{"username", user}, {"password", pw}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    }
    json::value call(const std::string& method, const std::string& path, const H& h,
                     const std::string& body = "", int expect = 0) {
        auto r = c.request(method, path, body, h);
        if (expect) {
            EXPECT_EQ(r.status, expect) << method << " " << path << ": " << r.body;
        }
        return r.body.empty() ? json::value(nullptr) : json::parse(r.body);
    }
    json::object wait_job(const std::string& id, const H& h) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (std::chrono::steady_clock::now() < deadline) {
            auto j = call("GET", "/api/v1/jobs/" + id, h).as_object();
            auto st = j.at("state").as_string();
            if (st == "succeeded" || st == "failed" || st == "cancelled") return j;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ADD_FAILURE() << "job " << id << " did not finish";
        return {};
    }
    // Requests an evaluation, waits for its job, returns the evaluation.
    json::object evaluate(const std::string& assignment, const H& h) {
        auto r = c.request("POST", "/api/v1/assignments/" + assignment + "/evaluations", "", h);
        if (r.status != 202) {
            ADD_FAILURE() << "evaluation refused: " << r.status << " " << r.body;
            return {{"status", "refused"}, {"error", r.body}};
        }
        auto ev = json::parse(r.body);
        wait_job(std::string(ev.at("job").at("id").as_string()), h);
        return call("GET", "/api/v1/evaluations/" + std::string(ev.at("evaluation").at("id").as_string()), h,
                    "", 200)
            .as_object();
    }
};

// Socket inodes ("socket:[N]") a process holds.
std::set<std::string> sockets_of(pid_t pid) {
    std::set<std::string> out;
    std::error_code ec;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code link_ec;
        auto target = fs::read_symlink(fd.path(), link_ec).string();
        if (!link_ec && target.rfind("socket:[", 0) == 0) out.insert(target);
    }
    return out;
}

struct Proc {
    pid_t pid;
    std::string comm;
};

// Every process of the lab `name` (namespaces "<name>_<node>"): in one of its namespaces, in its state
// folder (VPCS, bridges) or naming it on its command line (FRR daemons).
std::vector<Proc> lab_processes(const std::string& name, const fs::path& state_dir) {
    std::set<ino_t> netns;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/var/run/netns", ec)) {
        struct stat st {};
        if (e.path().filename().string().rfind(name + "_", 0) == 0 && stat(e.path().c_str(), &st) == 0)
            netns.insert(st.st_ino);
    }
    std::vector<Proc> out;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        auto pid = e.path().filename().string();
        if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
        auto cmdline = slurp(e.path() / "cmdline");
        if (cmdline.empty()) continue;
        for (auto& c : cmdline)
            if (c == '\0') c = ' ';
        struct stat st {};
        std::error_code cwd_ec;
        auto cwd = fs::read_symlink(e.path() / "cwd", cwd_ec).string();
        if ((stat((e.path() / "ns/net").c_str(), &st) == 0 && netns.count(st.st_ino)) ||
            (!cwd_ec && cwd.rfind(state_dir.string(), 0) == 0) ||
            cmdline.find(name + "_") != std::string::npos) {
            auto comm = slurp(e.path() / "comm");
            if (!comm.empty() && comm.back() == '\n') comm.pop_back();
            out.push_back({static_cast<pid_t>(std::stoi(pid)), comm});
        }
    }
    return out;
}

// Takes down every lab under a server's state folder (the server may be dead), by the CLI.
struct LabsDown {
    fs::path state_dir;
    ~LabsDown() {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(state_dir, ec))
            if (e.is_directory())
                sh(std::string(NETPRAXIS_BINARY) + " --log-level error lab --state-dir " +
                   state_dir.string() + " down " + e.path().filename().string() + " >/dev/null 2>&1");
    }
};

}  // namespace

TEST(E2eLabFds, LabHoldsNoServerSocketUnreachableIsNoAttemptAndServeRestartsOnItsPort) {
    if (geteuid() != 0 || access("/usr/lib/frr/frrinit.sh", X_OK) != 0 || access("/usr/bin/vpcs", X_OK) != 0)
        GTEST_SKIP() << "needs root, frr and vpcs";
    ServerProcess server({}, "lab:\n  state_dir: {dir}/labs\n");
    LabsDown cleanup{fs::path(server.dir()) / "labs"};  // destroyed before the server removes its folder
    Api t(server.port());
    auto teacher = t.login("admin", server.admin_password());
    auto student_id =
        std::string(t.call("POST", "/api/v1/users", teacher,
                           R"({"username":"fds-student","role":"student","password":"student-pass-1"})", 201)
                        .at("id")
                        .as_string());
    auto ex =
        t.call("POST", "/api/v1/exercises", teacher,
               json::serialize(json::object{
                   {"slug", "fds"}, {"title", "Three devices"}, {"spec", kSpec}, {"topology", kTopology}}),
               201);
    auto ex_id = std::string(ex.at("id").as_string());
    t.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);
    auto as =
        t.call("POST", "/api/v1/assignments", teacher,
               json::serialize(json::object{
                   {"exercise_id", ex_id}, {"student_ids", json::array{student_id}}, {"max_attempts", 2}}),
               201);
    auto a_id = std::string(as.at("items").at(0).at("id").as_string());

    Api s(server.port());
    auto student = s.login("fds-student", "student-pass-1");
    // An event stream stays open while the lab starts: one more connection the lab must not get.
    HttpClient events(server.port());
    ASSERT_EQ(events.open_stream("/api/v1/events", student), 200);
    auto env_id = std::string(s.call("GET", "/api/v1/assignments/" + a_id, student, "", 200)
                                  .at("environment")
                                  .at("id")
                                  .as_string());
    auto start =
        s.call("POST", "/api/v1/environments/" + env_id + "/actions", student, R"({"action":"start"})", 202);
    auto job = s.wait_job(std::string(start.at("job").at("id").as_string()), student);
    ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);

    // The server's sockets now: the listener and at least the three connections above.
    auto server_sockets = sockets_of(server.pid());
    ASSERT_GE(server_sockets.size(), 4u);
    fs::path labs = fs::path(server.dir()) / "labs";
    std::string name;
    for (const auto& e : fs::directory_iterator(labs))
        if (e.is_directory()) name = e.path().filename().string();
    ASSERT_FALSE(name.empty());
    auto procs = lab_processes(name, labs);
    std::set<std::string> names;
    std::vector<pid_t> vpcs;  // VPCS may run as more than one process
    for (const auto& p : procs) {
        names.insert(p.comm);
        if (p.comm == "vpcs") vpcs.push_back(p.pid);
        for (const auto& sock : sockets_of(p.pid))
            EXPECT_EQ(server_sockets.count(sock), 0u)
                << p.comm << " (pid " << p.pid << ") holds the server's " << sock;
    }
    for (const char* expected : {"vpcs", "zebra", "staticd", "ospfd", "watchfrr", "netpraxis"})
        EXPECT_TRUE(names.count(expected))
            << "no " << expected << " among " << procs.size() << " lab processes";

    // A graded evaluation is an attempt.
    auto graded = s.evaluate(a_id, student);
    EXPECT_EQ(graded.at("status").as_string(), "done") << json::serialize(graded);
    EXPECT_EQ(graded.at("score").as_double(), 2.0) << json::serialize(graded);

    // pc1 goes away: the next evaluation is an error naming it and its console, not a score of 1/2.
    ASSERT_FALSE(vpcs.empty());
    for (pid_t p : vpcs) ASSERT_EQ(kill(p, SIGKILL), 0);
    auto down = s.evaluate(a_id, student);
    EXPECT_EQ(down.at("status").as_string(), "error") << json::serialize(down);
    auto error = std::string(down.at("error").as_string());
    EXPECT_NE(error.find("device pc1 unreachable: "), std::string::npos) << error;
    EXPECT_NE(error.find("127.0.0.1:"), std::string::npos) << error;
    EXPECT_EQ(error.find("h1"), std::string::npos) << "h1 was reachable: " << error;
    // It used no attempt: with max_attempts 2 and one graded, another evaluation is still accepted.
    auto again = s.evaluate(a_id, student);
    EXPECT_EQ(again.at("status").as_string(), "error") << json::serialize(again);

    // The server dies while the lab runs; a new one listens on the same port at once.
    auto port = server.port();
    ASSERT_EQ(server.stop(SIGKILL), 128 + SIGKILL);
    ASSERT_FALSE(lab_processes(name, labs).empty()) << "the lab should outlive the server";
    try {
        ServerProcess again_server({}, "", "127.0.0.1:" + std::to_string(port));
        EXPECT_EQ(again_server.port(), port);
        Api probe(again_server.port());
        EXPECT_EQ(probe.c.request("GET", "/healthz").status, 200);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "serve could not listen on " << port << " again: " << e.what();
    }
}
