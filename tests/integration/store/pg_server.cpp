#include "pg_server.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/ids.hpp"

namespace np::store::test {
namespace {

namespace fs = std::filesystem;

fs::path postgres_bin_dir() {
    fs::path best;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        if (fs::exists(entry.path() / "bin" / "postgres") && entry.path() > best) best = entry.path();
    }
    if (best.empty()) {
        throw std::runtime_error(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: install the `postgresql` "
            "package "
            "(scripts/packages/test-store.txt)");
    }
    return best / "bin";
}

int free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free loopback port");
    }
    int port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

// Forks and execs `argv` as `uid`/`gid` (when running as root); stdout/stderr go to `log`. The child
// gets SIGTERM if this process dies, so no server outlives a crashed test.
pid_t spawn(const std::vector<std::string>& argv, uid_t uid, gid_t gid, const fs::path& log) {
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        if (::getuid() == 0 && (::setgid(gid) != 0 || ::setuid(uid) != 0)) ::_exit(126);
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // after setuid, which clears it
        FILE* out = std::fopen(log.c_str(), "a");
        if (out) {
            ::dup2(::fileno(out), 1);
            ::dup2(::fileno(out), 2);
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

// Folders of earlier runs that crashed (their server died with them, the folder stayed): removed when
// the process that wrote owner.pid is gone. Folders without the file yet may be a parallel run's fresh one.
void remove_stale_folders() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::temp_directory_path(), ec)) {
        if (!entry.path().filename().string().starts_with("np-pg-test-")) continue;
        std::ifstream in(entry.path() / "owner.pid");
        long pid = 0;
        if (!(in >> pid) || pid <= 0) continue;
        if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
    }
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

class Server {
 public:
    static Server& get() {
        static Server server;
        return server;
    }
    const std::string& admin_url() {
        std::call_once(started_, [this] { start(); });
        return admin_url_;
    }
    void stop() {
        if (pid_ > 0) {
            ::kill(pid_, SIGINT);  // fast shutdown
            int status = 0;
            ::waitpid(pid_, &status, 0);
            pid_ = -1;
        }
        if (!dir_.empty()) {
            std::error_code ec;
            fs::remove_all(dir_, ec);
            dir_.clear();
        }
    }
    ~Server() { stop(); }

 private:
    void start() {
        const fs::path bin = postgres_bin_dir();
        remove_stale_folders();
        std::string tmpl = (fs::temp_directory_path() / "np-pg-test-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        std::ofstream(dir_ / "owner.pid") << ::getpid() << "\n";
        uid_t uid = ::getuid();
        gid_t gid = ::getgid();
        if (uid == 0) {
            // PostgreSQL refuses to run as root.
            passwd* pw = ::getpwnam("postgres");
            if (!pw)
                throw std::runtime_error("running as root needs the `postgres` user (package postgresql)");
            uid = pw->pw_uid;
            gid = pw->pw_gid;
            if (::chown(dir_.c_str(), uid, gid) != 0)
                throw std::runtime_error("chown of the PostgreSQL folder");
        }
        const fs::path data = dir_ / "data";
        const fs::path log = dir_ / "server.log";
        pid_t initdb = spawn({(bin / "initdb").string(), "-D", data.string(), "-A", "trust", "-U", "postgres",
                              "-E", "UTF8", "--locale=C", "-N"},
                             uid, gid, log);
        int status = 0;
        ::waitpid(initdb, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            throw std::runtime_error("initdb failed:\n" + read_file(log));
        }
        for (int attempt = 0; attempt < 3; ++attempt) {
            const int port = free_loopback_port();
            pid_ =
                spawn({(bin / "postgres").string(), "-D", data.string(), "-p", std::to_string(port), "-k",
                       dir_.string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c",
                       "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=100"},
                      uid, gid, log);
            admin_url_ = "postgresql://postgres@127.0.0.1:" + std::to_string(port) + "/postgres";
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
            while (std::chrono::steady_clock::now() < deadline) {
                if (PQping(admin_url_.c_str()) == PQPING_OK) return;
                if (::waitpid(pid_, &status, WNOHANG) == pid_) break;  // exited (port taken?): retry
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            if (::waitpid(pid_, &status, WNOHANG) == 0) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
            }
            pid_ = -1;
        }
        throw std::runtime_error("PostgreSQL did not start:\n" + read_file(log));
    }

    std::once_flag started_;
    fs::path dir_;
    pid_t pid_ = -1;
    std::string admin_url_;
};

// Stops the server when the test program ends (also after failed tests).
class ServerEnvironment : public ::testing::Environment {
 public:
    void TearDown() override { Server::get().stop(); }
};
[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new ServerEnvironment);

std::string database_of(const std::string& url) {
    return url.substr(url.rfind('/') + 1);
}

}  // namespace

bool raw_exec(const std::string& conninfo, const std::string& sql, std::string* error) {
    PGconn* conn = PQconnectdb(conninfo.c_str());
    bool ok = false;
    if (PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(
            conn, [](void*, const char*) {}, nullptr);
        PGresult* res = PQexec(conn, sql.c_str());
        auto status = PQresultStatus(res);
        ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
        if (!ok && error) *error = PQresultErrorMessage(res);
        PQclear(res);
    } else if (error) {
        *error = PQerrorMessage(conn);
    }
    PQfinish(conn);
    return ok;
}

std::string create_database() {
    const std::string& admin = Server::get().admin_url();
    const std::string name = "np_test_" + core::random_hex(6);
    std::string error;
    if (!raw_exec(admin, "CREATE DATABASE " + name, &error))
        throw std::runtime_error("CREATE DATABASE: " + error);
    return admin.substr(0, admin.rfind('/') + 1) + name;
}

void drop_database(const std::string& conninfo) {
    std::string error;
    if (!raw_exec(Server::get().admin_url(),
                  "DROP DATABASE IF EXISTS " + database_of(conninfo) + " WITH (FORCE)", &error)) {
        ADD_FAILURE() << "DROP DATABASE: " << error;
    }
}

}  // namespace np::store::test
