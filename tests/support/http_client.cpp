#include "http_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "shell.hpp"

namespace np::testkit {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
    asio::io_context ioc;
    tcp::socket socket{ioc};
    beast::flat_buffer buffer;
    std::string stream_data;
};

HttpClient::HttpClient(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
    impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

HttpClient::~HttpClient() {
    boost::system::error_code ec;
    impl_->socket.close(ec);
}

bool HttpClient::connected() const {
    return impl_->socket.is_open();
}

static HttpResult to_result(bhttp::response<bhttp::string_body>& res) {
    HttpResult r;
    r.status = res.result_int();
    for (const auto& f : res) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto& slot = r.headers[name];
        if (!slot.empty()) slot += "\n";
        slot += std::string(f.value());
    }
    r.body = res.body();
    return r;
}

HttpResult HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
    bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    bool has_ct = false;
    for (const auto& [k, v] : headers) {
        req.set(k, v);
        if (strcasecmp(k.c_str(), "content-type") == 0) has_ct = true;
    }
    if (!body.empty()) {
        if (!has_ct) req.set(bhttp::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    // A server may answer before reading the whole body (413) and stop reading: read its answer anyway.
    boost::system::error_code wec;
    bhttp::write(impl_->socket, req, wec);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    if (method == "HEAD") parser.skip(true);
    bhttp::read(impl_->socket, impl_->buffer, parser);
    auto res = parser.release();
    return to_result(res);
}

HttpResult HttpClient::raw(const std::string& bytes) {
    asio::write(impl_->socket, asio::buffer(bytes));
    bhttp::response<bhttp::string_body> res;
    boost::system::error_code ec;
    bhttp::read(impl_->socket, impl_->buffer, res, ec);
    if (ec) return {};
    return to_result(res);
}

int HttpClient::open_stream(const std::string& target,
                            const std::vector<std::pair<std::string, std::string>>& headers) {
    bhttp::request<bhttp::empty_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    bhttp::write(impl_->socket, req);
    // Read the header block by hand; the body is chunked and read raw afterwards.
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos) {
        asio::read(impl_->socket, asio::buffer(&c, 1));
        head.push_back(c);
    }
    return std::stoi(head.substr(9, 3));
}

std::string HttpClient::read_stream_until(const std::string& needle, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int fd = impl_->socket.native_handle();
    while (impl_->stream_data.find(needle) == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[4096];
        auto n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        impl_->stream_data.append(buf, static_cast<size_t>(n));
    }
    auto pos = impl_->stream_data.find(needle);
    if (pos == std::string::npos) return impl_->stream_data;
    std::string out = impl_->stream_data.substr(0, pos + needle.size());
    impl_->stream_data.erase(0, pos + needle.size());
    return out;
}

ServerProcess::ServerProcess(const std::vector<std::string>& extra_args, const std::string& config_yaml,
                             const std::string& listen) {
    char tmpl[] = "/tmp/netpraxis-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::vector<std::string> args{NETPRAXIS_BINARY};
    if (!config_yaml.empty()) {
        std::string text = config_yaml;  // "{dir}" stands for this server's private folder
        for (auto pos = text.find("{dir}"); pos != std::string::npos; pos = text.find("{dir}"))
            text.replace(pos, 5, dir_);
        std::ofstream(dir_ + "/config.yaml") << text;
        args.push_back("--config");
        args.push_back(dir_ + "/config.yaml");
    }
    args.insert(args.end(), {"serve", "--listen", listen});
    if (std::find(extra_args.begin(), extra_args.end(), "--store") == extra_args.end())
        args.insert(args.end(), {"--store", "sqlite:" + dir_ + "/np.db"});  // its own store by default
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        execv(argv[0], argv.data());
        _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    std::regex port_re("listening on https?://[0-9.]+:([0-9]+)");
    std::regex pw_re("one-time password: (\\S+)");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::smatch m;
    while (std::chrono::steady_clock::now() < deadline) {
        pump(200);
        if (std::regex_search(output_, m, port_re)) {
            port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
            break;
        }
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {  // it gave up (e.g. its port is taken)
            pid_ = -1;
            pump(0);
            break;
        }
    }
    if (!port_) {
        // No destructor runs for a constructor that throws: clean up here.
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
        close(out_fd_);
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
        throw std::runtime_error("server did not start: " + output_);
    }
    if (std::regex_search(output_, m, pw_re)) admin_password_ = m[1];
}

void ServerProcess::pump(int timeout_ms) const {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return;
    char buf[8192];
    for (;;) {
        auto n = ::read(out_fd_, buf, sizeof buf);
        if (n <= 0) break;
        output_.append(buf, static_cast<size_t>(n));
    }
}

std::string ServerProcess::output() const {
    pump(0);
    return output_;
}

int ServerProcess::stop(int sig, int timeout_ms) {
    if (pid_ <= 0) return -1;
    kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pump(20);
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
    }
    return -1;
}

ServerProcess::~ServerProcess() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    // Local labs the test left running (a failed assertion before its destroy): their VPCS, FRR and
    // namespaces outlive the server, and would hold ports other tests then plan with.
    std::error_code ec;
    const auto labs = std::filesystem::path(dir_) / "labs";
    for (const auto& e : std::filesystem::directory_iterator(labs, ec)) {
        auto env = e.path().filename().string();
        if (!e.is_directory() || env.empty() || env[0] == '.') continue;
        shell_output(std::string(NETPRAXIS_BINARY) + " --log-level error lab --state-dir '" + labs.string() +
                     "' down '" + env + "' 2>&1");
    }
    std::filesystem::remove_all(dir_, ec);
}

}  // namespace np::testkit
