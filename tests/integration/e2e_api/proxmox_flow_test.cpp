// Issue 10 end to end through the API, as root: `netpraxis serve` with lab.provider proxmox against
// `netpraxis pve-sim --gns3-guests` (every started VM runs a GNS3 simulator whose nodes are real VPCS and
// FRR). A teacher publishes examples/gns3-vpcs-router as a Proxmox exercise (a mismatched copy is refused at
// publish) and assigns it to 3 students; each environment is provisioned and started; one student addresses
// PC2 in the app's browser console (WebSocket to the GNS3 node's telnet console), grades with it open and
// gets 10/10, the others 4/10; stop/start keeps the saved config; reset
// restores the initial one; destroy leaves no VM but the template and 0 orphaned volumes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "gns3/zip.hpp"
#include "http_client.hpp"
#include "pve_sim_process.hpp"
#include "shell.hpp"
#include "ws_client.hpp"

using namespace np::testkit;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& cmd) {
    return np::testkit::shell_output(cmd);
}

// The namespaces of this test's GNS3 guests: pve-sim runs with --gns3-address-octet 71, so their lab prefix
// is "qz" (gns3_guests.cpp); other tests running at the same time make namespaces of their own.
std::set<std::string> netns(const std::string& prefix = "qz") {
    std::set<std::string> out;
    std::istringstream in(run("ip netns list 2>/dev/null"));
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix)) out.insert(line.substr(0, line.find(' ')));
    return out;
}

bool have_devices() {
    return geteuid() == 0 && access("/usr/lib/frr/frrinit.sh", X_OK) == 0 &&
           access("/usr/bin/vpcs", X_OK) == 0;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// `netpraxis pve-sim --gns3-guests` (fast profile), its labs removed by SIGTERM at the end. `octet`: the
// guests' addresses 127.<octet>.x.y and lab prefix (71: "qz"; 69: "qx"); node consoles apart from the local
// labs' VPCS (5000 up, every address) of other tests.
struct PveSim : PveSimProcess {
    explicit PveSim(const fs::path& state_dir, int octet = 71)
        : PveSimProcess(state_dir, {.address_octet = octet, .console_ports = "12000-12499"}) {}
};

// Reads a browser console (WebSocket, binary frames) until its text from `from` on contains `want`.
void read_until(WsClient& ws, std::string& text, const std::string& want, std::size_t from = 0) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (text.find(want, from) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        boost::system::error_code ec;
        auto [data, binary] = ws.receive(ec);
        if (ec) break;
        text += data;
    }
}

class Api {
 public:
    explicit Api(ServerProcess& s) : server(s), c(s.port()) {}
    ServerProcess& server;
    HttpClient c;
    using H = std::vector<std::pair<std::string, std::string>>;

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
        for (int i = 0; i < 3000; ++i) {
            auto j = call("GET", "/api/v1/jobs/" + id, h).as_object();
            auto st = j.at("state").as_string();
            if (st == "succeeded" || st == "failed" || st == "cancelled") return j;
            server.output();  // drains the server's log pipe (a full pipe would block its writes)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ADD_FAILURE() << "job " << id << " did not finish";
        return {};
    }
    // An action on an environment, waited for; returns the environment afterwards.
    json::object act(const std::string& env_id, const std::string& action, const H& h) {
        auto r = call("POST", "/api/v1/environments/" + env_id + "/actions", h,
                      json::serialize(json::object{{"action", action}}), 202);
        auto job = wait_job(std::string(r.at("job").at("id").as_string()), h);
        EXPECT_EQ(job.at("state").as_string(), "succeeded") << action << ": " << json::serialize(job);
        return call("GET", "/api/v1/environments/" + env_id, h, "", 200).as_object();
    }
    double grade(const std::string& assignment_id, const H& h) {
        auto ev = call("POST", "/api/v1/assignments/" + assignment_id + "/evaluations", h, "", 202);
        wait_job(std::string(ev.at("job").at("id").as_string()), h);
        auto result =
            call("GET", "/api/v1/evaluations/" + std::string(ev.at("evaluation").at("id").as_string()), h, "",
                 200);
        EXPECT_EQ(result.at("status").as_string(), "done") << json::serialize(result);
        EXPECT_EQ(result.at("max_score").as_double(), 10.0);
        return result.at("score").as_double();
    }
};

std::pair<std::string, std::uint16_t> console_of(const json::object& env, const std::string& node) {
    for (const auto& d : env.at("addresses").at("devices").as_array())
        if (d.at("node").as_string() == node)
            return {std::string(d.at("host").as_string()),
                    static_cast<std::uint16_t>(d.at("port").to_number<int>())};
    ADD_FAILURE() << "no device " << node << " in " << json::serialize(env);
    return {"", 0};
}

}  // namespace

TEST(E2eProxmox, ThreeStudentsOnPveSimWithGns3Guests) {
    if (!have_devices()) GTEST_SKIP() << "needs root, FRR and VPCS";
    const fs::path examples = fs::path(NETPRAXIS_SOURCE_DIR) / "examples";
    auto before = netns();
    auto sim_dir = fs::temp_directory_path() / ("np-e2e-pve-" + std::to_string(getpid()));
    std::optional<PveSim> sim;
    sim.emplace(sim_dir);
    ASSERT_GT(sim->port(), 0);
    HttpClient sim_http(static_cast<std::uint16_t>(sim->port()));
    auto sim_stats = [&] { return json::parse(sim_http.request("GET", "/sim/stats").body).as_object(); };
    // VMs that are not templates (a template on local storage may be copied to the nodes VMs go to)
    auto guests = [&] {
        auto st = sim_stats();
        return st.at("vms").as_int64() - st.at("templates").as_int64();
    };
    auto vms_before = guests();
    auto templates_before = sim_stats().at("templates").as_int64();
    {
        ServerProcess server({},
                             "lab:\n  provider: proxmox\n  state_dir: {dir}/labs\njobs:\n  concurrency: 4\n"
                             "pve:\n  url: http://127.0.0.1:" +
                                 std::to_string(sim->port()) +
                                 "\n  user: root@pam\n  password: rootpass\n  base_vmid: 100\n"
                                 "  vmid_range: 21000-21999\n  poll_interval: 100ms\n  projects_dir: " +
                                 examples.string() + "\n");
        Api t(server);
        auto teacher = t.login("admin", server.admin_password());
        auto spec = read_file(examples / "gns3-vpcs-router" / "exercise.yaml");
        const std::string project = "gns3-vpcs-router/gns3-vpcs-router.gns3project";

        // A spec whose devices do not match the project's nodes is refused at publish, naming both sides.
        auto bad_spec =
            std::regex_replace(spec, std::regex("  PC2: \\{platform: vpcs\\}"), "  PC9: {platform: vpcs}");
        auto bad = t.call(
            "POST", "/api/v1/exercises", teacher,
            json::serialize(json::object{
                {"slug", "gns3-bad"}, {"title", "Bad"}, {"spec", bad_spec}, {"gns3_project", project}}),
            201);
        auto bad_pub = t.c.request(
            "POST", "/api/v1/exercises/" + std::string(bad.at("id").as_string()) + "/versions/1/publish", "",
            teacher);
        EXPECT_EQ(bad_pub.status, 400) << bad_pub.body;
        EXPECT_NE(bad_pub.body.find("PC9"), std::string::npos) << bad_pub.body;
        EXPECT_NE(bad_pub.body.find("PC2"), std::string::npos) << bad_pub.body;

        auto ex = t.call(
            "POST", "/api/v1/exercises", teacher,
            json::serialize(json::object{
                {"slug", "gns3-vpcs-router"}, {"title", "GNS3"}, {"spec", spec}, {"gns3_project", project}}),
            201);
        auto ex_id = std::string(ex.at("id").as_string());
        t.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);

        std::vector<std::string> student_ids, assignments, envs;
        std::vector<Api::H> students;
        for (int i = 1; i <= 3; ++i) {
            auto name = "pve-student" + std::to_string(i);
            student_ids.push_back(std::string(
                t.call("POST", "/api/v1/users", teacher,
                       json::serialize(json::object{{"username", name},
                                                    {"role", "student"},
                                                    {"password", "student-pass-" + std::to_string(i)}}),
                       201)
                    .at("id")
                    .as_string()));
        }
        json::array ids;
        for (const auto& s : student_ids) ids.push_back(json::value(s));
        auto as = t.call("POST", "/api/v1/assignments", teacher,
                         json::serialize(json::object{{"exercise_id", ex_id}, {"student_ids", ids}}), 201);
        ASSERT_EQ(as.at("items").as_array().size(), 3u);
        for (int i = 0; i < 3; ++i) {
            students.push_back(
                t.login("pve-student" + std::to_string(i + 1), "student-pass-" + std::to_string(i + 1)));
            assignments.push_back(
                std::string(as.at("items").at(static_cast<std::size_t>(i)).at("id").as_string()));
            auto env = t.call("GET", "/api/v1/assignments/" + assignments.back(), students.back(), "", 200);
            envs.push_back(std::string(env.at("environment").at("id").as_string()));
        }
        // The three start together: one template build, three linked clones.
        std::vector<std::string> jobs;
        for (int i = 0; i < 3; ++i)
            jobs.push_back(std::string(
                t.call("POST", "/api/v1/environments/" + envs[static_cast<std::size_t>(i)] + "/actions",
                       students[static_cast<std::size_t>(i)], R"({"action":"start"})", 202)
                    .at("job")
                    .at("id")
                    .as_string()));
        for (int i = 0; i < 3; ++i) {
            auto j = t.wait_job(jobs[static_cast<std::size_t>(i)], students[static_cast<std::size_t>(i)]);
            ASSERT_EQ(j.at("state").as_string(), "succeeded") << json::serialize(j);
        }
        std::vector<json::object> env_rows;
        for (int i = 0; i < 3; ++i) {
            env_rows.push_back(t.call("GET", "/api/v1/environments/" + envs[static_cast<std::size_t>(i)],
                                      students[static_cast<std::size_t>(i)], "", 200)
                                   .as_object());
            EXPECT_EQ(env_rows.back().at("observed_state").as_string(), "running")
                << json::serialize(env_rows.back());
            EXPECT_EQ(env_rows.back().at("addresses").at("devices").as_array().size(), 3u);
        }
        EXPECT_EQ(guests(), vms_before + 3);                                      // three environments
        EXPECT_GE(sim_stats().at("templates").as_int64(), templates_before + 1);  // the template (and copies)

        // Student 1 addresses PC2 in the browser console (the app's WebSocket, bridged to the GNS3 node's
        // telnet console) and saves; the others leave it as handed out.
        EXPECT_NE(console_of(env_rows[0], "PC2").second, 0);
        {
            WsClient ws(server.port(), "/api/v1/environments/" + envs[0] + "/nodes/PC2/console", students[0]);
            ASSERT_TRUE(ws.open()) << ws.status() << " " << ws.response.body();
            std::string text;
            read_until(ws, text, ">");  // the hub wakes the console: its prompt comes without typing
            ASSERT_TRUE(ws.send("ip 10.0.2.10/24 10.0.2.1\r", true));
            read_until(ws, text, "gateway 10.0.2.1");
            read_until(ws, text, ">", text.find("gateway 10.0.2.1"));
            EXPECT_NE(text.find("10.0.2.10"), std::string::npos) << text;
            auto mark = text.size();
            ASSERT_TRUE(ws.send("save\r", true));
            read_until(ws, text, "done", mark);
            read_until(ws, text, ">", text.find("done", mark));
            EXPECT_NE(text.find("done", mark), std::string::npos) << text;
            EXPECT_EQ(text.find('\xff'), std::string::npos) << "telnet negotiation reached the browser";
            // Graded with the console open: the grader gets the device (the console pauses), the score is
            // exact, then the console is back on the same device.
            EXPECT_EQ(t.grade(assignments[0], students[0]), 10.0);
            mark = text.size();
            read_until(ws, text, "grading done", mark);
            EXPECT_NE(text.find("grading in progress", mark), std::string::npos) << text.substr(mark);
            auto back = text.find("grading done", mark);
            ASSERT_NE(back, std::string::npos) << text.substr(mark);
            read_until(ws, text, ">", back);
            mark = text.size();
            ASSERT_TRUE(ws.send("show ip\r", true));
            read_until(ws, text, "10.0.2.10", mark);
            EXPECT_NE(text.find("10.0.2.10", mark), std::string::npos) << text.substr(back);
        }
        EXPECT_EQ(t.grade(assignments[1], students[1]), 4.0);
        EXPECT_EQ(t.grade(assignments[2], students[2]), 4.0);

        // Stop and start keep what was saved; reset goes back to the exercise's initial state.
        EXPECT_EQ(t.act(envs[0], "stop", students[0]).at("observed_state").as_string(), "stopped");
        EXPECT_EQ(t.act(envs[0], "start", students[0]).at("observed_state").as_string(), "running");
        EXPECT_EQ(t.grade(assignments[0], students[0]), 10.0);
        EXPECT_EQ(t.act(envs[0], "reset", students[0]).at("observed_state").as_string(), "running");
        EXPECT_EQ(t.grade(assignments[0], students[0]), 4.0);

        for (int i = 0; i < 3; ++i)
            EXPECT_EQ(
                t.act(envs[static_cast<std::size_t>(i)], "destroy", teacher).at("observed_state").as_string(),
                "absent");
        EXPECT_EQ(guests(), vms_before);  // only the template (and its copies) is left
        EXPECT_EQ(sim_stats().at("orphaned_volumes").as_int64(), 0);
    }
    // Every device namespace the guests made is gone once pve-sim has stopped.
    sim.reset();
    for (const auto& n : netns()) EXPECT_TRUE(before.count(n)) << "namespace left behind: " << n;
    std::error_code ec;
    fs::remove_all(sim_dir, ec);
}

// Issues 10 and 11: the project uploaded through the API, with no pve.projects_dir at all. The exercise
// arrives as a zip of examples/gns3-vpcs-router; a draft whose spec does not match the uploaded project is
// refused at publish exactly as a projects_dir one; the student's VM is built from the stored project and
// grades exactly.
TEST(E2eProxmox, AnUploadedProjectIsBuiltFromTheStore) {
    if (!have_devices()) GTEST_SKIP() << "needs root, FRR and VPCS";
    const fs::path example = fs::path(NETPRAXIS_SOURCE_DIR) / "examples" / "gns3-vpcs-router";
    auto before = netns("qx");
    auto sim_dir = fs::temp_directory_path() / ("np-e2e-pve-up-" + std::to_string(getpid()));
    std::optional<PveSim> sim;
    sim.emplace(sim_dir, 69);
    ASSERT_GT(sim->port(), 0);
    HttpClient sim_http(static_cast<std::uint16_t>(sim->port()));
    auto vms = [&] { return json::parse(sim_http.request("GET", "/sim/stats").body).at("vms").as_int64(); };
    const auto vms_before = vms();
    {
        ServerProcess server({},
                             "lab:\n  provider: proxmox\n  state_dir: {dir}/labs\n"
                             "pve:\n  url: http://127.0.0.1:" +
                                 std::to_string(sim->port()) +
                                 "\n  user: root@pam\n  password: rootpass\n  base_vmid: 100\n"
                                 "  vmid_range: 22000-22999\n  poll_interval: 100ms\n");
        Api t(server);
        auto teacher = t.login("admin", server.admin_password());
        np::gns3::Files files;
        for (const auto& e : fs::directory_iterator(example))
            files["gns3-vpcs-router/" + e.path().filename().string()] = read_file(e.path());
        const auto zip = np::gns3::write_zip(files);
        Api::H upload = teacher;
        upload.emplace_back("Content-Type", "application/zip");
        auto imported = t.call("POST", "/api/v1/exercises/import", upload, zip, 201);
        auto ex_id = std::string(imported.at("id").as_string());
        EXPECT_EQ(imported.at("version").at("gns3_project").as_string(), "gns3-vpcs-router.gns3project");

        // Version 2 (a spec naming PC9, the project carried over) is refused at publish, naming both sides.
        auto spec = read_file(example / "exercise.yaml");
        auto bad_spec =
            std::regex_replace(spec, std::regex("  PC2: \\{platform: vpcs\\}"), "  PC9: {platform: vpcs}");
        t.call("POST", "/api/v1/exercises/" + ex_id + "/versions", teacher,
               json::serialize(
                   json::object{{"spec", bad_spec}, {"gns3_project", "gns3-vpcs-router.gns3project"}}),
               201);
        auto bad_pub = t.c.request("POST", "/api/v1/exercises/" + ex_id + "/versions/2/publish", "", teacher);
        EXPECT_EQ(bad_pub.status, 400) << bad_pub.body;
        EXPECT_NE(bad_pub.body.find("PC9"), std::string::npos) << bad_pub.body;
        EXPECT_NE(bad_pub.body.find("PC2"), std::string::npos) << bad_pub.body;
        // A project that is not a portable one cannot even be uploaded.
        auto junk =
            t.c.request("PUT", "/api/v1/exercises/" + ex_id + "/versions/2/project", "not a zip", upload);
        EXPECT_EQ(junk.status, 400) << junk.body;
        t.call("POST", "/api/v1/exercises/" + ex_id + "/versions/1/publish", teacher, "", 200);

        auto sid = std::string(
            t.call("POST", "/api/v1/users", teacher,
                   R"({"username":"up-student","role":"student","password":"student-pass-1"})", 201)
                .at("id")
                .as_string());
        auto as = t.call("POST", "/api/v1/assignments", teacher,
                         json::serialize(json::object{{"exercise_id", ex_id},
                                                      {"student_ids", json::array{json::value(sid)}}}),
                         201);
        auto student = t.login("up-student", "student-pass-1");
        auto assignment = std::string(as.at("items").at(0).at("id").as_string());
        auto env_id = std::string(t.call("GET", "/api/v1/assignments/" + assignment, student, "", 200)
                                      .at("environment")
                                      .at("id")
                                      .as_string());
        auto env = t.act(env_id, "start", student);
        EXPECT_EQ(env.at("observed_state").as_string(), "running") << json::serialize(env);
        EXPECT_EQ(env.at("addresses").at("devices").as_array().size(), 3u);
        EXPECT_EQ(vms(), vms_before + 2);  // the template built from the stored project, and the student's VM
        EXPECT_EQ(t.grade(assignment, student), 4.0);
        EXPECT_EQ(t.act(env_id, "destroy", teacher).at("observed_state").as_string(), "absent");
        EXPECT_EQ(vms(), vms_before + 1);  // only the template
    }
    sim.reset();
    for (const auto& n : netns("qx")) EXPECT_TRUE(before.count(n)) << "namespace left behind: " << n;
    std::error_code ec;
    fs::remove_all(sim_dir, ec);
}
