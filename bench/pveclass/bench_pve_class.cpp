// bench_pve_class [--start-wave W] [N...] (root, VPCS): a class of N Proxmox environments through the API, as
// issue 10 part 4 and issue 14's Proxmox variant measure it. `netpraxis pve-sim --gns3-guests` runs the
// realistic profile on bigger nodes (3 x 1 TiB, 128 CPUs: room for every VM of the class); the exercise is
// one VPCS PC (the guests' devices are real). Warm-up (not part of the figures): one student per node builds
// the template and, the template's disks being on local storage, its copies on the other nodes (a full clone
// and an offline migration each, ~18 s on this profile), as the first class of a real deployment would; the
// copies are reused by every later class. Then, per N: assign (ONE provisioning job: linked clones), start
// all (ONE job), one student grades alone 3 times (the single-evaluation baseline: its slowest), every
// student grades at once (issue 14; every grade exact), destroy all; then the same class assigned with
// `start` (ONE job that starts each VM as soon as its clone is done), destroy all.
//
// Bounds (the simulated cluster's capacity): linked clones hold one of storage_slots slots of their source
// template's storage for clone_linked_ms, so they run in waves of slots x nodes holding a template (each
// node's local storage its own); starts run at most pve.start_wave at once (W), each VM start_ms then
// boot_ms, so in ceil(N / W) waves. W defaults to Proxmox's own bulk-start width: datacenter.cfg max_workers
// (default 4) per node, i.e. 12 on these 3 nodes (the provider's 20 would have 400 real VPCS starting at once
// on 2 cores, a load this machine cannot take, while a real cluster boots each VM on its own node). Provision
// + start in one job: max(clone bound + one start, first clone wave + start waves). Targets: each ratio
// <= 1.1; grade all <= 2 x the slowest single evaluation. Each row prints the 1-minute load average (shared
// machine).
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "../support/class_grading.hpp"
#include "http_client.hpp"
#include "pve/client.hpp"
#include "pve_sim_process.hpp"
#include "pvesim/gns3_guests.hpp"
#include "pvesim/profile.hpp"

using namespace np::testkit;
namespace json = boost::json;
namespace fs = std::filesystem;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using H = std::vector<std::pair<std::string, std::string>>;

namespace {

const char* kSpec = R"(id: one-pc
title: One PC (GNS3)
version: 1
lab:
  gns3: one-pc.gns3project
devices:
  PC1: {platform: vpcs}
checks:
  - {id: pc1, title: PC1 address, on: PC1, run: show ip, expect: {contains: "10.0.1.10/24"}, points: 1}
)";

const char* kProfile = R"({"base": "realistic", "nodes": [
  {"name": "pve1", "maxmem": 1099511627776, "maxcpu": 128},
  {"name": "pve2", "maxmem": 1099511627776, "maxcpu": 128},
  {"name": "pve3", "maxmem": 1099511627776, "maxcpu": 128}]})";

json::value call(std::uint16_t port, const std::string& method, const std::string& path, const H& h,
                 const std::string& body = "") {
    HttpClient c(port);
    auto r = c.request(method, path, body, h);
    if (r.status >= 400) throw std::runtime_error(method + " " + path + ": " + r.body);
    return r.body.empty() ? json::value(nullptr) : json::parse(r.body);
}

json::object wait_job(ServerProcess& s, const std::string& id, const H& h) {
    while (true) {
        auto j = call(s.port(), "GET", "/api/v1/jobs/" + id, h).as_object();
        auto st = j.at("state").as_string();
        if (st == "succeeded" || st == "failed" || st == "cancelled") return j;
        s.output();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Class {
    std::string exercise;
    int next_student = 1;
    std::vector<std::pair<std::string, std::string>> students;  // the last round's: username, user id
};

// Assigns `n` new students; returns the wall time of the one job that makes their labs (and checks it
// succeeded): the provisioning job, or with `start` the job that makes and starts them.
double assign(ServerProcess& s, const H& t, Class& c, int n, bool start = false) {
    json::array ids;
    c.students.clear();
    for (int i = 0; i < n; ++i) {
        auto name = "s" + std::to_string(c.next_student++);
        auto id = call(s.port(), "POST", "/api/v1/users", t,
                       json::serialize(json::object{
                           {"username", name}, {"role", "student"}, {"password", "student-pass-" + name}}))
                      .at("id");
        c.students.emplace_back(name, std::string(id.as_string()));
        ids.push_back(id);
    }
    auto t0 = Clock::now();
    auto as = call(
        s.port(), "POST", "/api/v1/assignments", t,
        json::serialize(json::object{{"exercise_id", c.exercise}, {"student_ids", ids}, {"start", start}}));
    auto job = wait_job(s, std::string(as.at("job").at("id").as_string()), t);
    if (job.at("state").as_string() != "succeeded")
        throw std::runtime_error((start ? "provision + start: " : "provisioning: ") + json::serialize(job));
    return since(t0);
}

double class_action(ServerProcess& s, const H& t, const Class& c, const std::string& action) {
    auto t0 = Clock::now();
    auto r = call(s.port(), "POST", "/api/v1/environments/actions", t,
                  json::serialize(json::object{{"action", action}, {"exercise_id", c.exercise}}));
    for (const auto& j : r.at("jobs").as_array()) {
        auto done = wait_job(s, std::string(j.at("id").as_string()), t);
        if (done.at("state").as_string() != "succeeded")
            throw std::runtime_error(action + ": " + json::serialize(done));
    }
    return since(t0);
}

// Withdraws every assignment of the class (their environments destroyed first), so the next round starts
// only its own.
void withdraw_all(ServerProcess& s, const H& t, const Class& c) {
    auto page = call(s.port(), "GET", "/api/v1/assignments?limit=500&exercise_id=" + c.exercise, t);
    for (const auto& a : page.at("items").as_array())
        call(s.port(), "DELETE", "/api/v1/assignments/" + std::string(a.at("id").as_string()), t);
}

// Issue 14's grading rush on the class's running labs: one student grades alone 3 times (the slowest is the
// single-evaluation baseline), then every student at once. Returns {slowest single, grade all}.
std::pair<double, double> grade_rush(ServerProcess& s, const H& t, const Class& c) {
    auto page = call(s.port(), "GET", "/api/v1/assignments?limit=500&exercise_id=" + c.exercise, t);
    std::map<std::string, std::string> assignment_of;  // student id -> assignment id
    for (const auto& a : page.at("items").as_array())
        assignment_of[std::string(a.at("student_id").as_string())] = std::string(a.at("id").as_string());
    std::vector<np::bench::GradingStudent> students;
    for (const auto& [name, id] : c.students) {
        auto login =
            call(s.port(), "POST", "/api/v1/auth/login", {},
                 json::serialize(json::object{{"username", name}, {"password", "student-pass-" + name}}));
        students.push_back({assignment_of.at(id),
                            {{"Authorization", "Bearer " + std::string(login.at("token").as_string())}}});
    }
    double single = 0;
    for (int i = 0; i < 3; ++i)
        single = std::max(single, np::bench::grade_at_once(s.port(), {&students[0]}, t, 1.0));
    std::vector<const np::bench::GradingStudent*> all;
    for (const auto& st : students) all.push_back(&st);
    return {single, np::bench::grade_at_once(s.port(), all, t, 1.0)};
}

// Templates (node/VMID) the simulated cluster holds.
std::set<std::pair<std::string, int>> templates(int port) {
    asio::io_context io;
    np::pve::ClientOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(port);
    o.credentials = {"root@pam", "rootpass", "", ""};
    np::pve::Client client(io.get_executor(), o);
    auto rows = asio::co_spawn(io, client.cluster_resources("vm"), asio::use_future);
    io.run();
    std::set<std::pair<std::string, int>> out;
    for (const auto& r : rows.get())
        if (r.is_template) out.insert({r.node, r.vmid});
    return out;
}

std::string load_average() {
    std::ifstream f("/proc/loadavg");
    std::string one;
    f >> one;
    return one;
}

// What the guests left on the host: VPCS processes whose folder is under `dir`, namespaces of `prefix`.
std::pair<int, int> leftovers(const fs::path& dir, const std::string& prefix) {
    int vpcs = 0, netns = 0;
    std::error_code ec;
    auto base = fs::weakly_canonical(dir, ec).string();
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        std::ifstream comm(e.path() / "comm");
        std::string name;
        std::getline(comm, name);
        std::error_code lec;
        auto cwd = fs::read_symlink(e.path() / "cwd", lec).string();
        if (name == "vpcs" && !lec && cwd.rfind(base, 0) == 0) ++vpcs;
    }
    for (const auto& e : fs::directory_iterator("/var/run/netns", ec))
        if (e.path().filename().string().rfind(prefix, 0) == 0) ++netns;
    return {vpcs, netns};
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> sizes;
    int start_wave = 0;  // 0: max_workers (4) x nodes
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--start-wave" && i + 1 < argc)
            start_wave = std::atoi(argv[++i]);
        else
            sizes.push_back(std::atoi(argv[i]));
    }
    if (sizes.empty()) sizes = {30};           // 200: the issue's figure (see README: VPCS load)
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line as it comes (make bench tees it)
    if (geteuid() != 0 || access("/usr/bin/vpcs", X_OK) != 0) {
        std::cout << "skipped: needs root and VPCS\n";
        return 0;
    }
    constexpr int kOctet = 73;
    auto root = fs::temp_directory_path() / ("np-bench-pve-class-" + std::to_string(getpid()));
    fs::create_directories(root / "projects");
    write_one_pc_project(root / "projects");
    std::ofstream(root / "profile.json") << kProfile;
    auto profile = np::pvesim::load_profile((root / "profile.json").string());
    if (start_wave <= 0) start_wave = 4 * static_cast<int>(profile.nodes.size());
    int rc = 0;
    try {
        PveSimProcess sim(
            root / "sim",
            {.profile = (root / "profile.json").string(), .address_octet = kOctet, .lab_ports = "40000"});
        if (!sim.port()) throw std::runtime_error("pve-sim did not start");
        ServerProcess server(
            {},
            // warn: the access log of every poll would fill the server's output pipe, which grade_at_once
            // does not drain.
            "log:\n  level: warn\nlab:\n  provider: proxmox\n  state_dir: {dir}/labs\njobs:\n  concurrency: "
            "4\n"
            "pve:\n  url: http://127.0.0.1:" +
                std::to_string(sim.port()) +
                "\n  user: root@pam\n  password: rootpass\n  base_vmid: 100\n  vmid_range: 23000-23999\n"
                "  poll_interval: 100ms\n  start_wave: " +
                std::to_string(start_wave) + "\n  projects_dir: " + (root / "projects").string() + "\n");
        auto login =
            call(server.port(), "POST", "/api/v1/auth/login", {},
                 json::serialize(json::object{{"username", "admin"}, {"password", server.admin_password()}}));
        H t{{"Authorization", "Bearer " + std::string(login.at("token").as_string())}};
        Class c;
        c.exercise = std::string(call(server.port(), "POST", "/api/v1/exercises", t,
                                      json::serialize(json::object{{"slug", "one-pc"},
                                                                   {"title", "One PC"},
                                                                   {"spec", kSpec},
                                                                   {"gns3_project", "one-pc.gns3project"}}))
                                     .at("id")
                                     .as_string());
        call(server.port(), "POST", "/api/v1/exercises/" + c.exercise + "/versions/1/publish", t);
        auto before = templates(sim.port());
        auto t0 = Clock::now();
        // Warm-up: one student per node, so the template and its copies on every node exist (once per
        // exercise, not part of the class's figures).
        assign(server, t, c, static_cast<int>(profile.nodes.size()));
        class_action(server, t, c, "destroy");
        withdraw_all(server, t, c);
        auto vms_before = sim.stats().at("vms").as_int64();  // base VMs and templates (copies included)
        std::set<std::string> source_nodes;
        for (const auto& tpl : templates(sim.port()))
            if (!before.count(tpl)) source_nodes.insert(tpl.first);
        std::printf(
            "warm-up: template and its copies on %zu node(s) built (and %zu VMs made and destroyed) in %.1f "
            "s; "
            "start_wave %d\n",
            source_nodes.size(), profile.nodes.size(), since(t0), start_wave);
        std::printf(
            "\n| N | load | provision (clones) | clone bound | ratio | start all | start bound | ratio | "
            "1 grade (slowest of 3) | grade all | ratio | server peak RSS | provision + start in one job | "
            "bound | ratio | destroy all |\n");
        std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        double one_start = (profile.start_ms + profile.boot_ms) / 1000.0;
        for (int n : sizes) {
            double clones =
                profile.capacity_bound_seconds("clone", static_cast<std::size_t>(n), source_nodes.size());
            double start_bound = std::ceil(static_cast<double>(n) / start_wave) * one_start;
            double both_bound = std::max(clones + one_start, profile.clone_linked_ms / 1000.0 + start_bound);
            auto load0 = load_average();
            double prov = assign(server, t, c, n);
            double start = class_action(server, t, c, "start");
            auto [single, grade_all] = grade_rush(server, t, c);
            class_action(server, t, c, "destroy");
            withdraw_all(server, t, c);
            // The same class made and started by one job: each VM started as soon as its clone is done.
            double both = assign(server, t, c, n, true);
            double destroy = class_action(server, t, c, "destroy");
            withdraw_all(server, t, c);
            auto st = sim.stats();
            std::printf(
                "| %d | %s-%s | %.1f s | %.1f s | %.3f | %.1f s | %.1f s | %.3f | %.2f s | %.2f s | %.2f | "
                "%ld MB "
                "| %.1f s | %.1f s | %.3f | %.1f s |\n",
                n, load0.c_str(), load_average().c_str(), prov, clones, prov / clones, start, start_bound,
                start / start_bound, single, grade_all, grade_all / single,
                np::bench::peak_rss_kb(server.pid()) / 1024, both, both_bound, both / both_bound, destroy);
            std::printf("  (VMs created twice %lld, orphaned volumes %lld, students' VMs left %lld)\n",
                        static_cast<long long>(st.at("names_created_twice").as_int64()),
                        static_cast<long long>(st.at("orphaned_volumes").as_int64()),
                        static_cast<long long>(st.at("vms").as_int64() - vms_before));
            std::fflush(stdout);
        }
        std::printf(
            "targets: provisioning / clone bound <= 1.1; start all / start bound and provision + start / "
            "bound "
            "<= 1.1; grade all <= 2 x the slowest single evaluation\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_pve_class: %s\n", e.what());
        rc = 1;
    }
    // pve-sim has stopped (SIGTERM): its guests' devices and namespaces must be gone.
    auto [vpcs, netns] = leftovers(root, np::pvesim::guest_namespace_prefix(kOctet));
    std::printf("after the bench: %d vpcs processes, %d namespaces of the guests left\n", vpcs, netns);
    if (vpcs || netns) rc = 1;
    std::error_code ec;
    fs::remove_all(root, ec);
    return rc;
}
