// Test helper: a small blocking HTTP/1.1 client (Beast) and a child-process runner for `netpraxis serve`.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace np::testkit {

struct HttpResult {
    int status = 0;
    std::map<std::string, std::string> headers;  // lowercased names; repeated headers joined with "\n"
    std::string body;
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? "" : it->second;
    }
};

// One keep-alive connection to 127.0.0.1:port.
class HttpClient {
 public:
    explicit HttpClient(std::uint16_t port);
    ~HttpClient();
    HttpResult request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {});
    // Sends raw bytes and reads one response (malformed-request tests).
    HttpResult raw(const std::string& bytes);
    // Streaming: sends a GET and returns once headers arrive; then read_some() returns body bytes as they
    // come.
    int open_stream(const std::string& target,
                    const std::vector<std::pair<std::string, std::string>>& headers);
    std::string read_stream_until(const std::string& needle, int timeout_ms);
    bool connected() const;

 private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// `netpraxis serve` in a child process with its own SQLite file; parses the port and the first teacher's
// one-time password from its console output. "{dir}" in `config_yaml` is replaced by its private folder.
// Its store is a SQLite file in that folder unless `extra_args` name one with --store (instances sharing
// a store).
// Killed (SIGKILL) on destruction if still running.
// `listen` is its --listen ADDRESS:PORT (port 0: any free one).
class ServerProcess {
 public:
    explicit ServerProcess(const std::vector<std::string>& extra_args = {},
                           const std::string& config_yaml = "", const std::string& listen = "127.0.0.1:0");
    ~ServerProcess();
    std::uint16_t port() const { return port_; }
    int pid() const { return pid_; }
    const std::string& admin_password() const { return admin_password_; }
    const std::string& dir() const { return dir_; }
    // Sends a signal and waits for exit; returns the exit status (or -1).
    int stop(int signal, int timeout_ms = 10000);
    std::string output() const;  // everything it printed so far (stdout + stderr)

 private:
    int pid_ = -1;
    int out_fd_ = -1;
    std::uint16_t port_ = 0;
    std::string admin_password_;
    std::string dir_;
    mutable std::string output_;
    void pump(int timeout_ms) const;
};

}  // namespace np::testkit
