#include "lab/local/console.hpp"

#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <thread>

#include "core/error.hpp"
#include "lab/local/process.hpp"

namespace np::lab {
namespace asio = boost::asio;

namespace {

class PtyConsole final : public ConsoleStream {
 public:
    PtyConsole(asio::any_io_executor ex, int master, pid_t child) : stream_(ex, master), child_(child) {}
    ~PtyConsole() override { close(); }

    asio::awaitable<std::size_t> read_some(std::span<char> buffer) override {
        auto [ec, n] = co_await stream_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                                        asio::as_tuple(asio::use_awaitable));
        // EIO on the master means the child side closed: the end of the session.
        co_return ec ? 0 : n;
    }
    asio::awaitable<void> write(std::string_view bytes) override {
        co_await asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()), asio::use_awaitable);
    }
    void resize(unsigned short rows, unsigned short cols) override {
        winsize ws{rows, cols, 0, 0};
        if (stream_.is_open()) ioctl(stream_.native_handle(), TIOCSWINSZ, &ws);
    }
    void close() override {
        boost::system::error_code ec;
        stream_.close(ec);
        if (child_ > 0) {
            // Never block the event loop: hang up, and let a short-lived thread reap (SIGKILL after 2 s).
            kill(child_, SIGHUP);
            std::thread([pid = child_] {
                for (int i = 0; i < 100; ++i) {
                    if (waitpid(pid, nullptr, WNOHANG) != 0) return;
                    std::this_thread::sleep_for(std::chrono::milliseconds(20));
                }
                kill(pid, SIGKILL);
                waitpid(pid, nullptr, 0);
            }).detach();
            child_ = -1;
        }
    }

 private:
    asio::posix::stream_descriptor stream_;
    pid_t child_;
};

class TcpConsole final : public ConsoleStream {
 public:
    explicit TcpConsole(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}
    ~TcpConsole() override { close(); }

    asio::awaitable<std::size_t> read_some(std::span<char> buffer) override {
        auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                                        asio::as_tuple(asio::use_awaitable));
        co_return ec ? 0 : n;
    }
    asio::awaitable<void> write(std::string_view bytes) override {
        co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()), asio::use_awaitable);
    }
    void resize(unsigned short, unsigned short) override {}
    void close() override {
        boost::system::error_code ec;
        socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
        socket_.close(ec);
    }

 private:
    asio::ip::tcp::socket socket_;
};

}  // namespace

std::unique_ptr<ConsoleStream> open_pty_console(asio::any_io_executor executor,
                                                const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int master = -1;
    winsize ws{24, 80, 0, 0};
    pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
    if (pid < 0) throw core::internal("forkpty failed for console");
    if (pid == 0) {
        close_inherited_fds();  // the PTY is 0-2; nothing of the server (sockets, other consoles) follows
        setenv("TERM", "xterm-256color", 1);
        execvp(args[0], args.data());
        _exit(127);
    }
    return std::make_unique<PtyConsole>(executor, master, pid);
}

asio::awaitable<std::unique_ptr<ConsoleStream>> open_tcp_console(asio::any_io_executor executor,
                                                                 std::string host, std::uint16_t port) {
    asio::ip::tcp::socket socket(executor);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) throw core::invalid("console host '" + host + "' is not an IP address");
    auto [cec] = co_await socket.async_connect({address, port}, asio::as_tuple(asio::use_awaitable));
    if (cec)
        throw core::unavailable("cannot connect to console " + host + ":" + std::to_string(port) + ": " +
                                cec.message());
    co_return std::make_unique<TcpConsole>(std::move(socket));
}

}  // namespace np::lab
