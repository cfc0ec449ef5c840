// `netpraxis pve-sim` as a process: starts on a free port, prints it, serves, stops on SIGTERM.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>
#include <utility>
#include <vector>

#include "sim_fixture.hpp"

namespace np::pve {
namespace {

namespace asio = boost::asio;

TEST(PveSimBinary, StartsOnAFreePortAndServesTheApi) {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(NETPRAXIS_BINARY, NETPRAXIS_BINARY, "--log-level", "warn", "pve-sim", "--port", "0", "--tls",
              "--profile", "fast", "--seed", "5", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    // Kill the child by its PID whatever happens below.
    struct Reap {
        pid_t pid;
        ~Reap() {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    } reap{pid};
    std::string line;
    char ch;
    while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(out[0]);
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(line, m, std::regex("https://127\\.0\\.0\\.1:(\\d+) .*fingerprint=([0-9A-F:]+)")))
        << line;
    auto port = m[1].str();
    auto fp = m[2].str();

    asio::io_context io;
    pve::ClientOptions o;
    o.url = "https://127.0.0.1:" + port;
    o.tls.fingerprint = fp;
    o.credentials.user = "bob@students";
    o.credentials.password = "bob-pw";
    pve::Client c(io.get_executor(), o);
    auto fut = asio::co_spawn(io, c.nodes(), asio::use_future);
    io.run();
    EXPECT_EQ(fut.get().size(), 3u);

    ASSERT_EQ(kill(pid, SIGTERM), 0);
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; ++i) usleep(20'000);
    reap.pid = pid;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// Runs `netpraxis ARGS...` with `input` on stdin; returns its exit code and stdout.
std::pair<int, std::string> run_cli(const std::vector<std::string>& args, const std::string& input) {
    int in[2], out[2];
    EXPECT_EQ(pipe(in), 0);
    EXPECT_EQ(pipe(out), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        std::vector<char*> argv{const_cast<char*>(NETPRAXIS_BINARY)};
        for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execv(NETPRAXIS_BINARY, argv.data());
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    EXPECT_EQ(write(in[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
    close(in[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
}

TEST(PveCli, CloneAndDeleteWithJsonSummaries) {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(NETPRAXIS_BINARY, NETPRAXIS_BINARY, "--log-level", "error", "pve-sim", "--port", "0",
              "--profile", "fast", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    struct Reap {
        pid_t pid;
        ~Reap() {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
    } reap{pid};
    std::string line;
    char ch;
    while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(out[0]);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(line, m, std::regex("(http://127\\.0\\.0\\.1:\\d+)"))) << line;
    std::string url = m[1].str();
    std::vector<std::string> conn{
        "--log-level",      "error",      "pve",  "clone",   "--url", url,        "--user", "root@pam",
        "--password-stdin", "--template", "9000", "--count", "6",     "--prefix", "cli",    "--json"};
    auto [code, text] = run_cli(conn, "rootpass\n");
    EXPECT_EQ(code, 0) << text;
    auto summary = boost::json::parse(text).as_object();
    EXPECT_EQ(summary.at("ok").to_number<int>(), 6);
    EXPECT_EQ(summary.at("failed").to_number<int>(), 0);
    EXPECT_TRUE(summary.contains("seconds"));
    EXPECT_TRUE(summary.contains("retries"));
    EXPECT_TRUE(summary.contains("orphans_cleaned"));

    auto [tcode, ttext] = run_cli(
        {"--log-level", "error", "pve", "template", "--url", url, "--token",
         "root@pam!ci=6f1e2a9c-2b1d-4c3e-9a8b-7d6c5e4f3a21", "--base", "100", "--name", "cli-tpl", "--json"},
        "");
    EXPECT_EQ(tcode, 0) << ttext;
    auto t = boost::json::parse(ttext).as_object();
    EXPECT_EQ(t.at("node").as_string(), "pve1");
    EXPECT_GE(t.at("vmid").to_number<int>(), 10000);

    auto [dcode, dtext] = run_cli({"--log-level", "error", "pve", "delete", "--url", url, "--user",
                                   "root@pam", "--password-stdin", "--prefix", "cli", "--json"},
                                  "rootpass\n");
    EXPECT_EQ(dcode, 0) << dtext;
    EXPECT_EQ(boost::json::parse(dtext).at("ok").to_number<int>(), 6);

    // A wrong password is a clear failure, not a crash.
    auto [bcode, btext] = run_cli({"--log-level", "error", "pve", "delete", "--url", url, "--user",
                                   "root@pam", "--password-stdin", "--prefix", "cli", "--json"},
                                  "nope\n");
    EXPECT_NE(bcode, 0);
    // Usage errors exit 2 (CLI11 or core::invalid).
    auto [ucode, utext] = run_cli({"pve", "clone", "--url", url, "--template", "9000"}, "");
    EXPECT_NE(ucode, 0);
}

}  // namespace
}  // namespace np::pve
