#include "lab/telnet_console.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <deque>
#include <utility>

namespace np::lab {
namespace asio = boost::asio;

namespace {
constexpr unsigned char kIac = 255, kDont = 254, kDo = 253, kWont = 252, kWill = 251, kSb = 250, kSe = 240;
constexpr unsigned char kEcho = 1, kSuppressGoAhead = 3, kNaws = 31;

std::string command(unsigned char verb, unsigned char option) {
    return {static_cast<char>(kIac), static_cast<char>(verb), static_cast<char>(option)};
}
}  // namespace

void TelnetCodec::decode(std::string_view in, std::string& clean, std::string& replies) {
    for (char ch : in) {
        auto c = static_cast<unsigned char>(ch);
        switch (state_) {
            case State::data:
                if (c == kIac)
                    state_ = State::iac;
                else
                    clean += ch;
                break;
            case State::iac:
                if (c == kIac) {
                    clean += ch;  // IAC IAC: a data byte 255
                    state_ = State::data;
                } else if (c >= kWill && c <= kDont) {
                    verb_ = c;
                    state_ = State::option;
                } else {
                    state_ = c == kSb ? State::sb : State::data;  // NOP, GA, ...: nothing to show
                }
                break;
            case State::option: {
                state_ = State::data;
                if (verb_ == kDo) {
                    bool accept = c == kSuppressGoAhead || c == kNaws;
                    if (accept && !us_[c]) {
                        us_[c] = true;
                        replies += command(kWill, c);
                        if (c == kNaws) {
                            naws_ = true;
                            replies += naws();
                        }
                    } else if (!accept && !us_[c] && !refused_[c]) {
                        refused_[c] = true;
                        replies += command(kWont, c);
                    }
                } else if (verb_ == kDont) {
                    if (us_[c]) replies += command(kWont, c);
                    us_[c] = false;
                    if (c == kNaws) naws_ = false;
                } else if (verb_ == kWill) {
                    bool accept = c == kEcho || c == kSuppressGoAhead;
                    if (accept && !him_[c]) {
                        him_[c] = true;
                        replies += command(kDo, c);
                    } else if (!accept && !declined_[c]) {
                        declined_[c] = true;
                        replies += command(kDont, c);
                    }
                } else {  // WONT
                    if (him_[c]) replies += command(kDont, c);
                    him_[c] = false;
                }
                break;
            }
            case State::sb:
                if (c == kIac) state_ = State::sb_iac;
                break;
            case State::sb_iac: state_ = c == kSe ? State::data : State::sb; break;
        }
    }
}

std::string TelnetCodec::encode(std::string_view input) {
    std::string out;
    out.reserve(input.size() + 2);
    for (char ch : input) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\n' && cr_) {  // the LF of a CR LF whose LF we already sent
            cr_ = false;
            continue;
        }
        cr_ = false;
        if (c == kIac) {
            out += "\xff\xff";
        } else if (c == '\r') {
            out += "\r\n";
            cr_ = true;
        } else {
            out += ch;
        }
    }
    return out;
}

std::string TelnetCodec::window(unsigned short cols, unsigned short rows) {
    cols_ = cols;
    rows_ = rows;
    return naws_ ? naws() : std::string();
}

std::string TelnetCodec::naws() const {
    std::string out = {static_cast<char>(kIac), static_cast<char>(kSb), static_cast<char>(kNaws)};
    for (unsigned short v : {cols_, rows_}) {
        for (auto byte : {static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v & 0xff)}) {
            out += static_cast<char>(byte);
            if (byte == kIac) out += static_cast<char>(kIac);
        }
    }
    out += static_cast<char>(kIac);
    out += static_cast<char>(kSe);
    return out;
}

namespace {

class TelnetConsole final : public ConsoleStream {
 public:
    TelnetConsole(asio::any_io_executor ex, std::unique_ptr<ConsoleStream> raw)
        : ex_(std::move(ex)),
          raw_(std::shared_ptr<ConsoleStream>(std::move(raw))),
          state_(std::make_shared<Writes>()) {}
    ~TelnetConsole() override { close(); }

    asio::awaitable<std::size_t> read_some(std::span<char> buffer) override {
        // Device bytes may be all negotiation: read again until there is something to show (or the end).
        while (pending_.empty()) {
            char raw[4096];
            auto n = co_await raw_->read_some(std::span<char>(raw, sizeof raw));
            if (n == 0) co_return 0;
            std::string replies;
            codec_.decode(std::string_view(raw, n), pending_, replies);
            if (!replies.empty()) co_await send(std::move(replies));
        }
        auto n = std::min(buffer.size(), pending_.size());
        std::copy_n(pending_.data(), n, buffer.data());
        pending_.erase(0, n);
        co_return n;
    }
    asio::awaitable<void> write(std::string_view bytes) override { co_await send(codec_.encode(bytes)); }
    void resize(unsigned short rows, unsigned short cols) override {
        auto bytes = codec_.window(cols, rows);
        if (bytes.empty() || state_->closed) return;
        asio::co_spawn(ex_, send_detached(state_, raw_, std::move(bytes)), asio::detached);
    }
    void close() override {
        if (state_->closed) return;
        state_->closed = true;
        raw_->close();
    }

 private:
    // Writes in order, one at a time: the first caller drains the queue, later ones only add to it.
    struct Writes {
        std::deque<std::string> queue;
        bool writing = false;
        bool closed = false;
    };
    static asio::awaitable<void> drain(std::shared_ptr<Writes> w, ConsoleStream* raw) {
        w->writing = true;
        try {
            while (!w->queue.empty() && !w->closed) {
                auto next = std::move(w->queue.front());
                w->queue.pop_front();
                co_await raw->write(next);
            }
        } catch (...) {
            w->writing = false;
            w->queue.clear();
            throw;
        }
        w->writing = false;
    }
    asio::awaitable<void> send(std::string bytes) {
        if (state_->closed || bytes.empty()) co_return;
        state_->queue.push_back(std::move(bytes));
        if (!state_->writing) co_await drain(state_, raw_.get());
    }
    static asio::awaitable<void> send_detached(std::shared_ptr<Writes> w, std::shared_ptr<ConsoleStream> raw,
                                               std::string bytes) {
        if (w->closed) co_return;
        w->queue.push_back(std::move(bytes));
        if (w->writing) co_return;
        try {
            co_await drain(w, raw.get());
        } catch (...) {  // the connection ended; the reader sees it
        }
    }

    asio::any_io_executor ex_;
    std::shared_ptr<ConsoleStream> raw_;  // shared with a window-size write still running
    std::shared_ptr<Writes> state_;
    TelnetCodec codec_;
    std::string pending_;
};

}  // namespace

std::unique_ptr<ConsoleStream> telnet_console(asio::any_io_executor executor,
                                              std::unique_ptr<ConsoleStream> raw) {
    return std::make_unique<TelnetConsole>(std::move(executor), std::move(raw));
}

}  // namespace np::lab
