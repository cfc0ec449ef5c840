#include "lab/local/process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/error.hpp"
#include "core/spawn.hpp"

namespace np::lab {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
    std::vector<char*> out;
    for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
    out.push_back(nullptr);
    return out;
}

std::string describe(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) out += (out.empty() ? "" : " ") + a;
    return out;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::string& input, const std::filesystem::path& cwd) {
    std::string dir = cwd.string();
    int out_pipe[2];
    int in_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(in_pipe, O_CLOEXEC) != 0)
        throw core::internal("pipe: " + std::string(std::strerror(errno)));
    // Started as posix_spawn starts a program (core::spawn: the child shares our memory until it execs), not
    // by fork: the server's page tables are not copied for each of the ~15 commands of a lab node's start
    // (issue 14: fork and its copy-on-write faults were about a tenth of a class start's CPU).
    core::SpawnRequest request;
    request.argv = argv;
    for (char** e = environ; *e != nullptr; ++e) request.env.emplace_back(*e);
    request.output_fd = out_pipe[1];
    request.input_fd = in_pipe[0];
    request.cwd = dir;
    request.own_process_group = false;
    // A command dies with the thread waiting for it: a `lab up` killed mid-way must not leave an frrinit.sh
    // running on its own, starting daemons after a later `down` or `up` has cleaned the lab.
    request.die_with_caller = true;
    pid_t pid = -1;
    try {
        pid = core::spawn(request);
    } catch (const core::Error& e) {  // not found, or cannot start: what a shell reports as 127
        for (int fd : {out_pipe[0], out_pipe[1], in_pipe[0], in_pipe[1]}) close(fd);
        return CommandResult{127, e.what()};
    }
    close(out_pipe[1]);
    close(in_pipe[0]);
    if (!input.empty()) {
        // Small inputs only (configs); a full pipe would need poll, which no caller needs.
        [[maybe_unused]] auto n = write(in_pipe[1], input.data(), input.size());
    }
    close(in_pipe[1]);
    CommandResult result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    bool timed_out = false;
    bool exited = false;
    int status = 0;
    char buf[4096];
    // Read until the child exits (not until EOF: a daemon it started may keep the pipe open).
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        pollfd p{out_pipe[0], POLLIN, 0};
        int r = poll(&p, 1, exited ? 0 : 20);
        if (r > 0) {
            auto n = read(out_pipe[0], buf, sizeof buf);
            if (n > 0) {
                result.output.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n == 0 && !exited) {
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
                }
                exited = true;
            }
            if (exited) break;
        }
        if (exited) break;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = true;
            continue;  // drain what is left
        }
        if (std::chrono::steady_clock::now() > deadline) {
            timed_out = true;
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            break;
        }
    }
    close(out_pipe[0]);
    if (timed_out)
        result.status = 124;
    else if (WIFEXITED(status))
        result.status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.status = 128 + WTERMSIG(status);
    return result;
}

std::string run_checked(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    auto r = run_command(argv, timeout);
    if (r.status != 0) {
        std::string out = r.output;
        while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
        throw core::internal(
            "`" + describe(argv) + "` failed (" +
            (r.status == 124 ? std::string("timed out") : "exit " + std::to_string(r.status)) + ")" +
            (out.empty() ? "" : ": " + out));
    }
    return r.output;
}

pid_t spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                     const std::filesystem::path& log_file, int extra_fd) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) throw core::internal("pipe: " + std::string(std::strerror(errno)));
    auto args = c_argv(argv);
    std::string dir = cwd.string();
    std::string log = log_file.string();
    pid_t child = fork();
    if (child < 0) throw core::internal("fork: " + std::string(std::strerror(errno)));
    if (child == 0) {
        // Only async-signal-safe calls from here on (the parent may be multi-threaded).
        setsid();
        pid_t grandchild = fork();
        if (grandchild != 0) {
            [[maybe_unused]] auto n = write(report[1], &grandchild, sizeof grandchild);
            _exit(grandchild < 0 ? 1 : 0);
        }
        if (chdir(dir.c_str()) != 0) _exit(126);
        int null_fd = open("/dev/null", O_RDONLY);
        int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
        if (null_fd >= 0) dup2(null_fd, 0);
        if (log_fd >= 0) {
            dup2(log_fd, 1);
            dup2(log_fd, 2);
        }
        close_inherited_fds(extra_fd);                   // null_fd, log_fd and everything else
        if (extra_fd >= 0) fcntl(extra_fd, F_SETFD, 0);  // keep it across exec
        signal(SIGPIPE, SIG_DFL);
        execvp(args[0], args.data());
        _exit(127);
    }
    close(report[1]);
    pid_t daemon_pid = -1;
    auto n = read(report[0], &daemon_pid, sizeof daemon_pid);
    close(report[0]);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (n != sizeof daemon_pid || daemon_pid <= 0)
        throw core::internal("could not start `" + describe(argv) + "` detached");
    return daemon_pid;
}

std::vector<pid_t> pids_with_cwd_under(const std::filesystem::path& dir) {
    std::vector<pid_t> out;
    std::error_code ec;
    auto base = std::filesystem::weakly_canonical(dir, ec).string();
    if (base.empty()) return out;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
        auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::error_code link_ec;
        auto cwd = std::filesystem::read_symlink(entry.path() / "cwd", link_ec).string();
        if (link_ec) continue;
        if (cwd == base ||
            (cwd.size() > base.size() && cwd.compare(0, base.size(), base) == 0 && cwd[base.size()] == '/')) {
            pid_t pid = static_cast<pid_t>(std::stol(name));
            if (pid != getpid()) out.push_back(pid);
        }
    }
    return out;
}

bool pid_alive(pid_t pid) {
    if (pid <= 0) return false;
    if (kill(pid, 0) != 0) return errno == EPERM;
    // A zombie is dead for our purposes.
    std::error_code ec;
    FILE* f = std::fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
    if (!f) return false;
    char buf[512] = {};
    auto n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    std::string stat(buf, n);
    auto close_paren = stat.rfind(')');
    return !(close_paren != std::string::npos && close_paren + 2 < stat.size() &&
             stat[close_paren + 2] == 'Z');
}

void terminate_pids(const std::vector<pid_t>& pids, std::chrono::milliseconds grace) {
    std::vector<pid_t> live;
    for (auto pid : pids) {
        if (pid <= 1 || pid == getpid()) continue;
        if (kill(pid, SIGTERM) == 0) live.push_back(pid);
    }
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (!live.empty() && std::chrono::steady_clock::now() < deadline) {
        std::erase_if(live, [](pid_t p) { return !pid_alive(p); });
        if (!live.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (auto pid : live) kill(pid, SIGKILL);
    auto kill_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!live.empty() && std::chrono::steady_clock::now() < kill_deadline) {
        std::erase_if(live, [](pid_t p) { return !pid_alive(p); });
        if (!live.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void close_inherited_fds(int keep) noexcept {
    if (keep > 3 && close_range(3, static_cast<unsigned>(keep) - 1, 0) != 0)
        for (int fd = 3; fd < keep; ++fd) close(fd);  // a kernel without close_range: a short range
    closefrom(keep >= 3 ? keep + 1 : 3);
}

void cloexec_inherited_fds() noexcept {
    if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
    // Kernels before 5.11 lack CLOSE_RANGE_CLOEXEC: mark what /proc/self/fd lists (not in a forked child,
    // so opendir is fine here).
    DIR* d = opendir("/proc/self/fd");
    if (!d) return;
    int own = dirfd(d);
    while (auto* e = readdir(d)) {
        int fd = std::atoi(e->d_name);
        if (fd >= 3 && fd != own) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(d);
}

}  // namespace np::lab
