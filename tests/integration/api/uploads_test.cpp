// Exercise files uploaded through `netpraxis serve` (issues 10 and 11): a draft's GNS3 project as a raw body
// (stored, listed, downloaded byte for byte, carried to the next version, immutable once published), the
// upload routes' own body limit (above server.body_limit, 413 above exercises.max_file), and whole exercises
// as zips of their folder (created, then versioned; config files inlined), hostile zips refused with the
// problem named and nothing stored.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gns3/zip.hpp"
#include "http_client.hpp"

using namespace np::testkit;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

const fs::path kExamples = fs::path(NETPRAXIS_SOURCE_DIR) / "examples";

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// A zip of an example folder, its files under `top` ("" or "name/").
std::string zip_of(const std::string& example, const std::string& top) {
    np::gns3::Files files;
    for (const auto& e : fs::directory_iterator(kExamples / example))
        files[top + e.path().filename().string()] = read_file(e.path());
    return np::gns3::write_zip(files);
}

class Uploads : public ::testing::Test {
 protected:
    static void SetUpTestSuite() {
        // Upload routes take up to 2 MiB while every other route keeps a 64 KiB body limit.
        server_ = new ServerProcess({},
                                    "server:\n  body_limit: 65536\nexercises:\n  max_file: 2097152\n"
                                    "  zip_max_entries: 50\n  zip_max_total: 4194304\n");
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    static ServerProcess* server_;

    HttpClient c{server_->port()};
    Headers teacher() {
        auto r = c.request(
            "POST", "/api/v1/auth/login",
            json::serialize(json::object{{"username", "admin"}, {"password", server_->admin_password()}}));
        EXPECT_EQ(r.status, 200) << r.body;
        return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    }
    Headers student(const Headers& t, const std::string& name) {
        auto made = c.request("POST", "/api/v1/users",
                              json::serialize(json::object{
                                  {"username", name}, {"role", "student"}, {"password", "student-pass-1"}}),
                              t);
        EXPECT_EQ(made.status, 201) << made.body;
        auto r = c.request("POST", "/api/v1/auth/login",
                           json::serialize(json::object{{"username", name}, {"password", "student-pass-1"}}));
        return {{"Authorization", "Bearer " + std::string(json::parse(r.body).at("token").as_string())}};
    }
    static Headers with_zip(Headers h) {
        h.emplace_back("Content-Type", "application/zip");
        return h;
    }
    std::int64_t exercise_count(const Headers& t) {
        return static_cast<std::int64_t>(
            json::parse(c.request("GET", "/api/v1/exercises?limit=500", "", t).body)
                .at("items")
                .as_array()
                .size());
    }
};
ServerProcess* Uploads::server_ = nullptr;

TEST_F(Uploads, AProjectIsStoredWithItsDraftAndServedBack) {
    auto t = teacher();
    auto spec = read_file(kExamples / "gns3-vpcs-router" / "exercise.yaml");
    auto ex =
        c.request("POST", "/api/v1/exercises",
                  json::serialize(json::object{{"slug", "up-gns3"}, {"title", "GNS3"}, {"spec", spec}}), t);
    ASSERT_EQ(ex.status, 201) << ex.body;
    const std::string base = "/api/v1/exercises/up-gns3/versions/1";
    const auto project = read_file(kExamples / "gns3-vpcs-router" / "gns3-vpcs-router.gns3project");

    auto up = c.request("PUT", base + "/project", project, with_zip(t));
    ASSERT_EQ(up.status, 200) << up.body;
    auto a = json::parse(up.body).as_object();
    EXPECT_EQ(a.at("name").as_string(), "lab.gns3project");
    EXPECT_EQ(a.at("size").as_int64(), static_cast<std::int64_t>(project.size()));
    EXPECT_EQ(a.at("sha256").as_string().size(), 64u);
    EXPECT_EQ(json::parse(c.request("GET", base, "", t).body).at("gns3_project").as_string(),
              "lab.gns3project");
    auto files = json::parse(c.request("GET", base + "/files", "", t).body).at("items").as_array();
    ASSERT_EQ(files.size(), 1u);
    auto down = c.request("GET", base + "/files/lab.gns3project", "", t);
    EXPECT_EQ(down.status, 200);
    EXPECT_TRUE(down.body == project) << "downloaded bytes differ";
    EXPECT_NE(down.header("content-disposition").find("lab.gns3project"), std::string::npos);

    // Refusals name the problem and store nothing.
    auto s = student(t, "up-student");
    EXPECT_EQ(c.request("PUT", base + "/project", project, with_zip(s)).status, 403);
    auto junk = c.request("PUT", base + "/project", "this is not a zip", with_zip(t));
    EXPECT_EQ(junk.status, 400) << junk.body;
    EXPECT_NE(junk.body.find("gns3_project"), std::string::npos) << junk.body;
    auto no_gns3 =
        c.request("PUT", base + "/project", np::gns3::write_zip({{"readme.txt", "x"}}), with_zip(t));
    EXPECT_EQ(no_gns3.status, 400) << no_gns3.body;
    EXPECT_NE(no_gns3.body.find("no .gns3 topology file"), std::string::npos) << no_gns3.body;
    auto bad_name = c.request("PUT", base + "/project?name=..%2Fx.gns3project", project, with_zip(t));
    EXPECT_EQ(bad_name.status, 400) << bad_name.body;
    EXPECT_EQ(c.request("PUT", base + "/project", project, {t[0], {"Content-Type", "text/plain"}}).status,
              400);
    EXPECT_EQ(c.request("GET", base + "/files/lab.gns3project", "", t).body, project);

    // Larger than server.body_limit (64 KiB) is fine on this route; larger than exercises.max_file is 413.
    std::string pad(300 * 1024, '\0');
    std::uint32_t x = 12345;  // pseudo-random bytes: deflate cannot shrink them
    for (auto& ch : pad) {
        x = x * 1664525u + 1013904223u;
        ch = static_cast<char>(x >> 24);
    }
    auto big = np::gns3::write_zip({{"big.gns3", "{}"}, {"images/pad.bin", pad}});
    ASSERT_GT(big.size(), 65536u);
    auto ok = c.request("PUT", base + "/project?name=big.gns3project", big, with_zip(t));
    EXPECT_EQ(ok.status, 200) << ok.body;
    // (its own connection: the server answers 413 and closes it)
    auto huge = HttpClient(server_->port())
                    .request("PUT", base + "/project", std::string(2097152 + 1, 'x'), with_zip(t));
    EXPECT_EQ(huge.status, 413) << huge.body;
    HttpClient fresh(server_->port());
    auto json_big =
        fresh.request("POST", "/api/v1/exercises",
                      json::serialize(json::object{{"slug", "x"}, {"title", std::string(70000, 'a')}}), t);
    EXPECT_EQ(json_big.status, 413) << "other routes keep server.body_limit";

    // A new version carries the files over (the bytes are shared); a published version is immutable.
    ASSERT_EQ(c.request("PUT", base + "/project", project, with_zip(t)).status, 200);
    auto v2 =
        c.request("POST", "/api/v1/exercises/up-gns3/versions",
                  json::serialize(json::object{{"spec", spec}, {"gns3_project", "lab.gns3project"}}), t);
    ASSERT_EQ(v2.status, 201) << v2.body;
    auto files2 = json::parse(c.request("GET", "/api/v1/exercises/up-gns3/versions/2/files", "", t).body)
                      .at("items")
                      .as_array();
    EXPECT_EQ(files2.size(), 2u);  // lab.gns3project and big.gns3project
    EXPECT_EQ(c.request("GET", "/api/v1/exercises/up-gns3/versions/2/files/lab.gns3project", "", t).body,
              project);
    ASSERT_EQ(c.request("POST", base + "/publish", "", t).status, 200);
    auto late = c.request("PUT", base + "/project", project, with_zip(t));
    EXPECT_EQ(late.status, 409) << late.body;
}

TEST_F(Uploads, AZipCreatesAnExerciseThenVersionsIt) {
    auto t = teacher();
    auto first =
        c.request("POST", "/api/v1/exercises/import", zip_of("ospf-two-lans", "ospf-two-lans/"), with_zip(t));
    ASSERT_EQ(first.status, 201) << first.body;
    auto o = json::parse(first.body).as_object();
    EXPECT_EQ(o.at("slug").as_string(), "ospf-two-lans");
    EXPECT_TRUE(o.at("created").as_bool());
    auto v = o.at("version").as_object();
    EXPECT_EQ(v.at("version").as_int64(), 1);
    EXPECT_EQ(v.at("instructions").as_string(), read_file(kExamples / "ospf-two-lans" / "instructions.md"));
    // The topology's config files are inlined: the stored topology names no file of the zip.
    auto topology = std::string(v.at("topology").as_string());
    EXPECT_NE(topology.find("ip address 10.255.12.1/30"), std::string::npos) << topology;
    EXPECT_EQ(topology.find("r1.conf"), std::string::npos) << topology;

    auto again = c.request("POST", "/api/v1/exercises/import", zip_of("ospf-two-lans", ""), with_zip(t));
    ASSERT_EQ(again.status, 201) << again.body;
    EXPECT_FALSE(json::parse(again.body).at("created").as_bool());
    EXPECT_EQ(json::parse(again.body).at("version").at("version").as_int64(), 2);

    // A GNS3 exercise: its project is stored with the version, under the name exercise.yaml gives it.
    auto gns3 = c.request("POST", "/api/v1/exercises/import", zip_of("gns3-vpcs-router", ""), with_zip(t));
    ASSERT_EQ(gns3.status, 201) << gns3.body;
    EXPECT_EQ(json::parse(gns3.body).at("version").at("gns3_project").as_string(),
              "gns3-vpcs-router.gns3project");
    EXPECT_EQ(
        c.request("GET", "/api/v1/exercises/gns3-vpcs-router/versions/1/files/gns3-vpcs-router.gns3project",
                  "", t)
            .body,
        read_file(kExamples / "gns3-vpcs-router" / "gns3-vpcs-router.gns3project"));

    auto s = student(t, "zip-student");
    EXPECT_EQ(c.request("POST", "/api/v1/exercises/import", zip_of("ospf-two-lans", ""), with_zip(s)).status,
              403);
}

TEST_F(Uploads, HostileZipsAreRefusedNamingTheProblem) {
    auto t = teacher();
    const auto before = exercise_count(t);
    auto spec = read_file(kExamples / "ospf-two-lans" / "exercise.yaml");
    auto expect = [&](const std::string& zip, int status, const std::string& part) {
        auto r = c.request("POST", "/api/v1/exercises/import", zip, with_zip(t));
        EXPECT_EQ(r.status, status) << part << ": " << r.body;
        EXPECT_NE(r.body.find(part), std::string::npos) << r.body;
    };
    expect(np::gns3::write_zip({{"exercise.yaml", spec}, {"../../etc/cron.d/x", "x"}}), 400, "climbs out");
    expect(np::gns3::write_zip({{"exercise.yaml", spec}, {"/etc/passwd", "x"}}), 400, "absolute path");
    expect(np::gns3::write_zip({{"exercise.yaml", spec}, {"caf\xe9.md", "latin-1 name"}}), 400, "not UTF-8");
    expect(np::gns3::write_zip({{"exercise.yaml", spec}, {"zeros.bin", std::string(5u << 20, '\0')}}), 413,
           "inflates to more than");
    np::gns3::Files many{{"exercise.yaml", spec}};
    for (int i = 0; i < 60; ++i) many["f" + std::to_string(i)] = "x";
    expect(np::gns3::write_zip(many), 413, "more than 50 entries");
    expect(np::gns3::write_zip({{"readme.md", "x"}}), 400, "exercise.yaml");
    expect("not a zip at all", 400, "not a zip archive");
    // A file the spec names must be in the zip, inside it.
    expect(np::gns3::write_zip({{"exercise.yaml", spec}, {"instructions.md", "x"}}), 400, "topology.yaml");
    expect(np::gns3::write_zip({{"exercise.yaml", spec},
                                {"instructions.md", "x"},
                                {"topology.yaml", read_file(kExamples / "ospf-two-lans" / "topology.yaml")}}),
           400, "r1.conf");
    auto escaping = spec;
    escaping.replace(escaping.find("instructions.md"), 15, "../secret.md");
    expect(np::gns3::write_zip({{"exercise.yaml", escaping}}), 400, "instructions");
    expect(np::gns3::write_zip({{"exercise.yaml", "id: [unclosed"}}), 400, "spec");
    EXPECT_EQ(exercise_count(t), before) << "a refused zip stored something";
}

}  // namespace
