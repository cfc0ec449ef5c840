// bench_pve_class [N...] (root, VPCS): a class of N Proxmox environments through the API, as issue 10 part 4
// and issue 14's Proxmox variant measure it. `netpraxis pve-sim --gns3-guests` runs the realistic profile on
// bigger nodes (3 x 1 TiB, 128 CPUs: room for every VM of the class); the exercise is one VPCS PC (the
// guests' devices are real). A warm-up student builds the template first (once per exercise, not part of the
// class's figure). Then, per N: assign (ONE provisioning job: linked clones), start all (ONE job), destroy
// all; then the same class assigned with `start` (ONE job that starts each VM as soon as its clone is done),
// destroy all. The bound is the simulated cluster's: linked clones hold one of storage_slots slots of the
// template's storage for clone_linked_ms (waves of slots x source nodes), then a start takes start_ms and the
// guest boots in boot_ms (no slot held). Targets: provisioning <= 1.1 x the clone bound; provision + start
// <= 1.1 x bound.
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "http_client.hpp"
#include "pve_sim_process.hpp"
#include "pvesim/profile.hpp"

using namespace np::testkit;
namespace json = boost::json;
namespace fs = std::filesystem;
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
};

// Assigns `n` new students; returns the wall time of the one job that makes their labs (and checks it
// succeeded): the provisioning job, or with `start` the job that makes and starts them.
double assign(ServerProcess& s, const H& t, Class& c, int n, bool start = false) {
    json::array ids;
    for (int i = 0; i < n; ++i) {
        auto name = "s" + std::to_string(c.next_student++);
        ids.push_back(
            call(s.port(), "POST", "/api/v1/users", t,
                 json::serialize(json::object{
                     {"username", name}, {"role", "student"}, {"password", "student-pass-" + name}}))
                .at("id"));
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

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> sizes;
    for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
    if (sizes.empty()) sizes = {200};
    if (geteuid() != 0 || access("/usr/bin/vpcs", X_OK) != 0) {
        std::cout << "skipped: needs root and VPCS\n";
        return 0;
    }
    auto root = fs::temp_directory_path() / ("np-bench-pve-class-" + std::to_string(getpid()));
    fs::create_directories(root / "projects");
    write_one_pc_project(root / "projects");
    std::ofstream(root / "profile.json") << kProfile;
    auto profile = np::pvesim::load_profile((root / "profile.json").string());
    int rc = 0;
    try {
        PveSimProcess sim(
            root / "sim",
            {.profile = (root / "profile.json").string(), .address_octet = 73, .lab_ports = "40000"});
        if (!sim.port()) throw std::runtime_error("pve-sim did not start");
        ServerProcess server(
            {},
            "lab:\n  provider: proxmox\n  state_dir: {dir}/labs\njobs:\n  concurrency: 4\n"
            "pve:\n  url: http://127.0.0.1:" +
                std::to_string(sim.port()) +
                "\n  user: root@pam\n  password: rootpass\n  base_vmid: 100\n  vmid_range: 23000-23999\n"
                "  poll_interval: 100ms\n  start_wave: 1000\n  projects_dir: " +
                (root / "projects").string() + "\n");
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
        auto t0 = Clock::now();
        assign(server, t, c, 1);  // warm-up: builds the template (once per exercise)
        class_action(server, t, c, "destroy");
        withdraw_all(server, t, c);
        std::printf("template built (and the warm-up VM made and destroyed) in %.1f s\n", since(t0));
        std::printf(
            "\n| N | provision (clones) | clone bound | ratio | then start all | provision, then start: "
            "ratio "
            "| provision + start in one job | bound | ratio | destroy all |\n");
        std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
        for (int n : sizes) {
            double clones = profile.capacity_bound_seconds("clone", static_cast<std::size_t>(n), 1);
            double bound = clones + (profile.start_ms + profile.boot_ms) / 1000.0;
            // Provisioning, then the class start (two jobs, one after the other).
            double prov = assign(server, t, c, n);
            double start = class_action(server, t, c, "start");
            class_action(server, t, c, "destroy");
            withdraw_all(server, t, c);
            // The same class made and started by one job: each VM started as soon as its clone is done.
            double both = assign(server, t, c, n, true);
            double destroy = class_action(server, t, c, "destroy");
            withdraw_all(server, t, c);
            auto st = sim.stats();
            std::printf("| %d | %.1f s | %.1f s | %.3f | %.1f s | %.3f | %.1f s | %.1f s | %.3f | %.1f s |\n",
                        n, prov, clones, prov / clones, start, (prov + start) / bound, both, bound,
                        both / bound, destroy);
            std::printf("  (VMs created twice %lld, orphaned volumes %lld, VMs left %lld)\n",
                        static_cast<long long>(st.at("names_created_twice").as_int64()),
                        static_cast<long long>(st.at("orphaned_volumes").as_int64()),
                        static_cast<long long>(st.at("vms").as_int64()));
            std::fflush(stdout);
        }
        std::printf("targets: provisioning / clone bound <= 1.1; provision + start / bound <= 1.1\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_pve_class: %s\n", e.what());
        rc = 1;
    }
    std::error_code ec;
    fs::remove_all(root, ec);
    return rc;
}
