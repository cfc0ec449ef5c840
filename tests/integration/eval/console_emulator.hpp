// Scripted device consoles for tests and benchmarks: an in-process Asio telnet server per console that
// behaves like the platforms that cannot run here (cisco_ios, juniper_junos, arista_eos, mikrotik_routeros):
// option negotiation, a banner or "Press RETURN", user/privileged/config prompts, paging with a marker
// answered by a space, slow output in pieces, ANSI colour, and consoles that never answer.
#pragma once

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace np::eval::testing {

struct ConsoleScript {
    std::string banner;            // sent on connect
    bool wait_for_return = false;  // nothing (after the banner) until a RETURN arrives
    std::string user_prompt;       // e.g. "R1>" (empty: start privileged)
    std::string prompt = "R1#";    // privileged prompt
    std::string config_prompt;     // e.g. "R1(config)#"
    bool start_in_config = false;  // a previous user left the console in config mode
    std::string enable = "enable";
    std::string configure = "configure terminal";
    std::string exit_config = "end";
    std::map<std::string, std::string> outputs;  // command -> output (lines end with \n)
    std::string unknown = "% Invalid input detected at '^' marker.\n";
    std::string pager_marker;              // e.g. " --More-- "
    int page_lines = 0;                    // 0: no paging
    std::string pager_off;                 // command that disables paging (empty: cannot be disabled)
    std::chrono::milliseconds latency{0};  // before each reply
    int chunks = 1;                        // reply split into this many writes, `latency` apart
    bool silent = false;                   // accepts the connection, never sends a byte
    std::string hang_on;                   // this command never gets a reply
    std::string newline = "\r\n";
};

class ConsoleEmulator {
 public:
    explicit ConsoleEmulator(ConsoleScript script, boost::asio::io_context* shared = nullptr)
        : script_(std::move(script)),
          own_(shared == nullptr),
          io_(shared ? shared : &own_io_),
          acceptor_(*io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        port_ = acceptor_.local_endpoint().port();
        // Outputs with the console's line endings, converted once (benchmarks send thousands of replies).
        for (const auto& [command, text] : script_.outputs) wire_outputs_[command] = nl(text);
        wire_unknown_ = nl(script_.unknown);
        boost::asio::co_spawn(*io_, accept_loop(), boost::asio::detached);
        if (own_) thread_ = std::thread([this] { io_->run(); });
    }
    ~ConsoleEmulator() { stop(); }
    void stop() {
        if (own_ && thread_.joinable()) {
            io_->stop();
            thread_.join();
        }
    }
    std::uint16_t port() const { return port_; }
    std::vector<std::string> commands() const {
        std::lock_guard lock(mutex_);
        return commands_;
    }
    int connections() const { return connections_; }
    int max_open_connections() const { return max_open_; }
    void reset_max_open() { max_open_ = 0; }
    bool left_in_config() const { return last_mode_in_config_; }

 private:
    using tcp = boost::asio::ip::tcp;

    boost::asio::awaitable<void> accept_loop() {
        while (true) {
            auto [ec, socket] =
                co_await acceptor_.async_accept(boost::asio::as_tuple(boost::asio::use_awaitable));
            if (ec) co_return;
            ++connections_;
            max_open_ = std::max(max_open_.load(), ++open_);
            boost::system::error_code ignored;
            socket.set_option(tcp::no_delay(true), ignored);
            boost::asio::co_spawn(*io_, serve(std::make_shared<tcp::socket>(std::move(socket))),
                                  boost::asio::detached);
        }
    }

    static boost::asio::awaitable<void> send(tcp::socket& s, std::string data) {
        co_await boost::asio::async_write(s, boost::asio::buffer(data),
                                          boost::asio::as_tuple(boost::asio::use_awaitable));
    }

    // One timer per connection, re-armed for each pause.
    static boost::asio::awaitable<void> pause(boost::asio::steady_timer& t, std::chrono::milliseconds d) {
        if (d.count() == 0) co_return;
        t.expires_after(d);
        co_await t.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }

    std::string nl(const std::string& text) const {
        std::string out;
        for (char c : text) {
            if (c == '\n')
                out += script_.newline;
            else
                out.push_back(c);
        }
        return out;
    }

    // Reads one input line (telnet commands stripped); false on EOF.
    boost::asio::awaitable<bool> read_line(tcp::socket& s, std::string& pending, std::string& line,
                                           int& iac_skip) {
        while (true) {
            auto pos = pending.find_first_of("\r\n");
            if (pos != std::string::npos) {
                line = pending.substr(0, pos);
                std::size_t skip = pos + 1;
                if (pending[pos] == '\r' && skip < pending.size() &&
                    (pending[skip] == '\n' || pending[skip] == '\0'))
                    ++skip;
                pending.erase(0, skip);
                co_return true;
            }
            char buf[512];
            auto [ec, n] = co_await s.async_read_some(boost::asio::buffer(buf),
                                                      boost::asio::as_tuple(boost::asio::use_awaitable));
            if (ec) co_return false;
            for (std::size_t i = 0; i < n; ++i) {
                auto c = static_cast<unsigned char>(buf[i]);
                if (iac_skip > 0) {
                    --iac_skip;
                    continue;
                }
                if (c == 255) {
                    iac_skip = 2;
                    continue;
                }
                pending.push_back(static_cast<char>(c));
            }
        }
    }

    boost::asio::awaitable<void> serve(std::shared_ptr<tcp::socket> sp) {
        struct Closed {
            std::atomic<int>& open;
            ~Closed() { --open; }
        } closed{open_};
        tcp::socket& s = *sp;
        if (script_.silent) {
            char b[64];
            while (true) {
                auto [ec, n] = co_await s.async_read_some(boost::asio::buffer(b),
                                                          boost::asio::as_tuple(boost::asio::use_awaitable));
                if (ec) co_return;
            }
        }
        bool privileged = script_.user_prompt.empty();
        bool config = script_.start_in_config;
        bool paging = script_.page_lines > 0;
        auto prompt = [&]() -> const std::string& {
            return config ? script_.config_prompt : privileged ? script_.prompt : script_.user_prompt;
        };
        // IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC DO TERMINAL-TYPE (the client should refuse it), the
        // banner, and the first prompt unless the console waits for a RETURN: one write, as a console that
        // is already up sends them.
        std::string greeting("\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18", 9);
        greeting += nl(script_.banner);
        if (!script_.wait_for_return) greeting += script_.newline + prompt();
        co_await send(s, std::move(greeting));
        std::string pending, line;
        int iac_skip = 0;
        if (script_.wait_for_return) {
            if (!co_await read_line(s, pending, line, iac_skip)) co_return;
            boost::asio::steady_timer first(*io_);
            co_await pause(first, script_.latency);  // the wake-up RETURN is a round trip like any other
            co_await send(s, script_.newline + prompt());
        }
        boost::asio::steady_timer timer(*io_);
        std::string echo;
        while (co_await read_line(s, pending, line, iac_skip)) {
            {
                std::lock_guard lock(mutex_);
                commands_.push_back(line);
            }
            echo.assign(line).append(script_.newline);  // echoed at once, as a terminal does
            co_await boost::asio::async_write(s, boost::asio::buffer(echo),
                                              boost::asio::as_tuple(boost::asio::use_awaitable));
            const std::string* wire = nullptr;  // the reply already in wire form (no paging)
            std::string out;
            if (line.empty()) {
            } else if (line == script_.hang_on) {
                continue;  // never answers this one
            } else if (!script_.pager_off.empty() && line == script_.pager_off) {
                paging = false;
            } else if (line == script_.enable && !privileged) {
                privileged = true;
            } else if (line == script_.configure && privileged) {
                config = true;
            } else if (line == script_.exit_config && config) {
                config = false;
            } else if (auto it = script_.outputs.find(line); it != script_.outputs.end()) {
                out = it->second;
                wire = &wire_outputs_[line];
            } else {
                out = script_.unknown;
                wire = &wire_unknown_;
            }
            if (paging && !out.empty()) {
                // Send a page, then the marker; a space gives the next page, q stops.
                std::size_t lines = 0, start = 0;
                bool stopped = false;
                for (std::size_t i = 0; i < out.size() && !stopped; ++i) {
                    if (out[i] != '\n' || ++lines % static_cast<std::size_t>(script_.page_lines) != 0 ||
                        i + 1 == out.size())
                        continue;
                    co_await send(s, nl(out.substr(start, i + 1 - start)) + script_.pager_marker);
                    wire = nullptr;
                    start = i + 1;
                    char key = 0;
                    while (true) {
                        auto [ec, n] = co_await s.async_read_some(
                            boost::asio::buffer(&key, 1), boost::asio::as_tuple(boost::asio::use_awaitable));
                        if (ec) co_return;
                        if (key == ' ' || key == 'q') break;
                    }
                    co_await send(s, std::string(script_.pager_marker.size(), '\b') +
                                         std::string(script_.pager_marker.size(), ' ') +
                                         std::string(script_.pager_marker.size(), '\b'));
                    stopped = key == 'q';
                }
                out = stopped ? std::string() : out.substr(start);
            }
            std::string reply = (wire ? *wire : nl(out)) + script_.newline + prompt();
            int chunks = std::max(1, script_.chunks);
            std::size_t size =
                (reply.size() + static_cast<std::size_t>(chunks) - 1) / static_cast<std::size_t>(chunks);
            for (std::size_t off = 0; off < reply.size(); off += size) {
                co_await pause(timer, script_.latency);
                co_await boost::asio::async_write(
                    s, boost::asio::buffer(reply.data() + off, std::min(size, reply.size() - off)),
                    boost::asio::as_tuple(boost::asio::use_awaitable));
            }
            last_mode_in_config_ = config;
        }
        last_mode_in_config_ = config;
    }

    ConsoleScript script_;
    std::map<std::string, std::string> wire_outputs_;
    std::string wire_unknown_;
    bool own_;
    boost::asio::io_context own_io_;
    boost::asio::io_context* io_;
    tcp::acceptor acceptor_;
    std::uint16_t port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<std::string> commands_;
    std::atomic<int> connections_{0}, open_{0}, max_open_{0};
    std::atomic<bool> last_mode_in_config_{false};
};

}  // namespace np::eval::testing
