#include "gns3sim/devices.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <list>

#include "core/error.hpp"
#include "core/log.hpp"

namespace np::gns3sim {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

namespace {

// Telnet NVT input to terminal input: IAC commands and subnegotiations dropped, IAC IAC is 0xff, CR LF and
// CR NUL are one CR (RETURN on a terminal).
class NvtFilter {
 public:
    std::string feed(std::string_view in) {
        std::string out;
        for (unsigned char c : in) {
            switch (state_) {
                case S::data:
                    if (c == 255)
                        state_ = S::iac;
                    else if (c == '\r')
                        out.push_back('\r'), state_ = S::cr;
                    else
                        out.push_back(static_cast<char>(c));
                    break;
                case S::cr:
                    state_ = S::data;
                    if (c == '\n' || c == 0) break;
                    if (c == 255)
                        state_ = S::iac;
                    else if (c == '\r')
                        out.push_back('\r'), state_ = S::cr;
                    else
                        out.push_back(static_cast<char>(c));
                    break;
                case S::iac:
                    if (c == 255)
                        out.push_back(static_cast<char>(c)), state_ = S::data;
                    else if (c == 250)
                        state_ = S::sb;
                    else if (c >= 251 && c <= 254)
                        state_ = S::option;
                    else
                        state_ = S::data;
                    break;
                case S::option: state_ = S::data; break;
                case S::sb:
                    if (c == 255) state_ = S::sb_iac;
                    break;
                case S::sb_iac: state_ = c == 240 ? S::data : S::sb; break;
            }
        }
        return out;
    }

 private:
    enum class S { data, cr, iac, option, sb, sb_iac } state_ = S::data;
};

struct Session {
    tcp::socket socket;
    std::unique_ptr<lab::ConsoleStream> device;
    bool closed = false;
    explicit Session(tcp::socket s) : socket(std::move(s)) {}
    void close() {
        if (closed) return;
        closed = true;
        boost::system::error_code ec;
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        if (device) device->close();
    }
};

}  // namespace

struct ConsoleListener::Impl : std::enable_shared_from_this<ConsoleListener::Impl> {
    asio::any_io_executor executor;
    std::string address;
    std::uint16_t port;
    ConsoleOpener opener;
    bool telnet_to_pty;
    tcp::acceptor acceptor;
    std::list<std::weak_ptr<Session>> sessions;
    bool stopped = false;

    Impl(asio::any_io_executor ex, std::string a, std::uint16_t p, ConsoleOpener o, bool nvt)
        : executor(ex),
          address(std::move(a)),
          port(p),
          opener(std::move(o)),
          telnet_to_pty(nvt),
          acceptor(ex) {}

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        while (!stopped) {
            auto [ec, socket] = co_await acceptor.async_accept(nothrow);
            if (ec) {
                if (stopped || ec == asio::error::operation_aborted) co_return;
                continue;
            }
            auto s = std::make_shared<Session>(std::move(socket));
            sessions.remove_if([](const auto& w) { return w.expired(); });
            sessions.push_back(s);
            asio::co_spawn(executor, run(s), asio::detached);
        }
    }

    asio::awaitable<void> run(std::shared_ptr<Session> s) {
        auto self = shared_from_this();
        try {
            s->device = co_await opener();
        } catch (const std::exception& e) {
            log::warn("gns3sim.console", {{"port", port}, {"error", e.what()}});
            s->close();
            co_return;
        }
        if (s->closed) {
            s->device->close();
            co_return;
        }
        asio::co_spawn(executor, device_to_client(s), asio::detached);
        NvtFilter nvt;
        char buf[4096];
        for (;;) {
            auto [ec, n] = co_await s->socket.async_read_some(asio::buffer(buf), nothrow);
            if (ec || n == 0) break;
            std::string data(buf, n);
            if (telnet_to_pty) data = nvt.feed(data);
            if (data.empty()) continue;
            try {
                co_await s->device->write(data);
            } catch (const std::exception&) {
                break;
            }
        }
        s->close();
    }

    static asio::awaitable<void> device_to_client(std::shared_ptr<Session> s) {
        char buf[4096];
        for (;;) {
            std::size_t n = 0;
            try {
                n = co_await s->device->read_some(std::span<char>(buf, sizeof buf));
            } catch (const std::exception&) {
                n = 0;
            }
            if (n == 0) break;
            auto [ec, w] = co_await asio::async_write(s->socket, asio::buffer(buf, n), nothrow);
            if (ec) break;
        }
        s->close();
    }
};

ConsoleListener::ConsoleListener(asio::any_io_executor executor, std::string address, std::uint16_t port,
                                 ConsoleOpener opener, bool telnet_to_pty)
    : impl_(std::make_shared<Impl>(executor, std::move(address), port, std::move(opener), telnet_to_pty)) {}

ConsoleListener::~ConsoleListener() {
    stop();
}

void ConsoleListener::start() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(impl_->address, ec);
    if (ec) throw core::invalid("console host '" + impl_->address + "' is not an IP address");
    tcp::endpoint ep(addr, impl_->port);
    impl_->acceptor.open(ep.protocol(), ec);
    if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(ep, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        throw core::conflict("Console port " + std::to_string(impl_->port) +
                             " is already used by another process");
    asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
}

void ConsoleListener::stop() {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    for (auto& w : impl_->sessions)
        if (auto s = w.lock()) s->close();
    impl_->sessions.clear();
}

bool port_free(const std::string& address, std::uint16_t port) {
    asio::io_context io;
    tcp::acceptor a(io);
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(address, ec);
    if (ec) return false;
    tcp::endpoint ep(addr, port);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    return !ec;
}

}  // namespace np::gns3sim
