// The `netpraxis exercise lint` and `netpraxis grade` commands, run as the built binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "console_emulator.hpp"

namespace np::eval {
namespace {

struct Result {
    int rc = -1;
    std::string out;
};

Result run(const std::string& args) {
    std::string cmd = std::string(NETPRAXIS_BINARY) + " " + args + " 2>&1";
    Result r;
    FILE* p = popen(cmd.c_str(), "r");
    std::array<char, 4096> buf{};
    std::size_t n = 0;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    int status = pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

class TempDir {
 public:
    TempDir() : path_(std::filesystem::temp_directory_path() / ("npev-cli-" + std::to_string(getpid()))) {
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path_ / name) << text;
    }
    std::string str() const { return path_.string(); }

 private:
    std::filesystem::path path_;
};

TEST(Cli, LintAcceptsTheExamples) {
    Result r = run("exercise lint " + std::string(NETPRAXIS_SOURCE_DIR) + "/examples/ospf-two-lans " +
                   NETPRAXIS_SOURCE_DIR + "/examples/vpcs-addressing");
    EXPECT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("ospf-two-lans: 0 error(s), 0 warning(s)"), std::string::npos) << r.out;
}

TEST(Cli, LintReportsEveryErrorWithPathAndLine) {
    TempDir dir;
    dir.write("exercise.yaml", R"(id: broken
variables:
  unused: {int: {min: 1, max: 3}}
devices:
  r1: {platform: frr}
checks:
  - id: a
    on: r1
    run: show ip route
    expect:
      all:
        - match: ok
        - match: '(unclosed'
  - id: b
    on: r1
    run: show version
    expect: {contains: x}
    requires: [nope]
)");
    dir.write("instructions.md", "Hello {{ student }}\n");
    Result r = run("exercise lint " + dir.str());
    EXPECT_EQ(r.rc, 1) << r.out;
    EXPECT_NE(r.out.find("exercise.yaml:13: error: checks[0].expect.all[1].match: bad regex"),
              std::string::npos)
        << r.out;
    EXPECT_NE(r.out.find("warning: checks[1].requires: requires 'nope'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("exercise.yaml:3: warning: variables.unused: variable 'unused' is never used"),
              std::string::npos)
        << r.out;
}

TEST(Cli, GradePrintsTheJsonReport) {
    testing::ConsoleScript s;
    s.prompt = "R1#";
    s.outputs["show ip interface brief"] =
        "Interface              IP-Address      OK? Method Status                Protocol\n"
        "GigabitEthernet0/0     10.0.0.1        YES manual up                    up\n";
    testing::ConsoleEmulator console(s);
    TempDir dir;
    dir.write("exercise.yaml", R"(id: cli
devices: {r1: {platform: cisco_ios}}
checks:
  - {id: up, on: r1, run: show ip interface brief, expect: {match: 'Gi\S+\s+10\.0\.0\.1 .* up\s+up'}, points: 2}
  - {id: gi1, on: r1, run: show ip interface brief, expect: {contains: 'GigabitEthernet0/1'}, hidden: true}
grading: {settle: off}  # an emulated console never changes: one round
)");
    dir.write("instructions.md", "Bring Gi0/0 up.\n");
    dir.write("inventory.yaml",
              "devices:\n  r1: {platform: cisco_ios, transport: telnet, host: 127.0.0.1, port: " +
                  std::to_string(console.port()) + "}\n");
    Result r = run("--log-level error grade --exercise " + dir.str() + " --inventory " + dir.str() +
                   "/inventory.yaml --student alice --json --student-view");
    EXPECT_EQ(r.rc, 3) << r.out;  // not every check passed
    boost::json::value v = boost::json::parse(r.out);
    EXPECT_EQ(v.at("score").as_int64(), 2);
    EXPECT_EQ(v.at("max_score").as_int64(), 3);
    const auto& checks = v.at("checks").as_array();
    ASSERT_EQ(checks.size(), 2u);
    EXPECT_EQ(checks[0].at("status").as_string(), "passed");
    EXPECT_EQ(checks[1].at("status").as_string(), "failed");
    EXPECT_EQ(checks[1].at("title").as_string(), "Hidden check");
    EXPECT_EQ(checks[1].at("evidence").as_string(), "");
    EXPECT_FALSE(v.at("transcript").as_array().empty());  // shared with a visible check: kept
    EXPECT_EQ(v.at("settle").at("rounds").as_int64(), 1);
    EXPECT_EQ(v.at("settle").at("failing").as_array().at(0).as_string(), "hidden-1");  // concealed

    Result text = run("--log-level error grade --exercise " + dir.str() + " --inventory " + dir.str() +
                      "/inventory.yaml");
    EXPECT_NE(text.out.find("[PASS] 2/2"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("Score: 2 / 3"), std::string::npos) << text.out;
}

TEST(Cli, GradeRejectsABadInventoryWithThePath) {
    TempDir dir;
    dir.write("inventory.yaml", "devices:\n  r1: {platform: frr, transport: carrier-pigeon}\n");
    Result r = run("grade --exercise " + std::string(NETPRAXIS_SOURCE_DIR) +
                   "/examples/ospf-two-lans --inventory " + dir.str() + "/inventory.yaml");
    EXPECT_NE(r.rc, 0);
    EXPECT_NE(r.out.find("devices.r1.transport: line 2: unknown transport 'carrier-pigeon'"),
              std::string::npos)
        << r.out;
}

}  // namespace
}  // namespace np::eval
