// `netpraxis pve-sim` as a process: starts on a free port, prints it, serves, stops on SIGTERM.

// GCC 12 false positives in Asio's io_context and coroutine frames (GCC bug 109224).
#pragma GCC diagnostic ignored "-Wnull-dereference"
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>

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

}  // namespace
}  // namespace np::pve
