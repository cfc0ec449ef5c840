// TelnetStream: a telnet client byte stream on Asio (RFC 854/855 option negotiation, scrapli's policy:
// DO SUPPRESS-GO-AHEAD -> WILL, other DO/DONT -> WONT, WILL -> DO, WONT -> DONT; subnegotiations skipped).
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "core/error.hpp"
#include "eval/session.hpp"

namespace np::eval {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

constexpr unsigned char kIac = 255, kDont = 254, kDo = 253, kWont = 252, kWill = 251, kSb = 250, kSe = 240;
constexpr unsigned char kSuppressGoAhead = 3;

class TelnetStream final : public ByteStream {
 public:
    TelnetStream(asio::any_io_executor ex, DeviceTarget target)
        : socket_(ex), timer_(ex), target_(std::move(target)) {}

    asio::awaitable<void> connect(Deadline deadline) override {
        auto ex = co_await asio::this_coro::executor;
        tcp::resolver resolver(ex);
        asio::steady_timer timer(ex, deadline);
        auto resolved = co_await (resolver.async_resolve(target_.host, std::to_string(target_.port),
                                                         asio::as_tuple(asio::use_awaitable)) ||
                                  timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (resolved.index() == 1)
            throw core::timeout(target_.name + ": resolving " + target_.host + " timed out");
        auto [rec, endpoints] = std::get<0>(resolved);
        if (rec)
            throw core::unavailable(target_.name + ": cannot resolve " + target_.host + ": " + rec.message());
        auto connected =
            co_await (asio::async_connect(socket_, endpoints, asio::as_tuple(asio::use_awaitable)) ||
                      timer.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (connected.index() == 1)
            throw core::timeout(target_.name + ": telnet connect to " + where() + " timed out");
        auto [cec, ep] = std::get<0>(connected);
        if (cec) throw core::unavailable(target_.name + ": telnet " + where() + ": " + cec.message());
        socket_.set_option(tcp::no_delay(true));
    }

    asio::awaitable<bool> read_some(std::string& out, Deadline deadline) override {
        while (true) {
            timer_.expires_at(deadline);  // one timer per session: no allocation per read
            auto r =
                co_await (socket_.async_read_some(asio::buffer(buf_), asio::as_tuple(asio::use_awaitable)) ||
                          timer_.async_wait(asio::as_tuple(asio::use_awaitable)));
            if (r.index() == 1) co_return false;
            auto [ec, n] = std::get<0>(r);
            if (ec == asio::error::eof)
                throw core::unavailable(target_.name + ": the console at " + where() + " hung up");
            if (ec) throw core::unavailable(target_.name + ": telnet " + where() + ": " + ec.message());
            std::string replies;
            std::size_t before = out.size();
            decode(std::string_view(buf_.data(), n), out, replies);
            if (!replies.empty()) co_await write_raw(std::move(replies));  // IAC sequences: never escaped
            if (out.size() > before) co_return true;  // only negotiation so far: keep reading
        }
    }

    asio::awaitable<void> write(std::string data) override {
        // A literal 0xff in data must be doubled on the wire.
        std::string wire;
        wire.reserve(data.size());
        for (char c : data) {
            wire.push_back(c);
            if (static_cast<unsigned char>(c) == kIac) wire.push_back(c);
        }
        co_await write_raw(std::move(wire));
    }

    void close() override {
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        socket_.close(ignored);
    }

 private:
    asio::awaitable<void> write_raw(std::string wire) {
        auto [ec, n] =
            co_await asio::async_write(socket_, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
        if (ec) throw core::unavailable(target_.name + ": telnet write to " + where() + ": " + ec.message());
    }

    std::string where() const { return target_.host + ":" + std::to_string(target_.port); }

    void decode(std::string_view in, std::string& out, std::string& replies) {
        for (char ch : in) {
            auto c = static_cast<unsigned char>(ch);
            switch (state_) {
                case State::data:
                    if (c == kIac)
                        state_ = State::iac;
                    else
                        out.push_back(ch);
                    break;
                case State::iac:
                    if (c == kIac) {
                        out.push_back(ch);
                        state_ = State::data;
                    } else if (c == kDo || c == kDont || c == kWill || c == kWont) {
                        verb_ = c;
                        state_ = State::option;
                    } else if (c == kSb) {
                        state_ = State::sub;
                    } else {
                        state_ = State::data;  // NOP, GA, ... carry nothing
                    }
                    break;
                case State::option: {
                    unsigned char answer = verb_ == kDo     ? (c == kSuppressGoAhead ? kWill : kWont)
                                           : verb_ == kDont ? kWont
                                           : verb_ == kWill ? kDo
                                                            : kDont;
                    replies.push_back(static_cast<char>(kIac));
                    replies.push_back(static_cast<char>(answer));
                    replies.push_back(static_cast<char>(c));
                    state_ = State::data;
                    break;
                }
                case State::sub:
                    if (c == kIac) state_ = State::sub_iac;
                    break;
                case State::sub_iac: state_ = c == kSe ? State::data : State::sub; break;
            }
        }
    }

    enum class State { data, iac, option, sub, sub_iac } state_ = State::data;
    unsigned char verb_ = 0;
    tcp::socket socket_;
    asio::steady_timer timer_;
    DeviceTarget target_;
    std::array<char, 4096> buf_{};
};

}  // namespace

std::unique_ptr<ByteStream> make_telnet_stream(asio::any_io_executor ex, const DeviceTarget& target) {
    return std::make_unique<TelnetStream>(std::move(ex), target);
}

}  // namespace np::eval
