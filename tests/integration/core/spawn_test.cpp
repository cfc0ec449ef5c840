// core::spawn (issue 14): a program started in a network namespace sees what `ip netns exec` would show it —
// the namespace's links, a /sys of that namespace, /etc/netns/NAME's files over /etc — and the host keeps its
// own; errors name the step and the namespace. Needs root (a namespace of this process's own, removed after).
#include "core/spawn.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "core/error.hpp"

namespace np::core {
namespace {

namespace fs = std::filesystem;

struct Ran {
    int status = -1;
    std::string output;
};

// Runs argv (in `netns` when given) and collects its output and exit status.
Ran run(std::vector<std::string> argv, const std::string& netns = "") {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    SpawnRequest r;
    r.argv = std::move(argv);
    r.env = {std::string("PATH=") + kCommandPath, "LC_ALL=C"};
    r.netns = netns;
    r.output_fd = fds[1];
    pid_t pid = -1;
    try {
        pid = spawn(r);
    } catch (...) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw;
    }
    ::close(fds[1]);
    Ran out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
        out.output.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int st = 0;
    EXPECT_EQ(::waitpid(pid, &st, 0), pid);
    out.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return out;
}

std::string sh_out(const std::string& cmd) {
    std::string out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        char buf[4096];
        for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        ::pclose(p);
    }
    return out;
}

TEST(Spawn, RunsAProgramWithOutputStatusAndItsOwnGroup) {
    auto r = run({"sh", "-c", "echo out; echo err >&2; ps -o pgid= -p $$ | tr -d ' '; echo $$; exit 3"});
    EXPECT_EQ(r.status, 3);
    std::istringstream lines(r.output);
    std::string out, err, pgid, pid;
    std::getline(lines, out);
    std::getline(lines, err);
    std::getline(lines, pgid);
    std::getline(lines, pid);
    EXPECT_EQ(out, "out");
    EXPECT_EQ(err, "err");
    EXPECT_EQ(pgid, pid) << r.output;  // a process group of its own
}

TEST(Spawn, TheChildGetsOnlyStdioAndDefaultSignals) {
    int keep[2];
    ASSERT_EQ(::pipe(keep), 0);  // not close-on-exec: must still not reach the child
    ::signal(SIGPIPE, SIG_IGN);  // as in netpraxis serve
    auto r = run({"sh", "-c", "ls /proc/self/fd; grep SigIgn /proc/self/status"});
    ::close(keep[0]);
    ::close(keep[1]);
    EXPECT_EQ(r.status, 0);
    // ls's own descriptors: 0 1 2 and the one it reads /proc/self/fd with.
    std::istringstream in(r.output);
    int fds = 0;
    std::string line;
    while (std::getline(in, line) && line.rfind("SigIgn", 0) != 0) ++fds;
    EXPECT_LE(fds, 4) << r.output;
    // SIGPIPE (bit 13) is back to the default for the command.
    auto pos = r.output.find("SigIgn:");
    ASSERT_NE(pos, std::string::npos);
    unsigned long long ign = std::stoull(r.output.substr(pos + 7), nullptr, 16);
    EXPECT_EQ(ign & (1ULL << (SIGPIPE - 1)), 0ULL) << r.output;
}

// What lab::run_command asks for: stdin from the caller's pipe, a working directory, and death with the
// thread that waits for the command (a server killed mid-start leaves no frrinit.sh running on its own).
TEST(Spawn, InputWorkingDirectoryAndDeathWithTheCaller) {
    int in[2], out[2];
    ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    SpawnRequest r;
    r.argv = {"sh", "-c", "cat; pwd"};
    r.env = {std::string("PATH=") + kCommandPath};
    r.input_fd = in[0];
    r.output_fd = out[1];
    r.cwd = "/usr";
    pid_t pid = spawn(r);
    ::close(in[0]);
    ::close(out[1]);
    ASSERT_EQ(::write(in[1], "fed\n", 4), 4);
    ::close(in[1]);
    std::string text;
    char buf[256];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
    ::close(out[0]);
    int st = 0;
    ASSERT_EQ(::waitpid(pid, &st, 0), pid);
    EXPECT_EQ(text, "fed\n/usr\n");
    r = {};
    r.argv = {"true"};
    r.cwd = "/no/such/dir";
    try {
        spawn(r);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("chdir"), std::string::npos) << e.what();
    }
    // The thread that started it ends: the command is killed (it would sleep 30 s otherwise).
    r = {};
    r.argv = {"sleep", "30"};
    r.die_with_caller = true;
    pid_t sleeper = -1;
    std::thread([&] { sleeper = spawn(r); }).join();
    ASSERT_GT(sleeper, 0);
    ASSERT_EQ(::waitpid(sleeper, &st, 0), sleeper);
    EXPECT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) << st;
}

TEST(Spawn, MissingProgramAndNamespaceAreNamed) {
    try {
        run({"no-such-program-np"});
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Code::unavailable);
        EXPECT_NE(std::string(e.what()).find("no-such-program-np: not found"), std::string::npos) << e.what();
    }
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    try {
        run({"true"}, "np-no-such-ns");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Code::unavailable);
        EXPECT_NE(std::string(e.what()).find("network namespace 'np-no-such-ns'"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(run({"true"}, "../x"), Error);
}

class SpawnNetns : public ::testing::Test {
 protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
        ns = "npsp" + std::to_string(::getpid());
        ASSERT_EQ(std::system(("ip netns add " + ns).c_str()), 0);
        ASSERT_EQ(std::system(("ip -n " + ns + " link add npspd0 type veth peer name npspd1").c_str()), 0);
        fs::create_directories("/etc/netns/" + ns);
        std::ofstream("/etc/netns/" + ns + "/hosts") << "10.9.9.9 only-in-" << ns << "\n";
    }
    void TearDown() override {
        if (ns.empty()) return;
        std::error_code ec;
        fs::remove_all("/etc/netns/" + ns, ec);
        std::system(("ip netns del " + ns + " 2>/dev/null").c_str());
    }
    std::string ns;
};

TEST_F(SpawnNetns, SeesWhatIpNetnsExecShows) {
    const std::string cmd = "ip -o link | cut -d: -f2; ls /sys/class/net; cat /etc/hosts";
    auto mine = run({"sh", "-c", cmd}, ns);
    auto ip = run({"ip", "netns", "exec", ns, "sh", "-c", cmd});
    EXPECT_EQ(mine.status, 0) << mine.output;
    EXPECT_EQ(mine.output, ip.output);
    EXPECT_NE(mine.output.find("npspd0"), std::string::npos) << mine.output;
    EXPECT_NE(mine.output.find("only-in-" + ns), std::string::npos) << mine.output;
    // The host keeps its own view: no mount leaked back, no dummy link here.
    EXPECT_EQ(sh_out("ls /sys/class/net").find("npspd0"), std::string::npos);
    EXPECT_EQ(sh_out("cat /etc/hosts").find("only-in-" + ns), std::string::npos);
}

// Issue 14: a command's mount namespace is copied from a snapshot without the network namespace files of
// /run/netns (a class's 600 node namespaces made every command's copy twice as expensive), so it neither
// copies nor pins other labs' namespaces; it still sees its own namespace's sysfs and the caller's directory.
TEST_F(SpawnNetns, CommandsCopyNoNetworkNamespaceMounts) {
    std::string other = ns + "b";
    ASSERT_EQ(std::system(("ip netns add " + other).c_str()), 0);
    auto r = run({"sh", "-c", "grep -c ' /run/netns' /proc/self/mountinfo; pwd; ls /sys/class/net"}, ns);
    std::string here = fs::current_path().string();
    std::string host = sh_out("grep -c ' /run/netns/" + other + "' /proc/self/mountinfo; true");
    std::system(("ip netns del " + other).c_str());
    EXPECT_EQ(r.output.rfind("0\n", 0), 0u) << r.output;  // no mount at or under /run/netns
    EXPECT_NE(r.output.find("\n" + here + "\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("npspd0"), std::string::npos) << r.output;
    EXPECT_EQ(host, "1\n");  // the host has it
}

}  // namespace
}  // namespace np::core
