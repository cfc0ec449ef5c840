#include "lab/local/host.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "lab/local/process.hpp"

namespace np::lab::host {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

HostLock::HostLock(const fs::path& state_dir) {
    fs::create_directories(state_dir);
    fd_ = open((state_dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) throw core::internal("cannot open lock file in " + state_dir.string());
    // Bounded like every other wait: a holder stuck for a minute is a fault to report, not to wait out.
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) break;
        if (std::chrono::steady_clock::now() > deadline) {
            close(fd_);
            throw core::unavailable("the local lab lock " + (state_dir / ".lock").string() +
                                    " is held by another process for over 60 s; try again");
        }
        std::this_thread::sleep_for(20ms);
    }
}

HostLock::~HostLock() {
    close(fd_);
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& text, fs::perms perms) {
    auto tmp = p;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw core::internal("cannot write " + tmp.string());
    }
    fs::permissions(tmp, perms);
    fs::rename(tmp, p);
}

bool netns_exists(const std::string& name) {
    return fs::exists(fs::path("/var/run/netns") / name);
}

std::vector<std::string> netns_with_prefix(const std::string& prefix) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/var/run/netns", ec)) {
        auto n = e.path().filename().string();
        if (n.rfind(prefix, 0) == 0) out.push_back(n);
    }
    return out;
}

std::vector<pid_t> pids_in_namespaces(const std::set<std::string>& names) {
    std::set<std::pair<dev_t, ino_t>> wanted;
    for (const auto& ns : names) {
        struct stat st {};
        if (::stat(("/var/run/netns/" + ns).c_str(), &st) == 0) wanted.insert({st.st_dev, st.st_ino});
    }
    std::vector<pid_t> out;
    if (wanted.empty()) return out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        auto name = e.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        struct stat st {};
        if (::stat((e.path() / "ns" / "net").c_str(), &st) != 0) continue;
        if (wanted.count({st.st_dev, st.st_ino})) out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

bool port_free(std::uint16_t port, int type, bool any_address) {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    int one = 1;
    if (type == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(any_address ? INADDR_ANY : INADDR_LOOPBACK);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

namespace {

// Whether one of `pids` holds a socket of `tables` (/proc/net/{tcp,udp}{,6}: "sl local_address rem_address
// st ... inode", local "ADDR:PORT" in hex) on local `port`, in state `state` ("" for any).
bool holds_socket(const std::vector<pid_t>& pids, std::uint16_t port,
                  std::initializer_list<const char*> tables, const std::string& state) {
    std::set<std::string> inodes;
    for (const char* table : tables) {
        std::istringstream lines(read_file(table));
        std::string line;
        std::getline(lines, line);  // header
        while (std::getline(lines, line)) {
            std::istringstream f(line);
            std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
            if (!(f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode))
                continue;
            auto colon = local.rfind(':');
            if ((state.empty() || st == state) && colon != std::string::npos &&
                std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port)
                inodes.insert("socket:[" + inode + "]");
        }
    }
    if (inodes.empty()) return false;
    for (auto pid : pids) {
        std::error_code ec;
        for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
            std::error_code link_ec;
            if (inodes.count(fs::read_symlink(fd.path(), link_ec).string())) return true;
        }
    }
    return false;
}

}  // namespace

bool listens_on(const std::vector<pid_t>& pids, std::uint16_t port) {
    return holds_socket(pids, port, {"/proc/net/tcp", "/proc/net/tcp6"}, "0A");  // 0A: LISTEN
}

bool holds_udp_port(const std::vector<pid_t>& pids, std::uint16_t port) {
    return holds_socket(pids, port, {"/proc/net/udp", "/proc/net/udp6"}, "");
}

bool tcp_accepts(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    return ok;
}

void run_batch(const std::vector<std::string>& argv, const std::string& input) {
    auto r = run_command(argv, 30s, input);
    if (r.status != 0)
        throw core::internal("`ip` batch failed (exit " + std::to_string(r.status) + "): " + r.output);
}

void chown_to_frr(const fs::path& dir) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(4096);
    if (getpwnam_r("frr", &pw, buf.data(), buf.size(), &found) != 0 || !found)
        throw core::internal("no user frr on this host (is frr installed?)");
    auto own = [&](const fs::path& p) {
        if (lchown(p.c_str(), pw.pw_uid, pw.pw_gid) != 0)
            throw core::internal("chown " + p.string() + ": " + std::strerror(errno));
    };
    own(dir);
    for (const auto& entry : fs::recursive_directory_iterator(dir)) own(entry.path());
}

}  // namespace np::lab::host
