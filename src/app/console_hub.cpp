#include "app/console_hub.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <utility>

#include "core/error.hpp"
#include "core/log.hpp"

namespace np::app {
namespace {

namespace asio = boost::asio;

// A viewer gone this far behind (a stalled browser) is dropped rather than buffered without bound.
constexpr std::size_t kMaxPending = 1024 * 1024;
constexpr int kReconnectAttempts = 6;
// Input kept during a pause goes to the device once it has answered the wake-up RETURN and printed nothing
// for kQuiet, or after kAnswerBound without an answer.
constexpr auto kQuiet = std::chrono::milliseconds(200);
constexpr auto kAnswerBound = std::chrono::seconds(3);
const std::string kRefused =
    "\r\n[netpraxis] input refused: more than 4 KiB typed while the console is paused for grading\r\n";

asio::awaitable<void> wait(asio::steady_timer& timer) {
    timer.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

// What one viewer has still to read; shared by the hub and the viewer's stream.
struct Viewer {
    Viewer(asio::any_io_executor ex, bool writer) : signal(std::move(ex)), interactive(writer) {}
    std::string pending;
    asio::steady_timer signal;  // wakes the viewer's read
    bool interactive;
    bool closed = false;
    bool told_refused = false;  // the refusal is printed once per pause
    std::string queued;         // typed while the device was not connected: sent when it is again
    void push(std::string_view bytes) {
        if (closed) return;
        if (pending.size() + bytes.size() > kMaxPending)
            closed = true;
        else
            pending.append(bytes);
        signal.cancel();
    }
    void end() {
        closed = true;
        signal.cancel();
    }
};

// One connection to the device, with its writes in order (one at a time).
struct Link {
    Link(asio::any_io_executor ex, std::unique_ptr<lab::ConsoleStream> s)
        : stream(std::move(s)), signal(std::move(ex)) {}
    std::unique_ptr<lab::ConsoleStream> stream;
    std::deque<std::string> out;
    asio::steady_timer signal;  // wakes the writer
    bool closed = false;
    void send(std::string bytes) {
        if (closed) return;
        out.push_back(std::move(bytes));
        signal.cancel();
    }
    void close() {
        if (closed) return;
        closed = true;
        stream->close();  // the device is free now (a socket closed; never `quit`)
        signal.cancel();
    }
};

}  // namespace

struct ConsoleHub::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::any_io_executor ex, Opener o) : executor(ex), open(std::move(o)), ready(ex), quiet(ex) {
        ready.expires_at(asio::steady_timer::time_point::max());
    }

    asio::any_io_executor executor;
    Opener open;
    std::function<void()> on_empty;
    int pauses = 0;            // pause() calls not yet resumed
    asio::steady_timer ready;  // wakes start() callers waiting for a connection being made
    std::shared_ptr<Link> link;
    std::vector<std::shared_ptr<Viewer>> viewers;
    std::string recent;  // the last kRecent bytes the device printed (and notices)
    unsigned short rows = 0, cols = 0;
    bool connecting = false;
    bool ended = false;
    bool holding = false;       // input kept during a pause waits for the device's answer (release())
    std::uint64_t printed = 0;  // reads from the device so far
    asio::steady_timer quiet;   // release()'s wait, cut short by each read

    void broadcast(std::string_view bytes) {
        recent.append(bytes);
        if (recent.size() > kRecent) recent.erase(0, ConsoleHub::safe_start(recent, recent.size() - kRecent));
        for (auto& v : viewers) v->push(bytes);
    }

    void end() {
        if (ended) return;
        ended = true;
        if (link) link->close();
        link.reset();
        for (auto& v : viewers) v->end();
        viewers.clear();
        ready.cancel();
        if (auto f = std::exchange(on_empty, nullptr)) f();
    }

    void install(std::unique_ptr<lab::ConsoleStream> stream) {
        link = std::make_shared<Link>(executor, std::move(stream));
        if (rows && cols) link->stream->resize(rows, cols);
        // The console shows its prompt once it gets a line (VPCS, IOS): one RETURN per connection.
        link->send("\r");
        // Then what viewers typed while it was paused (or connecting), once the device has answered that
        // RETURN and gone quiet (VPCS drops a line that comes while it still works on the last one).
        holding = std::any_of(viewers.begin(), viewers.end(), [](auto& v) { return !v->queued.empty(); });
        if (holding) asio::co_spawn(executor, release(shared_from_this(), link), asio::detached);
        asio::co_spawn(executor, reader(shared_from_this(), link), asio::detached);
        asio::co_spawn(executor, writer(link), asio::detached);
    }

    // Sends the input kept during a pause after the device's answer to the wake-up RETURN and a short
    // quiet (kQuiet without output), or after kAnswerBound when it prints nothing.
    static asio::awaitable<void> release(std::shared_ptr<Impl> self, std::shared_ptr<Link> l) {
        auto bound = std::chrono::steady_clock::now() + kAnswerBound;
        for (;;) {
            auto before = self->printed;
            self->quiet.expires_at(self->printed ? std::min(bound, std::chrono::steady_clock::now() + kQuiet)
                                                 : bound);
            boost::system::error_code ec;
            co_await self->quiet.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (l->closed || self->link != l) co_return;  // paused again, or ended: kept for the next one
            if (self->printed == before || std::chrono::steady_clock::now() >= bound) break;
        }
        self->holding = false;
        for (auto& v : self->viewers)
            if (!v->queued.empty()) l->send(std::exchange(v->queued, {}));
    }

    static asio::awaitable<void> reader(std::shared_ptr<Impl> self, std::shared_ptr<Link> l) {
        std::string buffer(16 * 1024, '\0');
        for (;;) {
            std::size_t n = 0;
            try {
                n = co_await l->stream->read_some(std::span<char>(buffer.data(), buffer.size()));
            } catch (const std::exception& e) {
                log::debug("console.hub_read", {{"error", e.what()}});
            }
            if (n == 0 || l->closed) break;
            self->broadcast(std::string_view(buffer.data(), n));
            ++self->printed;
            if (self->holding) self->quiet.cancel();
        }
        l->close();
        // The device closed it (not a pause, not the last viewer leaving): the consoles end with it.
        if (self->link == l) self->end();
    }

    static asio::awaitable<void> writer(std::shared_ptr<Link> l) {
        while (!l->closed) {
            if (l->out.empty()) {
                co_await wait(l->signal);
                continue;
            }
            auto bytes = std::move(l->out.front());
            l->out.pop_front();
            try {
                co_await l->stream->write(bytes);
            } catch (const std::exception& e) {
                log::debug("console.hub_write", {{"error", e.what()}});
                l->close();  // the reader ends the hub
            }
        }
    }

    // Connects after a pause, a few times if the device is still busy, then tells the viewers.
    static asio::awaitable<void> reconnect(std::shared_ptr<Impl> self, std::string notice) {
        asio::steady_timer backoff(self->executor);
        for (int attempt = 1; attempt <= kReconnectAttempts; ++attempt) {
            if (self->ended || self->pauses > 0 || self->link || self->connecting) co_return;
            self->connecting = true;
            std::unique_ptr<lab::ConsoleStream> stream;
            std::string error;
            try {
                stream = co_await self->open();
            } catch (const std::exception& e) {
                error = e.what();
            }
            self->connecting = false;
            if (stream) {
                if (self->ended || self->pauses > 0 || self->link) {
                    stream->close();
                    co_return;
                }
                self->install(std::move(stream));
                self->broadcast(notice);
                co_return;
            }
            log::warn("console.reconnect", {{"attempt", attempt}, {"error", error}});
            backoff.expires_after(std::chrono::milliseconds(250 * attempt));
            boost::system::error_code ec;
            co_await backoff.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        self->broadcast("\r\n[netpraxis] the console could not connect to the device again: reopen it\r\n");
        self->end();
    }
};

namespace {

class ViewerStream final : public lab::ConsoleStream {
 public:
    ViewerStream(std::weak_ptr<ConsoleHub::Impl> hub, std::shared_ptr<Viewer> v)
        : hub_(std::move(hub)), v_(std::move(v)) {}
    ~ViewerStream() override { close(); }

    asio::awaitable<std::size_t> read_some(std::span<char> buffer) override {
        auto v = v_;  // kept alive across the wait
        while (v->pending.empty()) {
            if (v->closed) co_return 0;
            co_await wait(v->signal);
        }
        auto n = std::min(buffer.size(), v->pending.size());
        std::memcpy(buffer.data(), v->pending.data(), n);
        v->pending.erase(0, n);
        co_return n;
    }
    asio::awaitable<void> write(std::string_view bytes) override {
        auto hub = hub_.lock();
        if (!hub || hub->ended || v_->closed) throw core::unavailable("the console closed");
        if (!v_->interactive || bytes.empty()) co_return;  // a watcher's keystrokes never reach the device
        if (hub->pauses > 0 || !hub->link || hub->holding) {
            // Kept for the device (bounded): it is sent when the hub connects again.
            if (v_->queued.size() + bytes.size() <= ConsoleHub::kMaxQueued) {
                v_->queued.append(bytes);
            } else if (!v_->told_refused) {
                v_->push(kRefused);
                v_->told_refused = true;
            }
            co_return;
        }
        hub->link->send(std::string(bytes));
    }
    void resize(unsigned short rows, unsigned short cols) override {
        auto hub = hub_.lock();
        if (!hub || !v_->interactive) return;
        hub->rows = rows;
        hub->cols = cols;
        if (hub->link) hub->link->stream->resize(rows, cols);
    }
    void close() override {
        if (detached_) return;
        detached_ = true;
        v_->end();
        auto hub = hub_.lock();
        if (!hub) return;
        std::erase(hub->viewers, v_);
        if (hub->viewers.empty()) hub->end();  // the last one out closes the device connection
    }

 private:
    std::weak_ptr<ConsoleHub::Impl> hub_;
    std::shared_ptr<Viewer> v_;
    bool detached_ = false;
};

}  // namespace

namespace {
// Where the escape sequence starting at `esc` (an ESC) ends (one past its last byte), or npos when `s` ends
// first. CSI: ESC [ parameters intermediates final (0x40-0x7E); OSC, DCS, SOS, PM, APC: up to BEL or ST
// (ESC \\); others: ESC, intermediates (0x20-0x2F), one final byte. One that does not end within its bound
// (64 bytes for CSI, 1 KiB for a string) is garbage: it ends after ESC and its kind.
std::size_t escape_end(std::string_view s, std::size_t esc) {
    std::size_t i = esc + 1;
    if (i >= s.size()) return std::string_view::npos;
    char kind = s[i++];
    if (kind == '[') {
        for (; i < s.size() && i - esc < 64; ++i)
            if (s[i] >= 0x40 && s[i] <= 0x7E) return i + 1;
        return i < s.size() ? esc + 2 : std::string_view::npos;
    }
    if (kind == ']' || kind == 'P' || kind == 'X' || kind == '^' || kind == '_') {
        for (; i < s.size() && i - esc < 1024; ++i) {
            if (s[i] == '\a') return i + 1;
            if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '\\') return i + 2;
        }
        return i < s.size() ? esc + 2 : std::string_view::npos;
    }
    while (kind >= 0x20 && kind <= 0x2F && i < s.size()) kind = s[i++];
    return i;
}
}  // namespace

std::size_t ConsoleHub::safe_start(std::string_view s, std::size_t at) {
    if (at == 0 || at >= s.size()) return std::min(at, s.size());
    // Best: the start of a line within the next 1 KiB (escape sequences rarely span lines).
    auto line = s.find('\n', at);
    if (line != std::string_view::npos && line - at < 1024) return line + 1;
    // Otherwise past an escape sequence `at` falls in (an ESC up to 256 bytes back: long OSC titles)...
    std::size_t p = at;
    auto back = at > 256 ? at - 256 : 0;
    auto esc = s.substr(back, at - back).rfind('\x1b');
    if (esc != std::string_view::npos) {
        auto end = escape_end(s, back + esc);
        if (end == std::string_view::npos) return s.size();  // still being printed: nothing of it
        p = std::max(p, end);
    }
    // ...and past the rest of a UTF-8 character (continuation bytes are 10xxxxxx).
    while (p < s.size() && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) ++p;
    return p;
}

ConsoleHub::ConsoleHub(asio::any_io_executor executor, Opener open)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(open))) {}

void ConsoleHub::on_ended(std::function<void()> callback) {
    impl_->on_empty = std::move(callback);
}

ConsoleHub::~ConsoleHub() {
    impl_->on_empty = nullptr;  // the owner is letting go of it already
    impl_->end();
}

asio::awaitable<void> ConsoleHub::start() {
    auto self = impl_;
    while (self->connecting) {  // ready's expiry stays at max: cancel() wakes every waiter at once
        boost::system::error_code ec;
        co_await self->ready.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (self->ended) throw core::unavailable("the console closed while it was being opened");
    if (self->link || self->pauses > 0) co_return;  // connected, or connected when the pause ends
    self->connecting = true;
    std::unique_ptr<lab::ConsoleStream> stream;
    try {
        stream = co_await self->open();
    } catch (...) {
        self->connecting = false;
        self->end();
        throw;
    }
    self->connecting = false;
    self->ready.cancel();
    if (self->ended) {
        stream->close();
        throw core::unavailable("the console closed while it was being opened");
    }
    if (self->pauses > 0) {
        stream->close();  // paused meanwhile: resume() connects
        co_return;
    }
    self->install(std::move(stream));
}

std::unique_ptr<lab::ConsoleStream> ConsoleHub::attach(bool interactive) {
    auto v = std::make_shared<Viewer>(impl_->executor, interactive);
    v->pending = impl_->recent;  // starts at a safe place: broadcast() trims it there
    if (impl_->ended)
        v->closed = true;
    else
        impl_->viewers.push_back(v);
    return std::make_unique<ViewerStream>(impl_, std::move(v));
}

void ConsoleHub::pause(const std::string& notice) {
    auto self = impl_;
    if (self->ended || ++self->pauses > 1) return;
    if (auto l = std::exchange(self->link, nullptr)) l->close();
    for (auto& v : self->viewers) v->told_refused = false;
    self->broadcast(notice);
}

void ConsoleHub::resume(const std::string& notice) {
    auto self = impl_;
    if (self->ended || self->pauses == 0 || --self->pauses > 0) return;
    if (self->viewers.empty()) {
        self->end();
        return;
    }
    asio::co_spawn(self->executor, Impl::reconnect(self, notice), asio::detached);
}

bool ConsoleHub::ended() const {
    return impl_->ended;
}
std::size_t ConsoleHub::viewers() const {
    return impl_->viewers.size();
}

}  // namespace np::app
