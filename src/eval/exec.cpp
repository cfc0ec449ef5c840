// ExecSession: each command is a process in a local network namespace, from the platform's `exec` argv
// (frr: `vtysh -N PATHSPACE -c CMD`, linux: `ip netns exec NS sh -c CMD`). Output (stdout and stderr) is read
// on the event loop through a pipe; a command past its deadline is killed with its whole process group.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"
#include "eval/session.hpp"

extern char** environ;

namespace np::eval {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

class ExecSession final : public Session {
 public:
    ExecSession(asio::any_io_executor ex, DeviceTarget target, const Platform& platform)
        : ex_(std::move(ex)), target_(std::move(target)), p_(platform) {
        if (target_.frr_pathspace.empty()) target_.frr_pathspace = target_.netns;
    }

    asio::awaitable<void> open(Deadline) override {
        if (p_.exec.empty())
            throw core::invalid(target_.name + ": platform " + p_.name + " cannot be reached through exec");
        bool wants_netns = false, wants_pathspace = false;
        for (const auto& a : p_.exec) {
            wants_netns = wants_netns || a.find("{netns}") != std::string::npos;
            wants_pathspace = wants_pathspace || a.find("{frr_pathspace}") != std::string::npos;
        }
        namespace fs = std::filesystem;
        std::error_code ec;
        if (wants_netns) {
            if (target_.netns.empty()) throw core::invalid(target_.name + ": exec needs a netns");
            if (!fs::exists(fs::path("/var/run/netns") / target_.netns, ec))
                throw core::unavailable(target_.name + ": network namespace '" + target_.netns +
                                        "' does not exist");
        }
        if (wants_pathspace) {
            if (target_.frr_pathspace.empty())
                throw core::invalid(target_.name + ": exec needs an FRR pathspace");
            if (!fs::exists(fs::path("/var/run/frr") / target_.frr_pathspace / "zebra.vty", ec))
                throw core::unavailable(target_.name + ": FRR pathspace '" + target_.frr_pathspace +
                                        "' is not running (no /var/run/frr/" + target_.frr_pathspace +
                                        "/zebra.vty)");
        }
        co_return;
    }

    asio::awaitable<std::string> run(const std::string& command, Deadline deadline) override {
        std::vector<std::string> args;
        for (auto a : p_.exec) {
            auto subst = [&](const std::string& key, const std::string& value) {
                for (auto pos = a.find(key); pos != std::string::npos; pos = a.find(key, pos + value.size()))
                    a.replace(pos, key.size(), value);
            };
            subst("{netns}", target_.netns);
            subst("{frr_pathspace}", target_.frr_pathspace);
            subst("{command}", command);
            args.push_back(std::move(a));
        }
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw core::internal(std::string("pipe: ") + std::strerror(errno));
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
        // Nothing else of the server follows the command (its listening socket, connections, other pipes):
        // Asio opens sockets without O_CLOEXEC, and a command may leave a daemon behind.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3);
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setpgroup(&attr, 0);  // its own group, so a timeout kills grandchildren too
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
        std::vector<std::string> env_strings = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "TERM=dumb",
                                                "PAGER=cat", "SYSTEMD_PAGER="};
        std::vector<char*> argv, envp;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        for (auto& e : env_strings) envp.push_back(e.data());
        envp.push_back(nullptr);
        pid_t pid = 0;
        int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            throw core::unavailable(target_.name + ": cannot start " + args[0] + ": " + std::strerror(rc));
        }
        asio::posix::stream_descriptor pipe(ex_, fds[0]);
        std::string out;
        std::array<char, 4096> buf{};
        bool timed_out = false;
        while (true) {
            asio::steady_timer timer(ex_, deadline);
            auto r = co_await (pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable)) ||
                               timer.async_wait(asio::as_tuple(asio::use_awaitable)));
            if (r.index() == 1) {
                timed_out = true;
                break;
            }
            auto [ec, n] = std::get<0>(r);
            if (ec) break;  // EOF: every writer closed the pipe
            out.append(buf.data(), n);
            if (out.size() > kMaxOutput) {
                out += "\n[output truncated]\n";
                break;
            }
        }
        pipe.close();
        int status = 0;
        if (timed_out) {
            ::kill(-pid, SIGKILL);
            co_await reap(pid, status, std::chrono::steady_clock::now() + std::chrono::seconds(2));
            throw core::timeout(target_.name + ": '" + command + "' did not finish before the deadline");
        }
        if (!co_await reap(pid, status, deadline)) {
            ::kill(-pid, SIGKILL);
            co_await reap(pid, status, std::chrono::steady_clock::now() + std::chrono::seconds(2));
            throw core::timeout(target_.name + ": '" + command + "' did not exit before the deadline");
        }
        last_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        co_return out;
    }

    asio::awaitable<void> close() override { co_return; }
    bool broken() const override { return false; }

 private:
    static constexpr std::size_t kMaxOutput = 4 << 20;

    // Polls waitpid without blocking the loop: the child has closed its output, so it exits promptly.
    asio::awaitable<bool> reap(pid_t pid, int& status, Deadline deadline) {
        auto delay = std::chrono::milliseconds(1);
        while (true) {
            pid_t r = ::waitpid(pid, &status, WNOHANG);
            if (r == pid || (r < 0 && errno == ECHILD)) co_return true;
            if (std::chrono::steady_clock::now() >= deadline) co_return false;
            asio::steady_timer t(ex_, delay);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            delay = std::min(delay * 2, std::chrono::milliseconds(50));
        }
    }

    asio::any_io_executor ex_;
    DeviceTarget target_;
    const Platform& p_;
    int last_status_ = 0;
};

}  // namespace

std::unique_ptr<Session> make_exec_session(asio::any_io_executor ex, const DeviceTarget& target,
                                           const Platform& platform) {
    return std::make_unique<ExecSession>(std::move(ex), target, platform);
}

}  // namespace np::eval
