// Issue 10 part 4 through the API, as root: `netpraxis serve` (lab.provider proxmox) against
// `netpraxis pve-sim --gns3-guests` (started VMs run a GNS3 simulator whose VPCS nodes are real VPCS).
//  - Faults: on the faulty profile (seeded), 20 environments are assigned (one batch provisioning job),
//    started as a class (one job, waves of pve.start_wave) and destroyed through the API: every VM was
//    created exactly once, none is left but the template, 0 orphaned volumes.
//  - SIGKILL: serve killed while the batch clones (3 of 20 VMs exist), restarted on the same store: the job
//    is taken over when its lease expires and converges; no VM twice, none orphaned, all 20 made.
//  - Course and missing VMs (fast profile): assigning to a course is ONE provisioning job; a class start
//    and a student's own start make the VMs that do not exist (destroyed) before starting them; an
//    assignment with `start` makes and starts its lab in one job.
// The exercise is a one-PC copy of examples/gns3-vpcs-router (fewer real devices: the test is about VMs).
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "http_client.hpp"
#include "pve_sim_process.hpp"

using namespace np::testkit;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr int kStudents = 20;

bool have_devices() {
    return geteuid() == 0 && access("/usr/bin/vpcs", X_OK) == 0;
}

const char* kSpec = R"(id: one-pc
title: One PC (GNS3)
version: 1
lab:
  gns3: one-pc.gns3project
devices:
  PC1: {platform: vpcs}
checks:
  - id: pc1-address
    title: PC1 keeps its address
    on: PC1
    run: show ip
    expect: {contains: "10.0.1.10/24"}
    points: 1
)";

// `netpraxis pve-sim --gns3-guests` with `profile` and seed 7; its guests' addresses and console ports apart
// from the other Proxmox tests' and the local labs' VPCS (5000 up, every address).
// Each test its own guest addresses (127.OCTET.H.L, the same VMIDs in each) and node console ports: ctest
// runs them at the same time, and a guest whose GNS3 address is taken reports its eth0 address instead.
struct PveSim : PveSimProcess {
    PveSim(const fs::path& state_dir, const std::string& profile, int octet, const std::string& consoles)
        : PveSimProcess(state_dir,
                        {.profile = profile, .seed = 7, .address_octet = octet, .console_ports = consoles}) {}
};

using H = std::vector<std::pair<std::string, std::string>>;

json::value call(std::uint16_t port, const std::string& method, const std::string& path, const H& h,
                 const std::string& body = "", int expect = 0) {
    HttpClient c(port);
    auto r = c.request(method, path, body, h);
    if (expect) {
        EXPECT_EQ(r.status, expect) << method << " " << path << ": " << r.body;
    }
    return r.body.empty() ? json::value(nullptr) : json::parse(r.body);
}

H login(std::uint16_t port, const std::string& user, const std::string& pw) {
    auto r = call(port, "POST", "/api/v1/auth/login", H{},
                  json::serialize(json::object{{"username", user}, {"password", pw}}), 200);
    return {{"Authorization", "Bearer " + std::string(r.at("token").as_string())}};
}

// Polls `job` until it ends (bounded: 10 minutes), draining the server's output meanwhile.
json::object wait_job(ServerProcess& server, const std::string& id, const H& h) {
    for (int i = 0; i < 6000; ++i) {
        auto j = call(server.port(), "GET", "/api/v1/jobs/" + id, h).as_object();
        auto st = j.at("state").as_string();
        if (st == "succeeded" || st == "failed" || st == "cancelled") return j;
        server.output();
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
}

std::string config(int sim_port, const fs::path& projects, const std::string& extra = "") {
    return "lab:\n  provider: proxmox\n  state_dir: {dir}/labs\njobs:\n  concurrency: 4\n  lease_seconds: "
           "6\n" +
           extra + "pve:\n  url: http://127.0.0.1:" + std::to_string(sim_port) +
           "\n  user: root@pam\n  password: rootpass\n  base_vmid: 100\n  vmid_range: 22000-22999\n"
           "  poll_interval: 100ms\n  start_wave: 8\n  projects_dir: " +
           projects.string() + "\n";
}

// Publishes the one-PC exercise, makes kStudents students and assigns it to them; returns the assign reply.
json::object publish_and_assign(std::uint16_t port, const H& teacher) {
    auto ex = call(port, "POST", "/api/v1/exercises", teacher,
                   json::serialize(json::object{{"slug", "one-pc"},
                                                {"title", "One PC"},
                                                {"spec", kSpec},
                                                {"gns3_project", "one-pc.gns3project"}}),
                   201);
    auto ex_id = std::string(ex.at("id").as_string());
    call(port, "POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);
    json::array ids;
    for (int i = 1; i <= kStudents; ++i) {
        auto u = call(port, "POST", "/api/v1/users", teacher,
                      json::serialize(json::object{{"username", "class-student" + std::to_string(i)},
                                                   {"role", "student"},
                                                   {"password", "student-pass-" + std::to_string(i)}}),
                      201);
        ids.push_back(u.at("id"));
    }
    auto as = call(port, "POST", "/api/v1/assignments", teacher,
                   json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", ids}}), 201);
    auto out = as.as_object();
    out["exercise_id"] = ex_id;
    return out;
}

std::vector<json::object> environments(std::uint16_t port, const H& teacher, const std::string& exercise_id) {
    auto page =
        call(port, "GET", "/api/v1/environments?limit=200&exercise_id=" + exercise_id, teacher, "", 200);
    std::vector<json::object> out;
    for (const auto& e : page.at("items").as_array()) out.push_back(e.as_object());
    return out;
}

// The VMs that are not templates (a template on local storage is copied to the nodes the class goes to).
std::int64_t guests(const json::object& st) {
    return st.at("vms").as_int64() - st.at("templates").as_int64();
}

// Every environment's VM made once, none twice, no duplicate names.
void expect_each_vm_once(const json::object& st) {
    EXPECT_EQ(st.at("names_created_twice").as_int64(), 0) << json::serialize(st);
    EXPECT_EQ(st.at("duplicate_names").as_int64(), 0) << json::serialize(st);
}

struct Dirs {
    fs::path root = fs::temp_directory_path() / ("np-pve-class-" + std::to_string(getpid()));
    Dirs() { fs::create_directories(root / "projects"); }
    ~Dirs() {
        std::error_code ec;
        fs::remove_all(root, ec);
    }
};

}  // namespace

// On the faulty profile (transient 5xx, dropped replies, silent delete failures, VMID races): a lost reply to
// a start is judged by the VM's live status (never sent again into "already running"), and an inventory
// outlives a guest-agent 596 past the client's retries.
TEST(ProxmoxClass, FaultyProfileTwentyEnvironmentsEachVmOnceNoneLeft) {
    if (!have_devices()) GTEST_SKIP() << "needs root and VPCS";
    Dirs dirs;
    write_one_pc_project(dirs.root / "projects");
    PveSim sim(dirs.root / "sim", "faulty", 72, "13000-13159");
    ASSERT_GT(sim.port(), 0);
    auto vms_before = guests(sim.stats());
    ServerProcess server({}, config(sim.port(), dirs.root / "projects"));
    auto port = server.port();
    auto teacher = login(port, "admin", server.admin_password());
    auto as = publish_and_assign(port, teacher);
    auto ex_id = std::string(as.at("exercise_id").as_string());

    // One batch job made the 20 VMs: every environment is stopped (made, not started).
    ASSERT_TRUE(as.contains("job")) << json::serialize(as);
    auto job = wait_job(server, std::string(as.at("job").at("id").as_string()), teacher);
    ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
    for (const auto& e : environments(port, teacher, ex_id))
        EXPECT_EQ(e.at("observed_state").as_string(), "stopped") << json::serialize(e);
    auto st = sim.stats();
    EXPECT_EQ(guests(st), vms_before + kStudents) << json::serialize(st);
    expect_each_vm_once(st);

    // The class starts as one job, in waves of at most pve.start_wave.
    auto start = call(port, "POST", "/api/v1/environments/actions", teacher,
                      json::serialize(json::object{{"action", "start"}, {"exercise_id", ex_id}}), 202);
    ASSERT_EQ(start.at("jobs").as_array().size(), 1u) << json::serialize(start);
    job = wait_job(server, std::string(start.at("jobs").at(0).at("id").as_string()), teacher);
    EXPECT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
    for (const auto& e : environments(port, teacher, ex_id)) {
        EXPECT_EQ(e.at("observed_state").as_string(), "running") << json::serialize(e);
        EXPECT_EQ(e.at("addresses").at("devices").as_array().size(), 1u) << json::serialize(e);
    }
    EXPECT_NE(server.output().find("labpve.start_wave"), std::string::npos);

    // Destroyed through the API: nothing left but the template, no orphaned volume.
    auto destroy = call(port, "POST", "/api/v1/environments/actions", teacher,
                        json::serialize(json::object{{"action", "destroy"}, {"exercise_id", ex_id}}), 202);
    for (const auto& j : destroy.at("jobs").as_array()) {
        auto done = wait_job(server, std::string(j.at("id").as_string()), teacher);
        EXPECT_EQ(done.at("state").as_string(), "succeeded") << json::serialize(done);
    }
    for (const auto& e : environments(port, teacher, ex_id))
        EXPECT_EQ(e.at("observed_state").as_string(), "absent") << json::serialize(e);
    st = sim.stats();
    EXPECT_EQ(guests(st), vms_before) << json::serialize(st);  // only the template (and its copies)
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0) << json::serialize(st);
    expect_each_vm_once(st);
    // The profile's faults really happened (seeded: the same run every time).
    EXPECT_GT(
        st.at("faults").at("transient_5xx").as_int64() + st.at("faults").at("dropped_connections").as_int64(),
        0);
}

TEST(ProxmoxClass, ServeKilledWhileProvisioningResumesWithoutDuplicates) {
    if (!have_devices()) GTEST_SKIP() << "needs root and VPCS";
    Dirs dirs;
    write_one_pc_project(dirs.root / "projects");
    // Clones slow enough to kill serve in the middle: 2 storage slots, 400 ms each (20 clones: ~4 s).
    std::ofstream(dirs.root / "slow.json")
        << R"({"base": "fast", "clone_linked_ms": 400, "storage_slots": 2})";
    PveSim sim(dirs.root / "sim", (dirs.root / "slow.json").string(), 76, "13160-13319");
    ASSERT_GT(sim.port(), 0);
    auto vms_before = guests(sim.stats());
    const std::string store = "sqlite:" + (dirs.root / "np.db").string();
    const std::string cfg = config(sim.port(), dirs.root / "projects", "server:\n  instance_id: pve-class\n");
    std::string admin_pw, ex_id, job_id;
    {
        ServerProcess first({"--store", store}, cfg);
        admin_pw = first.admin_password();
        auto teacher = login(first.port(), "admin", admin_pw);
        auto as = publish_and_assign(first.port(), teacher);
        ex_id = std::string(as.at("exercise_id").as_string());
        ASSERT_TRUE(as.contains("job")) << json::serialize(as);
        job_id = std::string(as.at("job").at("id").as_string());
        // Killed once the template and 3 of the 20 VMs exist.
        bool midway = false;
        for (int i = 0; i < 3000 && !midway; ++i) {
            midway = guests(sim.stats()) >= vms_before + 3;
            if (!midway) {
                first.output();
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        }
        ASSERT_TRUE(midway) << first.output();
        ASSERT_GT(first.stop(SIGKILL), -2);
    }
    EXPECT_LT(guests(sim.stats()), vms_before + kStudents) << "killed too late to test anything";
    ServerProcess second({"--store", store}, cfg);
    auto teacher = login(second.port(), "admin", admin_pw);
    auto job = wait_job(second, job_id, teacher);
    // Resumed (its lease expired) and converged, or failed with a reason: either way no VM twice or orphaned.
    if (job.at("state").as_string() == "succeeded") {
        for (const auto& e : environments(second.port(), teacher, ex_id))
            EXPECT_EQ(e.at("observed_state").as_string(), "stopped") << json::serialize(e);
        EXPECT_EQ(guests(sim.stats()), vms_before + kStudents);
    } else {
        ADD_FAILURE() << "the job was not resumed: " << json::serialize(job);
        EXPECT_FALSE(job.at("error").as_string().empty());
    }
    auto st = sim.stats();
    expect_each_vm_once(st);
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0) << json::serialize(st);

    auto destroy = call(second.port(), "POST", "/api/v1/environments/actions", teacher,
                        json::serialize(json::object{{"action", "destroy"}, {"exercise_id", ex_id}}), 202);
    for (const auto& j : destroy.at("jobs").as_array())
        EXPECT_EQ(wait_job(second, std::string(j.at("id").as_string()), teacher).at("state").as_string(),
                  "succeeded");
    st = sim.stats();
    EXPECT_EQ(guests(st), vms_before) << json::serialize(st);
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0) << json::serialize(st);
}

namespace {

// The environments of `exercise_id` by their student's id.
std::map<std::string, json::object> by_student(std::uint16_t port, const H& teacher,
                                               const std::string& exercise_id) {
    std::map<std::string, json::object> out;
    for (auto& e : environments(port, teacher, exercise_id))
        out[std::string(e.at("student_id").as_string())] = e;
    return out;
}

// Runs a class action on `ids` and waits for its jobs; true when all succeeded.
bool class_action(ServerProcess& server, const H& teacher, const std::string& action,
                  const json::array& ids) {
    auto r = call(server.port(), "POST", "/api/v1/environments/actions", teacher,
                  json::serialize(json::object{{"action", action}, {"environment_ids", ids}}), 202);
    bool ok = true;
    for (const auto& j : r.at("jobs").as_array()) {
        auto done = wait_job(server, std::string(j.at("id").as_string()), teacher);
        EXPECT_EQ(done.at("state").as_string(), "succeeded") << action << ": " << json::serialize(done);
        ok = ok && done.at("state").as_string() == "succeeded";
    }
    return ok;
}

}  // namespace

// Assigning to a whole course makes the class's VMs as ONE environments.provision job (as POST
// /api/v1/assignments does); a start of an environment whose VM does not exist (destroyed, or never made)
// creates it — the class start and a student's own start; an assignment with `start` makes and starts its
// lab in one job.
TEST(ProxmoxClass, CourseAssignBatchesAndAStartMakesAMissingVm) {
    if (!have_devices()) GTEST_SKIP() << "needs root and VPCS";
    Dirs dirs;
    write_one_pc_project(dirs.root / "projects");
    PveSim sim(dirs.root / "sim", "fast", 77, "13320-13499");
    ASSERT_GT(sim.port(), 0);
    auto vms_before = guests(sim.stats());  // (templates and their copies not counted)
    ServerProcess server({}, config(sim.port(), dirs.root / "projects"));
    auto port = server.port();
    auto teacher = login(port, "admin", server.admin_password());
    auto ex_id = std::string(call(port, "POST", "/api/v1/exercises", teacher,
                                  json::serialize(json::object{{"slug", "one-pc"},
                                                               {"title", "One PC"},
                                                               {"spec", kSpec},
                                                               {"gns3_project", "one-pc.gns3project"}}),
                                  201)
                                 .at("id")
                                 .as_string());
    call(port, "POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);
    auto course = std::string(
        call(port, "POST", "/api/v1/courses", teacher, R"({"slug":"pve-course"})", 201).at("id").as_string());
    call(port, "POST", "/api/v1/courses/" + course + "/roster", teacher,
         json::serialize(json::object{{"csv", "username\npc-ann\npc-bob\npc-cat\n"}}), 200);

    // course.assign: three assignments, then ONE provisioning job for the three VMs.
    auto assign = call(port, "POST", "/api/v1/courses/" + course + "/assignments", teacher,
                       json::serialize(json::object{{"exercise_id", ex_id}}), 202);
    auto job = wait_job(server, std::string(assign.at("job").at("id").as_string()), teacher);
    ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
    ASSERT_TRUE(job.at("result").as_object().contains("provision_job_id")) << json::serialize(job);
    auto prov = wait_job(server, std::string(job.at("result").at("provision_job_id").as_string()), teacher);
    ASSERT_EQ(prov.at("state").as_string(), "succeeded") << json::serialize(prov);
    EXPECT_EQ(prov.at("kind").as_string(), "environments.provision");
    EXPECT_EQ(prov.at("params").at("environment_ids").as_array().size(), 3u) << json::serialize(prov);
    auto envs = by_student(port, teacher, ex_id);
    ASSERT_EQ(envs.size(), 3u);
    json::array ids;
    for (const auto& [student, e] : envs) {
        EXPECT_EQ(e.at("observed_state").as_string(), "stopped") << json::serialize(e);
        ids.push_back(e.at("id"));
    }
    EXPECT_EQ(guests(sim.stats()), vms_before + 3);

    // Two VMs destroyed; the class start makes them again (clone, then start) and starts the third.
    ASSERT_TRUE(class_action(server, teacher, "destroy", json::array{ids[0], ids[1]}));
    EXPECT_EQ(guests(sim.stats()), vms_before + 1);
    ASSERT_TRUE(class_action(server, teacher, "start", ids));
    for (const auto& [student, e] : by_student(port, teacher, ex_id)) {
        EXPECT_EQ(e.at("observed_state").as_string(), "running") << json::serialize(e);
        EXPECT_EQ(e.at("addresses").at("devices").as_array().size(), 1u) << json::serialize(e);
    }
    EXPECT_EQ(guests(sim.stats()), vms_before + 3);

    // A student's own start of an environment with no VM makes it too.
    ASSERT_TRUE(class_action(server, teacher, "destroy", json::array{ids[2]}));
    auto env3 =
        call(port, "GET", "/api/v1/environments/" + std::string(ids[2].as_string()), teacher, "", 200);
    auto student = std::string(env3.at("student_id").as_string());
    call(port, "PATCH", "/api/v1/users/" + student, teacher, R"({"password":"student-pass-3"})", 200);
    auto user = call(port, "GET", "/api/v1/users/" + student, teacher, "", 200);
    auto own = login(port, std::string(user.at("username").as_string()), "student-pass-3");
    auto act = call(port, "POST", "/api/v1/environments/" + std::string(ids[2].as_string()) + "/actions", own,
                    R"({"action":"start"})", 202);
    job = wait_job(server, std::string(act.at("job").at("id").as_string()), own);
    EXPECT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
    env3 = call(port, "GET", "/api/v1/environments/" + std::string(ids[2].as_string()), own, "", 200);
    EXPECT_EQ(env3.at("observed_state").as_string(), "running") << json::serialize(env3);

    // An assignment with `start`: one job makes the VM and starts it.
    auto dan = call(port, "POST", "/api/v1/users", teacher,
                    R"({"username":"pc-dan","role":"student","password":"student-pass-4"})", 201);
    auto as = call(port, "POST", "/api/v1/assignments", teacher,
                   json::serialize(json::object{
                       {"exercise_id", ex_id}, {"student_ids", json::array{dan.at("id")}}, {"start", true}}),
                   201);
    ASSERT_TRUE(as.as_object().contains("job")) << json::serialize(as);
    EXPECT_EQ(as.at("job").at("kind").as_string(), "environments.start");
    job = wait_job(server, std::string(as.at("job").at("id").as_string()), teacher);
    EXPECT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
    auto dans = by_student(port, teacher, ex_id).at(std::string(dan.at("id").as_string()));
    EXPECT_EQ(dans.at("observed_state").as_string(), "running") << json::serialize(dans);
    EXPECT_EQ(dans.at("desired_state").as_string(), "running") << json::serialize(dans);

    // Everything destroyed: only the template is left, no orphaned volume, no VM made twice at once.
    ids.push_back(dans.at("id"));
    ASSERT_TRUE(class_action(server, teacher, "destroy", ids));
    auto st = sim.stats();
    EXPECT_EQ(guests(st), vms_before) << json::serialize(st);
    EXPECT_EQ(st.at("orphaned_volumes").as_int64(), 0) << json::serialize(st);
    EXPECT_EQ(st.at("duplicate_names").as_int64(), 0) << json::serialize(st);
}
