// The end-of-exam rush, measured through the API as a class uses it (issue 14). For each N: a teacher creates
// N students and assigns them the 4-node static-routing lab (examples/labs/static-two-lans.yaml: two FRR
// routers, two Linux hosts); every student presses "start" at once; then one student grades alone three times
// (the single-evaluation baseline: its slowest time); then every student presses "grade" at once (3 checks,
// one a 2-packet ping, 4 points; every grade must be exact); then the teacher destroys everything. Prints
// wall times, the ratio grade-all / slowest single evaluation (target ≤ 2), and the server's peak RSS. Needs
// root. It moves itself into a cgroup of its own (v1 cpuacct or v2) to print the CPU time of starting and of
// grading (all processes: server, FRR daemons, commands), which the shared machine's load does not distort
// as it does walls.
//
// usage: bench_class [N ...]        (default: 10 60 150)
// CLASS_BENCH_CONFIG: more YAML for the server's configuration (e.g. `eval: {platforms_dir: DIR}` to compare
// a platform's exec argv).
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../support/class_grading.hpp"
#include "http_client.hpp"

using namespace np::testkit;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using H = std::vector<std::pair<std::string, std::string>>;

namespace {

constexpr const char* kSpec = R"(id: static-two-lans
title: Static routing between two LANs
version: 1
devices:
  r1: {platform: frr}
  h1: {platform: linux}
  h2: {platform: linux}
checks:
  - id: r1-route
    on: r1
    run: show ip route 192.168.2.0/24
    expect: {match: '10\.12\.0\.2, via eth2'}
    points: 1
  - id: h1-address
    on: h1
    run: ip -br addr
    expect: {match: '192\.168\.1\.10/24'}
    points: 1
  - id: h1-reaches-h2
    on: h1
    run: ping -c 2 -W 1 192.168.2.10
    expect: {ping: {min_success: 100}}
    points: 2
)";

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Api {
    HttpClient c;
    explicit Api(std::uint16_t port) : c(port) {}
    json::value call(const std::string& method, const std::string& path, const H& h, const std::string& body,
                     int expect) {
        auto r = c.request(method, path, body, h);
        if (r.status != expect)
            throw std::runtime_error(method + " " + path + ": " + std::to_string(r.status) + " " + r.body);
        return r.body.empty() ? json::value(nullptr) : json::parse(r.body);
    }
    H login(const std::string& user, const std::string& pw) {
        auto j = call("POST", "/api/v1/auth/login", {},
                      json::serialize(json::object{{"username", user}, {"password", pw}}), 200);
        return {{"Authorization", "Bearer " + std::string(j.at("token").as_string())}};
    }
    // Polls jobs until every one has finished; throws if one did not succeed.
    void wait_jobs(std::vector<std::string> ids, const H& h) {
        while (!ids.empty()) {
            std::vector<std::string> left;
            for (auto& id : ids) {
                auto j = call("GET", "/api/v1/jobs/" + id, h, "", 200);
                auto st = j.at("state").as_string();
                if (st == "queued" || st == "running") {
                    left.push_back(id);
                } else if (st != "succeeded") {
                    throw std::runtime_error("job " + id + " " + std::string(st) + ": " + json::serialize(j));
                }
            }
            ids.swap(left);
            if (!ids.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
};

// CPU seconds used so far by every process of this benchmark's cgroup (the server, its labs' daemons and
// commands are all its children), or -1 when the benchmark runs in the root cgroup (then the figure would be
// the whole machine's). cgroup v1 (cpuacct.usage) or v2 (cpu.stat). main() moves the benchmark into a cgroup
// of its own when it can (enter_own_cgroup).
double cgroup_cpu_s() {
    std::ifstream f("/proc/self/cgroup");
    std::string line;
    while (std::getline(f, line)) {
        auto a = line.find(':'), b = line.find(':', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue;
        auto controllers = "," + line.substr(a + 1, b - a - 1) + ",";
        auto path = line.substr(b + 1);
        if (path == "/") continue;
        if (line.rfind("0::", 0) == 0) {  // v2
            std::ifstream stat("/sys/fs/cgroup" + path + "/cpu.stat");
            std::string key;
            long long usec = -1;
            while (stat >> key >> usec)
                if (key == "usage_usec") return static_cast<double>(usec) / 1e6;
            continue;
        }
        if (controllers.find(",cpuacct,") == std::string::npos) continue;
        std::ifstream u("/sys/fs/cgroup/cpuacct" + path + "/cpuacct.usage");
        if (!u) {
            u.clear();
            u.open("/sys/fs/cgroup/cpu,cpuacct" + path + "/cpuacct.usage");
        }
        long long ns = -1;
        if (u >> ns) return static_cast<double>(ns) / 1e9;
    }
    return -1;
}

// Moves this process (and so everything it starts) into a new cgroup np-bench-class-PID of the v1 cpuacct
// hierarchy, else of the v2 one; leaves it where it is when neither can be made (CPU columns then print "-").
// The cgroup is left behind empty at exit only if a process of the class outlived the benchmark.
std::string enter_own_cgroup() {
    if (cgroup_cpu_s() >= 0) return {};  // already in one of its own
    std::string name = "/np-bench-class-" + std::to_string(getpid());
    for (std::string root : {"/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup"}) {
        if (root == "/sys/fs/cgroup" && access("/sys/fs/cgroup/cgroup.controllers", F_OK) != 0) continue;
        if (access((root + "/cgroup.procs").c_str(), W_OK) != 0) continue;
        if (mkdir((root + name).c_str(), 0755) != 0) continue;
        std::ofstream(root + name + "/cgroup.procs") << getpid() << "\n";
        if (cgroup_cpu_s() >= 0) return root + name;
        std::ofstream(root + "/cgroup.procs") << getpid() << "\n";
        rmdir((root + name).c_str());
    }
    return {};
}

void leave_cgroup(const std::string& dir) {
    if (dir.empty()) return;
    std::ofstream(dir.substr(0, dir.rfind('/')) + "/cgroup.procs") << getpid() << "\n";
    rmdir(dir.c_str());
}

// CPU seconds of a process: its own (user + system) and that of its children it has reaped (the commands the
// server ran: grading commands, lab helpers; not the FRR daemons, which leave for init). -1 when unreadable.
struct ProcCpu {
    double self = -1, children = -1;
};
ProcCpu proc_cpu(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto close = text.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream in(text.substr(close + 2));
    std::vector<std::string> fields;  // fields[0] is field 3 (state) of proc(5)
    for (std::string w; in >> w;) fields.push_back(w);
    if (fields.size() < 15) return {};
    double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    auto at = [&](int field) { return std::stod(fields[static_cast<std::size_t>(field - 3)]) / tick; };
    return {at(14) + at(15), at(16) + at(17)};
}

struct Student : np::bench::GradingStudent {
    std::string id, env;
};

std::string extra_config() {
    const char* extra = std::getenv("CLASS_BENCH_CONFIG");
    return extra ? std::string(extra) + "\n" : std::string();
}

void run_class(int n) {
    // The class's labs fit under the host caps (the shipped 32 labs / 320 nodes would refuse the rest).
    ServerProcess server({}, "lab:\n  state_dir: {dir}/labs\n  max_labs: " + std::to_string(n + 8) +
                                 "\n  max_nodes: " + std::to_string(4 * n + 32) + "\nlog:\n  level: warn\n" +
                                 extra_config());
    Api api(server.port());
    auto teacher = api.login("admin", server.admin_password());
    std::vector<Student> students(n);
    json::array ids;
    for (int i = 0; i < n; ++i) {
        auto u = api.call(
            "POST", "/api/v1/users", teacher,
            json::serialize(json::object{
                {"username", "s" + std::to_string(i)}, {"role", "student"}, {"password", "class-bench-pw"}}),
            201);
        students[i].id = std::string(u.at("id").as_string());
        ids.emplace_back(students[i].id);
    }
    auto topology = slurp(NETPRAXIS_SOURCE_DIR "/examples/labs/static-two-lans.yaml");
    auto ex =
        api.call("POST", "/api/v1/exercises", teacher,
                 json::serialize(json::object{
                     {"slug", "class-bench"}, {"title", "Class"}, {"spec", kSpec}, {"topology", topology}}),
                 201);
    auto ex_id = std::string(ex.at("id").as_string());
    api.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);
    auto as = api.call("POST", "/api/v1/assignments", teacher,
                       json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", ids}}), 201);
    std::map<std::string, std::string> assignment_of;
    for (auto& a : as.at("items").as_array())
        assignment_of[std::string(a.at("student_id").as_string())] = std::string(a.at("id").as_string());
    for (int i = 0; i < n; ++i) {
        auto& s = students[i];
        s.assignment = assignment_of.at(s.id);
        s.auth = api.login("s" + std::to_string(i), "class-bench-pw");
        s.env = std::string(api.call("GET", "/api/v1/assignments/" + s.assignment, s.auth, "", 200)
                                .at("environment")
                                .at("id")
                                .as_string());
    }

    // Every environment gets the same action at once; returns when all its jobs have succeeded.
    auto act_all = [&](const std::string& action, bool as_teacher) {
        auto t0 = Clock::now();
        std::vector<std::string> jobs;
        for (auto& s : students)
            jobs.emplace_back(api.call("POST", "/api/v1/environments/" + s.env + "/actions",
                                       as_teacher ? teacher : s.auth, R"({"action":")" + action + "\"}", 202)
                                  .at("job")
                                  .at("id")
                                  .as_string());
        api.wait_jobs(jobs, teacher);
        return seconds_since(t0);
    };
    double start_all = 0, single = 0, grade_all = 0, start_cpu = 0, grade_cpu = 0;
    ProcCpu grade_server;  // the grading phase's CPU in the server and in the commands it ran
    try {
        double c0 = cgroup_cpu_s();
        start_all = act_all("start", false);
        start_cpu = cgroup_cpu_s() - c0;
        // Every grade must be exactly 4/4 (np::bench::grade_at_once throws otherwise).
        for (int i = 0; i < 3; ++i)
            single = std::max(single, np::bench::grade_at_once(server.port(), {&students[0]}, teacher, 4));
        std::vector<const np::bench::GradingStudent*> all;
        for (auto& s : students) all.push_back(&s);
        c0 = cgroup_cpu_s();
        auto p0 = proc_cpu(server.pid());
        grade_all = np::bench::grade_at_once(server.port(), all, teacher, 4);
        grade_cpu = cgroup_cpu_s() - c0;
        auto p1 = proc_cpu(server.pid());
        grade_server = {p1.self - p0.self, p1.children - p0.children};
    } catch (...) {
        act_all("destroy", true);  // leave no lab behind, then report what failed
        throw;
    }
    double destroy_all = act_all("destroy", true);
    auto cpu = [](double s) { return s < 0 ? std::string("-") : std::to_string(s).substr(0, 5) + " s"; };
    if (cgroup_cpu_s() < 0) start_cpu = grade_cpu = -1;
    // Per evaluation: all CPU of the grading phase (cgroup), of which the server's own and its commands'.
    char per_eval[96] = "-";
    if (grade_cpu >= 0)
        std::snprintf(per_eval, sizeof per_eval, "%.1f ms (server %.1f, commands %.1f)", 1000 * grade_cpu / n,
                      1000 * grade_server.self / n, 1000 * grade_server.children / n);
    std::printf("| %8d | %9.1f s | %9s | %9.1f s | %9s | %s | %8.2f s | %5.2f | %8.1f s | %6ld MB |\n", n,
                start_all, cpu(start_cpu).c_str(), grade_all, cpu(grade_cpu).c_str(), per_eval, single,
                grade_all / single, destroy_all, np::bench::peak_rss_kb(server.pid()) / 1024);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    if (geteuid() != 0) {
        std::cerr << "bench_class needs root (local labs: network namespaces, FRR)\n";
        return 2;
    }
    std::vector<int> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::stoi(argv[i]));
    if (sizes.empty()) sizes = {10, 60, 150};
    std::printf(
        "class benchmark: 4-node local labs (2 FRR, 2 Linux), 3 checks; targets: grade all <= 2x the "
        "slowest single evaluation, 150 labs started in <= 25 s\n");
    std::printf(
        "| students | start all   | start CPU | grade all   | grade CPU | grade CPU per evaluation | 1 "
        "student  | "
        "ratio | destroy all | peak RSS |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
    auto cgroup = enter_own_cgroup();
    int rc = 0;
    try {
        for (int n : sizes) run_class(n);
    } catch (const std::exception& e) {
        std::cerr << "bench_class: " << e.what() << "\n";
        rc = 1;
    }
    leave_cgroup(cgroup);
    return rc;
}
