// The GNS3 guests' reaper (gns3_guests.hpp): VPCS daemonizes itself (`-p`) and the FRR daemons too (`-d`), so
// a parent-death signal set before exec does not reach them (fork clears it); a separate process that waits
// for pve-sim's end on a pipe removes them instead, from the labs' records and the namespaces' names.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include "core/error.hpp"
#include "core/log.hpp"
#include "lab/local/process.hpp"
#include "lab/local/runtime.hpp"
#include "pvesim/gns3_guests.hpp"

namespace np::pvesim {

namespace fs = std::filesystem;

std::string guest_namespace_prefix(int address_octet) {
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    return std::string("q") + digits[static_cast<unsigned>(address_octet) % 36];
}

namespace {

int down_all(lab::LocalRuntime& runtime, const std::set<std::string>& envs) {
    int removed = 0;
    for (const auto& env : envs) try {
            runtime.down(env);
            ++removed;
        } catch (const std::exception& e) {
            log::warn("pvesim.reap_failed", {{"env", env}, {"error", e.what()}});
        }
    return removed;
}

}  // namespace

int reap_gns3_guests(const fs::path& state_dir) {
    int removed = 0;
    std::error_code ec;
    // Labs recorded in the VMs' folders (<state_dir>/<vmid>/labs/<env>).
    for (const auto& vm : fs::directory_iterator(state_dir, ec)) {
        if (!fs::is_directory(vm.path() / "labs")) continue;
        lab::RuntimeOptions o;
        o.state_dir = vm.path() / "labs";
        lab::LocalRuntime runtime(o);
        std::set<std::string> envs;
        for (const auto& e : fs::directory_iterator(o.state_dir, ec))
            if (e.is_directory()) envs.insert(e.path().filename().string());
        removed += down_all(runtime, envs);
    }
    if (removed) log::info("pvesim.reaped", {{"labs", removed}, {"state_dir", state_dir.string()}});
    return removed;
}

int run_gns3_guest_reaper(int watch_fd, const fs::path& state_dir, bool remove_state_dir) {
    // A Ctrl-C or SIGTERM to pve-sim's process group is pve-sim's to handle (it stops its guests itself); the
    // reaper only waits for it to be gone.
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    char buf[64];
    for (;;) {
        auto n = read(watch_fd, buf, sizeof buf);
        if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    close(watch_fd);
    // From the records only (each lab is recorded before anything of it is made): another pve-sim may be
    // running with the same namespace prefix.
    reap_gns3_guests(state_dir);
    if (remove_state_dir) {
        std::error_code ec;
        fs::remove_all(state_dir, ec);
    }
    return 0;
}

// Starts the reaper: `<binary> _pve-sim-reaper` with the read end of a pipe as fd 3; returns the write end
// (close-on-exec: no device process inherits it, so only pve-sim's end closes it).
int start_gns3_guest_reaper(const Gns3GuestOptions& o) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw core::internal("pipe: " + std::string(std::strerror(errno)));
    std::vector<std::string> args{o.reaper_binary,    "--log-level",       "warn",
                                  "_pve-sim-reaper",  "--watch-fd",        "3",
                                  "--gns3-state-dir", o.state_dir.string()};
    if (o.reaper_removes_state_dir) args.emplace_back("--remove-state-dir");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) throw core::internal("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        setsid();  // out of pve-sim's process group: a terminal's signals are not for it
        if (fds[0] == 3)
            fcntl(3, F_SETFD, 0);
        else
            dup2(fds[0], 3);  // without close-on-exec
        int null_fd = open("/dev/null", O_RDWR);
        if (null_fd >= 0) {
            dup2(null_fd, 0);
            dup2(null_fd, 1);
        }
        lab::close_inherited_fds(3);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[0]);
    return fds[1];
}

}  // namespace np::pvesim
