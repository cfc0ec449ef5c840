// The SSH transport (libssh on the worker pool) against a real OpenSSH server started here on a loopback
// port chosen at run time, with its own host key and an authorised client key; stopped by PID afterwards.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/offload.hpp"
#include "eval/engine.hpp"
#include "eval/spec.hpp"

namespace np::eval {
namespace {

std::uint16_t free_tcp_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

class SshServer {
 public:
    SshServer() : dir_(std::filesystem::temp_directory_path() / ("npev-ssh-" + std::to_string(getpid()))) {
        namespace fs = std::filesystem;
        fs::create_directories(dir_);
        fs::create_directories("/run/sshd");
        std::string d = dir_.string();
        if (std::system(("ssh-keygen -q -t ed25519 -N '' -f " + d +
                         "/host_key && ssh-keygen -q -t ed25519 -N '' -f " + d +
                         "/client_key && ssh-keygen -q -t ed25519 -N '' -f " + d + "/other_key && cp " + d +
                         "/client_key.pub " + d + "/authorized_keys")
                            .c_str()) != 0)
            return;
        port = free_tcp_port();
        std::ofstream(dir_ / "sshd_config")
            << "Port " << port << "\nListenAddress 127.0.0.1\nHostKey " << d
            << "/host_key\nAuthorizedKeysFile " << d << "/authorized_keys\nPidFile " << d
            << "/sshd.pid\nStrictModes no\nUsePAM no\nPermitRootLogin "
               "prohibit-password\nPasswordAuthentication no\n";
        pid_ = fork();
        if (pid_ == 0) {
            execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", (d + "/sshd_config").c_str(),
                  static_cast<char*>(nullptr));
            _exit(127);
        }
        for (int i = 0; i < 50 && !listening(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ~SshServer() {
        if (pid_ > 0) {
            kill(pid_, SIGTERM);
            waitpid(pid_, nullptr, 0);
        }
        std::filesystem::remove_all(dir_);
    }
    bool listening() const {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }
    std::string key(const std::string& name) const { return (dir_ / name).string(); }
    std::uint16_t port = 0;

 private:
    std::filesystem::path dir_;
    pid_t pid_ = -1;
};

Spec linux_spec() {
    ParseResult r = parse_spec(R"(id: ssh
devices: {h1: {platform: linux}}
checks:
  - {id: arith, on: h1, run: 'echo hello-$((6*7))', expect: {line: hello-42}}
  - {id: root, on: h1, run: id -u, expect: {line: '0'}}
  - {id: nope, on: h1, run: no-such-command-xyz, expect: {contains: 'command not found'}}
)");
    EXPECT_TRUE(r.ok());
    return r.spec;
}

TEST(Ssh, KeyLoginRunsCommandsInAShell) {
    if (geteuid() != 0 || !std::filesystem::exists("/usr/sbin/sshd"))
        GTEST_SKIP() << "needs root and openssh-server";
    SshServer server;
    ASSERT_TRUE(server.listening());
    core::WorkerPool pool(2);
    EngineOptions o;
    o.pool = &pool;
    o.open_timeout = std::chrono::seconds(10);
    o.command_timeout = std::chrono::seconds(10);
    std::map<std::string, DeviceTarget> t;
    t["h1"] =
        DeviceTarget{"h1", "linux",  "ssh", "127.0.0.1", server.port, "root", "", server.key("client_key"),
                     "",   "ignore", "",    ""};
    Evaluation e = evaluate_blocking(PlatformRegistry::builtin(), o, linux_spec(), "alice", t);
    EXPECT_EQ(e.score, 3) << report_text(e) << report_json(e);
    EXPECT_TRUE(e.device_errors.empty());

    // A key the server does not know: every check is an error naming the reason.
    t["h1"].key_file = server.key("other_key");
    Evaluation denied = evaluate_blocking(PlatformRegistry::builtin(), o, linux_spec(), "alice", t);
    EXPECT_EQ(denied.score, 0);
    EXPECT_EQ(denied.checks[0].status, CheckStatus::error);
    EXPECT_NE(denied.device_errors["h1"].find("authentication failed for user 'root'"), std::string::npos)
        << report_json(denied);
}

}  // namespace
}  // namespace np::eval
