// ExecSession: each command is a process in a local network namespace, from the platform's `exec` argv
// (frr: `vtysh -N PATHSPACE -c CMD`, linux: `ip netns exec NS sh -c CMD`). Output (stdout and stderr) is read
// on the event loop through a pipe; a command past its deadline is killed with its whole process group.
// An argv that starts with `ip netns exec {netns}` is not run through ip: the child enters the namespace
// itself as ip does (core::spawn: setns, its own mount namespace, /sys remounted, /etc/netns binds) and execs
// the rest (issue 14: ip's own start was a quarter of a Linux host's grading command); and when the rest is
// `sh -c {command}` with a plain command (one program and its words, nothing for the shell to interpret),
// that program is exec'd as sh would exec it, with the environment sh would give it (PWD added).
#include <fcntl.h>
#include <signal.h>
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
#include <set>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "core/spawn.hpp"
#include "eval/session.hpp"

namespace np::eval {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

// The words of `command` when `sh -c command` would only run one program with them (dash: no fork-less exec
// of a lone command, so the shell costs a program start and a fork): nothing the shell treats specially
// (quotes, `$`, globs, redirections, separators, comments, escapes, non-ASCII), and a first word that is
// neither one of dash's reserved words or builtins nor an assignment. Otherwise empty: the shell runs it.
std::vector<std::string> plain_words(const std::string& command) {
    static const std::set<std::string_view> shell_words = {
        "case",     "do",       "done",    "elif",  "else",  "esac",  "fi",     "for",   "if",
        "in",       "then",     "until",   "while", "alias", "bg",    "break",  "cd",    "chdir",
        "command",  "continue", "echo",    "eval",  "exec",  "exit",  "export", "false", "fc",
        "fg",       "getopts",  "hash",    "jobs",  "kill",  "local", "printf", "pwd",   "read",
        "readonly", "return",   "set",     "shift", "test",  "times", "trap",   "true",  "type",
        "ulimit",   "umask",    "unalias", "unset", "wait",  ".",     ":"};
    std::vector<std::string> words;
    std::string word;
    for (char c : command) {
        if (c == ' ' || c == '\t') {
            if (!word.empty()) words.push_back(std::exchange(word, {}));
            continue;
        }
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     std::string_view("._/:,+@%=-").find(c) != std::string_view::npos;
        if (!plain) return {};
        word.push_back(c);
    }
    if (!word.empty()) words.push_back(std::move(word));
    if (words.empty() || shell_words.contains(words[0]) || words[0].find('=') != std::string::npos) return {};
    return words;
}

class ExecSession final : public Session {
 public:
    ExecSession(asio::any_io_executor ex, DeviceTarget target, const Platform& platform)
        : ex_(std::move(ex)), target_(std::move(target)), p_(platform) {
        if (target_.frr_pathspace.empty()) target_.frr_pathspace = target_.netns;
        const auto& e = p_.exec;
        enters_netns_ =
            e.size() > 4 && e[0] == "ip" && e[1] == "netns" && e[2] == "exec" && e[3] == "{netns}";
        runs_shell_ = enters_netns_ && e.size() == 7 && e[4] == "sh" && e[5] == "-c" && e[6] == "{command}";
        std::error_code ec;
        cwd_ = std::filesystem::current_path(ec).string();  // the PWD dash would export
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
        core::SpawnRequest req;
        req.env = {std::string("PATH=") + core::kCommandPath, "LC_ALL=C", "TERM=dumb", "PAGER=cat",
                   "SYSTEMD_PAGER="};
        req.output_fd = fds[1];
        req.own_process_group = true;  // so a timeout kills grandchildren too
        if (enters_netns_) {
            // `ip netns exec {netns} REST...`: REST entered into the namespace here, exactly as ip would,
            // minus the start of ip itself (issue 14).
            req.netns = target_.netns;
            args.erase(args.begin(), args.begin() + 4);
        }
        pid_t pid = -1;
        if (auto words = runs_shell_ ? plain_words(command) : std::vector<std::string>(); !words.empty()) {
            // What sh would exec, without sh; anything it cannot start (not found, a script without #!...)
            // goes to sh, which says why as it always did.
            core::SpawnRequest direct = req;
            direct.argv = std::move(words);
            direct.env.push_back("PWD=" + cwd_);
            try {
                pid = core::spawn(direct);
            } catch (const core::Error&) {
                pid = -1;
            }
        }
        req.argv = std::move(args);
        try {
            if (pid < 0) pid = core::spawn(req);
        } catch (const core::Error& e) {
            ::close(fds[0]);
            ::close(fds[1]);
            throw core::unavailable(target_.name + ": " + e.what());
        }
        ::close(fds[1]);
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
    bool enters_netns_ = false;  // the argv is `ip netns exec {netns} ...`: entered by core::spawn
    bool runs_shell_ = false;    // ... `sh -c {command}`: a plain command is exec'd without sh
    std::string cwd_;
};

}  // namespace

std::unique_ptr<Session> make_exec_session(asio::any_io_executor ex, const DeviceTarget& target,
                                           const Platform& platform) {
    return std::make_unique<ExecSession>(std::move(ex), target, platform);
}

}  // namespace np::eval
