// Child-process helpers of the runtime: output capture, deadlines, detached helpers found by their folder.
#include "lab/local/process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/error.hpp"
#include "core/ids.hpp"

namespace np::lab {
namespace {

using namespace std::chrono_literals;

TEST(Process, CapturesOutputAndExitStatus) {
    auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(r.status, 3);
    EXPECT_NE(r.output.find("out\n"), std::string::npos);
    EXPECT_NE(r.output.find("err\n"), std::string::npos);
    EXPECT_EQ(run_command({"cat"}, 5s, "fed on stdin").output, "fed on stdin");
    EXPECT_EQ(run_command({"pwd"}, 5s, {}, "/").output, "/\n");
    EXPECT_EQ(run_command({"/nonexistent/tool"}).status, 127);
}

TEST(Process, KillsAtTheDeadline) {
    auto started = std::chrono::steady_clock::now();
    auto r = run_command({"sleep", "30"}, 200ms);
    EXPECT_EQ(r.status, 124);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST(Process, RunCheckedNamesTheCommandAndItsOutput) {
    try {
        run_checked({"sh", "-c", "echo 'Cannot find device \"eth9\"' >&2; exit 1"});
        FAIL();
    } catch (const core::Error& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("`sh -c"), std::string::npos) << m;
        EXPECT_NE(m.find("exit 1"), std::string::npos) << m;
        EXPECT_NE(m.find("Cannot find device \"eth9\""), std::string::npos) << m;
    }
}

TEST(Process, DetachedHelpersAreFoundByTheirFolderAndTerminated) {
    auto dir = std::filesystem::temp_directory_path() / ("np-proc-" + core::random_hex(4));
    std::filesystem::create_directories(dir);
    pid_t pid = spawn_detached({"sleep", "60"}, dir, dir / "log");
    ASSERT_GT(pid, 0);
    EXPECT_TRUE(pid_alive(pid));
    EXPECT_NE(getsid(pid), getsid(0));  // its own session: survives our terminal going away
    std::vector<pid_t> found;
    for (int i = 0; i < 100 && found.empty(); ++i) {
        found = pids_with_cwd_under(dir);
        if (found.empty()) std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(found, std::vector<pid_t>{pid});
    terminate_pids(found, 1s);
    EXPECT_FALSE(pid_alive(pid));
    EXPECT_TRUE(pids_with_cwd_under(dir).empty());
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace np::lab
