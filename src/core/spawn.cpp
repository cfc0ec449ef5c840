#include "core/spawn.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "core/error.hpp"

namespace np::core {
namespace {

// Everything the child needs, prepared by the parent: the child shares the parent's memory (CLONE_VM) and
// may only make system calls (no allocation, no locks), as in a vfork child.
struct ChildArgs {
    const char* path = nullptr;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    int netns_fd = -1;
    // >= 0: the mount namespace to copy instead of ours (see base_mount_namespace).
    int base_mount_ns_fd = -1;
    const char* cwd = nullptr;  // restored after entering base_mount_ns_fd (setns moves to its root)
    const char* netns = nullptr;
    const std::vector<std::pair<std::string, std::string>>* etc_binds = nullptr;
    int output_fd = -1;
    int input_fd = -1;
    const char* workdir = nullptr;  // the request's cwd
    bool own_process_group = true;
    pid_t die_with = -1;  // >= 0: SIGKILL when the calling thread ends; exit at once if this PID is gone
    sigset_t mask{};
    // Set by the child when a step failed (read by the parent once the child has exited).
    const char* failed_step = nullptr;
    int error = 0;
};

[[noreturn]] void child_fail(ChildArgs& a, const char* step) {
    a.failed_step = step;
    a.error = errno;
    _exit(127);
}

// iproute2's netns_switch (lib/namespace.c) after its setns: a mount namespace whose mounts do not propagate
// back, a sysfs that shows this network namespace's devices, /etc/netns/NAME's files over /etc's.
void enter_mount_namespace(ChildArgs& a) {
    if (unshare(CLONE_NEWNS) != 0) child_fail(a, "unshare(CLONE_NEWNS)");
    if (mount("", "/", "none", MS_SLAVE | MS_REC, nullptr) != 0) child_fail(a, "mount --make-rslave /");
    unsigned long flags = 0;
    if (umount2("/sys", MNT_DETACH) != 0) {
        // Not unmountable: overlay it; a read-only instance cannot be shadowed by a read-write one.
        struct statvfs st {};
        if (statvfs("/sys", &st) == 0 && (st.f_flag & ST_RDONLY) != 0) flags = MS_RDONLY;
    }
    if (mount(a.netns, "/sys", "sysfs", flags, nullptr) != 0) child_fail(a, "mount of /sys");
    for (const auto& [from, to] : *a.etc_binds)
        (void)mount(from.c_str(), to.c_str(), "none", MS_BIND, nullptr);  // ip warns and goes on
}

int child_main(void* p) {
    auto& a = *static_cast<ChildArgs*>(p);
    // The parent's handlers would run on its memory: every handled signal back to the default, as glibc's
    // posix_spawn does; SIGPIPE too (a server ignores it; a command pipeline expects the default).
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction sa {};
        if (sigaction(sig, nullptr, &sa) != 0 || sa.sa_handler == SIG_DFL) continue;
        if (sa.sa_handler == SIG_IGN && sig != SIGPIPE) continue;
        sa.sa_handler = SIG_DFL;
        sa.sa_flags = 0;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, nullptr);
    }
    if (a.die_with >= 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) child_fail(a, "prctl(PR_SET_PDEATHSIG)");
        if (getppid() != a.die_with) _exit(126);  // the caller is already gone
    }
    if (a.own_process_group && setpgid(0, 0) != 0) child_fail(a, "setpgid");
    if (a.netns_fd >= 0) {
        if (setns(a.netns_fd, CLONE_NEWNET) != 0) child_fail(a, "setns");
        if (a.base_mount_ns_fd >= 0) {
            if (setns(a.base_mount_ns_fd, CLONE_NEWNS) != 0) child_fail(a, "setns(CLONE_NEWNS)");
            if (a.cwd) (void)chdir(a.cwd);  // where the caller was; "/" when it is not there
        }
        enter_mount_namespace(a);
    }
    if (a.workdir && chdir(a.workdir) != 0) child_fail(a, "chdir");
    int in = a.input_fd >= 0 ? a.input_fd : open("/dev/null", O_RDONLY);
    if (in < 0 || dup2(in, 0) < 0) child_fail(a, "open /dev/null");
    if (a.output_fd >= 0 && (dup2(a.output_fd, 1) < 0 || dup2(a.output_fd, 2) < 0)) child_fail(a, "dup2");
    // Nothing else of the server follows the command (its listening socket, connections, other pipes):
    // Asio opens sockets without O_CLOEXEC, and a command may leave a daemon behind.
    closefrom(3);
    sigprocmask(SIG_SETMASK, &a.mask, nullptr);
    execve(a.path, a.argv, a.envp);
    child_fail(a, "exec");
}

}  // namespace

std::string find_program(const std::string& name, const std::vector<std::string>& env) {
    if (name.find('/') != std::string::npos) return name;
    std::string path = kCommandPath;
    for (const auto& e : env)
        if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    for (std::size_t from = 0; from <= path.size();) {
        auto to = path.find(':', from);
        if (to == std::string::npos) to = path.size();
        std::string dir = path.substr(from, to - from);
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        struct stat st {};
        if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
            return candidate;
        from = to + 1;
    }
    return {};
}

namespace {

// /etc/netns/NAME/FILE -> /etc/FILE, listed by the parent (the child cannot read a directory).
std::vector<std::pair<std::string, std::string>> etc_binds(const std::string& netns) {
    std::vector<std::pair<std::string, std::string>> out;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/etc/netns/" + netns, ec), end; !ec && it != end;
         it.increment(ec))
        out.emplace_back(it->path().string(), "/etc/" + it->path().filename().string());
    return out;
}

// The mount namespace a command's own is copied from (issue 14). unshare(CLONE_NEWNS) copies every mount of
// the caller's namespace, and on a host running a class each lab node's network namespace is a mount under
// /run/netns: at 150 labs (600 nodes) the copy made a command cost 4.6 ms instead of 2.2. So commands copy a
// namespace made once per process instead: a private snapshot of the host's mounts without those under
// /run/netns (which also keeps the snapshot from pinning other labs' network namespaces). Commands still
// see every file system the host had mounted when it was made; mounts made later on the host are not seen
// (network namespaces are entered by descriptor, opened in the host's namespace). -1 when it cannot be
// made (no CAP_SYS_ADMIN): commands then copy ours, as `ip netns exec` does.
struct BaseArgs {
    std::vector<std::string> detach;  // deepest first
    int fd = -1;
};

int base_child_main(void* p) {
    auto& b = *static_cast<BaseArgs*>(p);
    if (unshare(CLONE_NEWNS) != 0) _exit(1);
    if (mount("", "/", "none", MS_PRIVATE | MS_REC, nullptr) != 0) _exit(1);
    for (const auto& path : b.detach) (void)umount2(path.c_str(), MNT_DETACH);
    // CLONE_FILES: the descriptor is the parent's too, and keeps the namespace after this child is gone.
    b.fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    _exit(b.fd >= 0 ? 0 : 1);
}

// Mount points at or under /run/netns, deepest first (from /proc/self/mountinfo; octal escapes decoded).
std::vector<std::string> netns_mounts() {
    std::vector<std::string> out;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, dev, root, point;
        fields >> id >> parent >> dev >> root >> point;
        std::string path;
        for (std::size_t i = 0; i < point.size(); ++i) {
            if (point[i] == '\\' && i + 3 < point.size()) {
                path += static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8));
                i += 3;
            } else {
                path += point[i];
            }
        }
        if (path == "/run/netns" || path.rfind("/run/netns/", 0) == 0) out.push_back(path);
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.size() > y.size(); });
    return out;
}

int make_base_mount_namespace() {
    BaseArgs b;
    b.detach = netns_mounts();
    constexpr std::size_t kStack = 64 * 1024;
    void* stack =
        mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(base_child_main, static_cast<char*>(stack) + kStack,
                      CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &b);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    munmap(stack, kStack);
    if (pid < 0) return -1;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (b.fd >= 0) ::close(b.fd);
        return -1;
    }
    return b.fd;
}

int base_mount_namespace() {
    static const int fd = make_base_mount_namespace();  // once per process, thread-safe
    return fd;
}

}  // namespace

pid_t spawn(const SpawnRequest& request) {
    if (request.argv.empty()) throw invalid("spawn: no program");
    const std::string& program = request.argv.front();
    std::string path = find_program(program, request.env);
    if (path.empty()) throw unavailable("cannot start " + program + ": not found");
    ChildArgs a;
    std::vector<std::pair<std::string, std::string>> binds;
    if (!request.netns.empty()) {
        const auto& ns = request.netns;
        if (ns == "." || ns == ".." || ns.find('/') != std::string::npos)
            throw invalid("invalid network namespace name '" + ns + "'");
        a.netns_fd = ::open(("/var/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
        if (a.netns_fd < 0) throw unavailable("network namespace '" + ns + "': " + std::strerror(errno));
        binds = etc_binds(ns);
        a.base_mount_ns_fd = base_mount_namespace();
    }
    std::string cwd;
    if (a.base_mount_ns_fd >= 0) {
        std::error_code ec;
        cwd = std::filesystem::current_path(ec).string();
        if (!ec) a.cwd = cwd.c_str();
    }
    a.netns = request.netns.c_str();
    a.etc_binds = &binds;
    std::vector<std::string> args = request.argv, env = request.env;
    std::vector<char*> argv, envp;
    for (auto& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    a.path = path.c_str();
    a.argv = argv.data();
    a.envp = envp.data();
    a.output_fd = request.output_fd;
    a.input_fd = request.input_fd;
    if (!request.cwd.empty()) a.workdir = request.cwd.c_str();
    a.own_process_group = request.own_process_group;
    if (request.die_with_caller) a.die_with = getpid();
    sigemptyset(&a.mask);

    constexpr std::size_t kStack = 256 * 1024;  // touched pages only; the child calls a few libc wrappers
    void* stack =
        mmap(nullptr, kStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int e = errno;
        if (a.netns_fd >= 0) ::close(a.netns_fd);
        throw unavailable("cannot start " + program + ": " + std::strerror(e));
    }
    // No signal handler may run in the child before it has reset them (it shares our memory).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(child_main, static_cast<char*>(stack) + kStack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    int clone_error = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    munmap(stack, kStack);
    if (a.netns_fd >= 0) ::close(a.netns_fd);
    if (pid < 0) throw unavailable("cannot start " + program + ": " + std::strerror(clone_error));
    if (a.failed_step) {  // the child has exited (CLONE_VFORK returns after its exec or exit)
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        std::string where = request.netns.empty() ? "" : " in network namespace '" + request.netns + "'";
        throw unavailable("cannot start " + program + where + ": " + a.failed_step + ": " +
                          std::strerror(a.error));
    }
    return pid;
}

}  // namespace np::core
