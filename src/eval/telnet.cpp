// TelnetStream: a telnet client byte stream on Asio (RFC 854/855 option negotiation, scrapli's policy:
// DO SUPPRESS-GO-AHEAD -> WILL, other DO/DONT -> WONT, WILL -> DO, WONT -> DONT; subnegotiations skipped).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>
#include <utility>

#include "core/error.hpp"
#include "eval/session.hpp"

namespace np::eval {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

constexpr unsigned char kIac = 255, kDont = 254, kDo = 253, kWont = 252, kWill = 251, kSb = 250, kSe = 240;
constexpr unsigned char kSuppressGoAhead = 3;

class TelnetStream final : public ByteStream {
 public:
    TelnetStream(asio::any_io_executor ex, DeviceTarget target)
        : socket_(ex), watchdog_(std::make_shared<Watchdog>(ex, &socket_)), target_(std::move(target)) {}
    ~TelnetStream() override {
        watchdog_->socket = nullptr;  // a wait still queued must not touch the closed socket
        watchdog_->timer.cancel();
    }
    TelnetStream(const TelnetStream&) = delete;
    TelnetStream& operator=(const TelnetStream&) = delete;

    asio::awaitable<void> connect(Deadline deadline) override {
        // A literal address (what lab providers and inventories mostly give) needs no resolver: Asio resolves
        // on one private thread with getaddrinfo (which reads /etc/hosts and nsswitch.conf on every call), so
        // hundreds of consoles opened at once would queue behind each other there.
        boost::system::error_code aec;
        auto address = asio::ip::make_address(target_.host, aec);
        if (!aec) {
            watch(deadline);
            auto [cec] = co_await socket_.async_connect(tcp::endpoint(address, target_.port),
                                                        asio::as_tuple(asio::use_awaitable));
            if (cec == asio::error::operation_aborted && Clock::now() >= deadline)
                throw core::timeout(target_.name + ": telnet connect to " + where() + " timed out");
            if (cec) throw core::unavailable(target_.name + ": telnet " + where() + ": " + cec.message());
            socket_.set_option(tcp::no_delay(true));
            co_return;
        }
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer timer(ex, deadline);
        tcp::resolver resolver(ex);
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
            // Negotiation replies go out with the next write (the RETURN or command that usually follows at
            // once: one segment instead of two), or here, before waiting for more from the device.
            if (!replies_.empty()) co_await write_raw(std::exchange(replies_, {}));
            if (Clock::now() >= deadline) {
                // Past the deadline: only what already arrived counts.
                boost::system::error_code aec;
                if (socket_.available(aec) == 0 || aec) co_return false;
            }
            watch(deadline);
            // Received straight into `out` (no buffer per session) and decoded there in place: the decoded
            // text is never longer than the bytes on the wire.
            const std::size_t before = out.size();
            out.resize(before + read_size_);
            auto [ec, n] = co_await socket_.async_read_some(asio::buffer(out.data() + before, read_size_),
                                                            asio::as_tuple(asio::use_awaitable));
            out.resize(before + (ec ? 0 : n));
            if (ec == asio::error::operation_aborted && Clock::now() >= deadline) co_return false;
            if (ec == asio::error::eof)
                throw core::unavailable(target_.name + ": the console at " + where() + " hung up");
            if (ec) throw core::unavailable(target_.name + ": telnet " + where() + ": " + ec.message());
            // A device that fills whole reads talks in bigger pieces: read more at a time.
            if (n == read_size_ && read_size_ < kMaxRead) read_size_ *= 2;
            decode(out, before, replies_);
            if (out.size() > before) co_return true;  // only negotiation so far: keep reading
        }
    }

    asio::awaitable<void> write(std::string data) override {
        // Pending negotiation replies first (IAC sequences: never escaped), then the data with a literal 0xff
        // doubled.
        if (replies_.empty() && data.find(static_cast<char>(kIac)) == std::string::npos) {
            co_await write_raw(std::move(data));
            co_return;
        }
        std::string wire = std::exchange(replies_, {});
        wire.reserve(wire.size() + data.size());
        for (char c : data) {
            wire.push_back(c);
            if (static_cast<unsigned char>(c) == kIac) wire.push_back(c);
        }
        co_await write_raw(std::move(wire));
    }

    void close() override {
        boost::system::error_code ignored;
        socket_.close(ignored);  // sends the FIN (a shutdown() first would only cost one more system call)
    }

 private:
    asio::awaitable<void> write_raw(std::string wire) {
        auto [ec, n] =
            co_await asio::async_write(socket_, asio::buffer(wire), asio::as_tuple(asio::use_awaitable));
        if (ec) throw core::unavailable(target_.name + ": telnet write to " + where() + ": " + ec.message());
    }

    // The read deadline is enforced by one watchdog timer per session that cancels the pending read when the
    // deadline passes (Asio's "blocking_tcp_client" deadline pattern), instead of racing every read against a
    // timer with `||` (two coroutines and a cancellation per read). The timer is re-armed only when a
    // deadline earlier than the one it waits for comes; a later deadline is picked up when it fires.
    struct Watchdog {
        Watchdog(asio::any_io_executor ex, tcp::socket* s) : timer(std::move(ex)), socket(s) {}
        asio::steady_timer timer;
        tcp::socket* socket;
        Deadline deadline = Deadline::max();  // of the current read
        Deadline armed = Deadline::max();     // what the timer waits for (max: not waiting)
    };

    void watch(Deadline deadline) {
        watchdog_->deadline = deadline;
        if (deadline >= watchdog_->armed) return;
        arm(watchdog_, deadline);
    }

    static void arm(const std::shared_ptr<Watchdog>& w, Deadline at) {
        w->armed = at;
        w->timer.expires_at(at);  // cancels the previous wait (its handler sees operation_aborted)
        w->timer.async_wait([w](const boost::system::error_code& ec) {
            if (ec || !w->socket) return;
            w->armed = Deadline::max();
            if (Clock::now() >= w->deadline) {
                boost::system::error_code ignored;
                w->socket->cancel(ignored);  // the pending read ends with operation_aborted
            } else if (w->deadline != Deadline::max()) {
                arm(w, w->deadline);
            }
        });
    }

    std::string where() const { return target_.host + ":" + std::to_string(target_.port); }

    // Decodes out[from..] in place (telnet commands removed, replies to option negotiation collected).
    void decode(std::string& out, std::size_t from, std::string& replies) {
        std::size_t w = from;
        for (std::size_t r = from; r < out.size(); ++r) {
            char ch = out[r];
            auto c = static_cast<unsigned char>(ch);
            switch (state_) {
                case State::data:
                    if (c == kIac)
                        state_ = State::iac;
                    else
                        out[w++] = ch;
                    break;
                case State::iac:
                    if (c == kIac) {
                        out[w++] = ch;
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
        out.resize(w);
    }

    enum class State { data, iac, option, sub, sub_iac } state_ = State::data;
    unsigned char verb_ = 0;
    tcp::socket socket_;
    std::shared_ptr<Watchdog> watchdog_;
    DeviceTarget target_;
    std::string replies_;  // negotiation replies not sent yet
    static constexpr std::size_t kMaxRead = 16384;
    std::size_t read_size_ = 1024;
};

}  // namespace

std::unique_ptr<ByteStream> make_telnet_stream(asio::any_io_executor ex, const DeviceTarget& target) {
    return std::make_unique<TelnetStream>(std::move(ex), target);
}

}  // namespace np::eval
