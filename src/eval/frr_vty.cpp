// FrrVtySession: an FRR router of a local lab reached the way vtysh itself reaches it, through its daemons'
// vty sockets (/var/run/frr/PATHSPACE/DAEMON.vty), one connection per daemon kept for the whole evaluation
// and closed with the session (issue 14). A `vtysh -c` process costs ~40-80 ms of CPU (it builds every
// daemon's command tree before running one command); a question on an open socket costs next to nothing.
//
// The protocol is vtysh's: the command line and a NUL; the daemon answers with the output and a terminator of
// three NULs and its status byte. Only read-only `show` commands that exactly one daemon answers in vtysh go
// this way (kRoutes); the daemon's output is what vtysh prints for them. Everything else (configuration,
// `show running-config` which vtysh merges, pipes, abbreviations, ping), and any answer other than success
// (so that errors read exactly as vtysh words them), runs through the platform's `vtysh -c` process as
// before.
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "core/error.hpp"
#include "eval/session.hpp"

namespace np::eval {

namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using Socket = asio::local::stream_protocol::socket;

struct Route {
    std::vector<std::string> words;  // the command's first words, spelled out
    std::string daemon;
};

// Commands that vtysh sends to one daemon only (FRR 8.4). `show ip ospf` with an instance number goes to
// ospfd-N, which has its own socket: it is left to vtysh.
const std::vector<Route>& routes() {
    static const std::vector<Route> r{
        {{"show", "ip", "route"}, "zebra"}, {{"show", "ipv6", "route"}, "zebra"},
        {{"show", "interface"}, "zebra"},   {{"show", "ip", "ospf"}, "ospfd"},
        {{"show", "ip", "bgp"}, "bgpd"},    {{"show", "bgp"}, "bgpd"},
    };
    return r;
}

}  // namespace

// The daemon that answers `command` alone in vtysh, or "" when the command must go through vtysh.
std::string frr_vty_daemon(const std::string& command) {
    if (command.find_first_of("|\"'\\\n\r") != std::string::npos) return "";
    std::istringstream in(command);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    for (const auto& r : routes()) {
        if (words.size() < r.words.size()) continue;
        if (!std::equal(r.words.begin(), r.words.end(), words.begin())) continue;
        if (r.daemon == "ospfd" && words.size() > 3 && std::isdigit(static_cast<unsigned char>(words[3][0])))
            return "";
        return r.daemon;
    }
    return "";
}

namespace {

class FrrVtySession final : public Session {
 public:
    FrrVtySession(asio::any_io_executor ex, const DeviceTarget& target, const Platform& platform)
        : ex_(std::move(ex)),
          name_(target.name),
          dir_("/var/run/frr/" + (target.frr_pathspace.empty() ? target.netns : target.frr_pathspace)),
          vtysh_(make_exec_session(ex_, target, platform)) {}

    asio::awaitable<void> open(Deadline deadline) override { co_await vtysh_->open(deadline); }

    asio::awaitable<std::string> run(const std::string& command, Deadline deadline) override {
        auto daemon = frr_vty_daemon(command);
        if (!daemon.empty()) {
            if (auto out = co_await ask(daemon, command, deadline)) co_return std::move(*out);
        }
        co_return co_await vtysh_->run(command, deadline);
    }

    asio::awaitable<void> close() override {
        for (auto& [name, s] : sockets_) {
            boost::system::error_code ec;
            s.close(ec);
        }
        sockets_.clear();
        co_await vtysh_->close();
    }

    bool broken() const override { return vtysh_->broken(); }

 private:
    static constexpr std::size_t kMaxOutput = 4 << 20;

    // The daemon's answer when it succeeded; nullopt when the command should go through vtysh instead (no
    // socket, the daemon refused it, an I/O error). Throws core::timeout past the deadline, as vtysh would.
    asio::awaitable<std::optional<std::string>> ask(const std::string& daemon, const std::string& command,
                                                    Deadline deadline) {
        auto it = sockets_.find(daemon);
        if (it != sockets_.end() && !it->second.is_open()) {  // dropped after an error or a timeout
            sockets_.erase(it);
            it = sockets_.end();
        }
        if (it == sockets_.end()) {
            Socket s(ex_);
            auto [ec] =
                co_await s.async_connect(asio::local::stream_protocol::endpoint(dir_ + "/" + daemon + ".vty"),
                                         asio::as_tuple(asio::use_awaitable));
            if (ec) co_return std::nullopt;  // not running: vtysh says so in its own words
            it = sockets_.emplace(daemon, std::move(s)).first;
            // vtysh enters the enable node on every daemon before its first command.
            auto enabled = co_await exchange(it->second, "enable", deadline);
            if (!enabled || !enabled->empty()) {
                sockets_.erase(it);
                co_return std::nullopt;
            }
        }
        co_return co_await exchange(it->second, command, deadline);
    }

    // Sends one line; returns the output when the status byte is success, nullopt otherwise. On an I/O error
    // or a runaway output the socket is closed.
    asio::awaitable<std::optional<std::string>> exchange(Socket& s, const std::string& line,
                                                         Deadline deadline) {
        std::string request = line;
        request.push_back('\0');
        asio::steady_timer timer(ex_, deadline);
        auto w = co_await (asio::async_write(s, asio::buffer(request), asio::as_tuple(asio::use_awaitable)) ||
                           timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (w.index() == 1) throw_timeout(s, line);
        if (std::get<0>(std::get<0>(w))) co_return drop(s);
        std::string in;
        std::array<char, 8192> buf{};
        while (true) {
            auto r = co_await (s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable)) ||
                               timer.async_wait(asio::as_tuple(asio::use_awaitable)));
            if (r.index() == 1) throw_timeout(s, line);
            auto [ec, n] = std::get<0>(r);
            if (ec) co_return drop(s);
            std::size_t from = in.size() < 3 ? 0 : in.size() - 3;
            in.append(buf.data(), n);
            auto end = in.find(std::string_view("\0\0\0", 3), from);
            if (end != std::string::npos && end + 4 <= in.size()) {
                if (end + 4 != in.size()) co_return drop(s);  // more than one answer: out of step
                char status = in[end + 3];
                in.resize(end);
                if (status != 0) co_return std::nullopt;
                co_return in;
            }
            if (in.size() > kMaxOutput) co_return drop(s);  // vtysh truncates it in its own way
        }
    }

    static std::nullopt_t drop(Socket& s) {
        boost::system::error_code ec;
        s.close(ec);
        return std::nullopt;
    }

    [[noreturn]] void throw_timeout(Socket& s, const std::string& line) {
        drop(s);
        throw core::timeout(name_ + ": '" + line + "' did not finish before the deadline");
    }

    asio::any_io_executor ex_;
    std::string name_, dir_;
    std::unique_ptr<Session> vtysh_;
    std::map<std::string, Socket> sockets_;
};

}  // namespace

std::unique_ptr<Session> make_frr_vty_session(asio::any_io_executor ex, const DeviceTarget& target,
                                              const Platform& platform) {
    return std::make_unique<FrrVtySession>(std::move(ex), target, platform);
}

}  // namespace np::eval
