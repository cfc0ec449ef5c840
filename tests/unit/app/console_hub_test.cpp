// app::ConsoleHub on an in-memory device: one device connection for every viewer, watchers read only, a
// late viewer gets the recent output, a pause lets go of the connection (input refused with a message) and
// the end of it connects again and wakes the device; the last viewer out closes the connection; a device
// that closes ends the viewers.
#include "app/console_hub.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstring>
#include <stdexcept>

using namespace np;
namespace asio = boost::asio;

namespace {

// One connection to the fake device: what the hub wrote, what the device is to print.
struct Connection {
    explicit Connection(asio::any_io_executor ex) : signal(std::move(ex)) {}
    std::string written, to_print;
    asio::steady_timer signal;
    bool closed = false;
    void print(const std::string& s) {
        to_print += s;
        signal.cancel();
    }
};

class FakeStream final : public lab::ConsoleStream {
 public:
    explicit FakeStream(std::shared_ptr<Connection> c) : c_(std::move(c)) {}
    asio::awaitable<std::size_t> read_some(std::span<char> buffer) override {
        auto c = c_;
        while (c->to_print.empty() && !c->closed) {
            c->signal.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await c->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        }
        if (c->to_print.empty()) co_return 0;
        auto n = std::min(buffer.size(), c->to_print.size());
        std::memcpy(buffer.data(), c->to_print.data(), n);
        c->to_print.erase(0, n);
        co_return n;
    }
    asio::awaitable<void> write(std::string_view bytes) override {
        c_->written += bytes;
        co_return;
    }
    void resize(unsigned short, unsigned short) override {}
    void close() override {
        c_->closed = true;
        c_->signal.cancel();
    }

 private:
    std::shared_ptr<Connection> c_;
};

// Reads a viewer until it ends, into `text`.
struct Reader {
    std::string text;
    bool ended = false;
};
asio::awaitable<void> collect(lab::ConsoleStream& s, std::shared_ptr<Reader> r) {
    char buf[512];
    while (auto n = co_await s.read_some(std::span<char>(buf, sizeof buf))) r->text.append(buf, n);
    r->ended = true;
}

struct Fixture {
    asio::io_context io;
    std::vector<std::shared_ptr<Connection>> connections;
    bool fail_next_open = false;
    bool hold_opens = false;  // opens wait for `gate` to be cancelled
    asio::steady_timer gate{io};
    bool hub_ended = false;
    std::shared_ptr<app::ConsoleHub> hub;

    Fixture() {
        hub = std::make_shared<app::ConsoleHub>(
            io.get_executor(), [this]() -> asio::awaitable<std::unique_ptr<lab::ConsoleStream>> {
                if (hold_opens) {
                    gate.expires_at(asio::steady_timer::time_point::max());
                    boost::system::error_code ec;
                    co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                }
                if (fail_next_open) throw std::runtime_error("no such node");
                auto c = std::make_shared<Connection>(io.get_executor());
                connections.push_back(c);
                co_return std::make_unique<FakeStream>(c);
            });
        hub->on_ended([this] { hub_ended = true; });
    }
    // Runs the loop until `done` holds (bounded: false after 10 s).
    template <class F>
    bool until(F done) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!done() && std::chrono::steady_clock::now() < deadline) {
            io.restart();
            io.run_one_for(std::chrono::milliseconds(20));
        }
        return done();
    }
    std::shared_ptr<Reader> watch(lab::ConsoleStream& s) {
        auto r = std::make_shared<Reader>();
        asio::co_spawn(io, collect(s, r), asio::detached);
        return r;
    }
    void start() {
        bool started = false;
        asio::co_spawn(io, hub->start(), [&](std::exception_ptr) { started = true; });
        ASSERT_TRUE(until([&] { return started; }));
    }
};

}  // namespace

TEST(ConsoleHub, ViewersShareOneConnectionAndWatchersOnlyRead) {
    Fixture f;
    f.start();
    ASSERT_EQ(f.connections.size(), 1u);
    auto& device = *f.connections[0];
    ASSERT_TRUE(f.until([&] { return device.written == "\r"; })) << "one wake-up RETURN per connection";
    auto student = f.hub->attach(true);
    auto teacher = f.hub->attach(false);
    auto s = f.watch(*student), t = f.watch(*teacher);
    device.print("pc1> ");
    ASSERT_TRUE(f.until([&] { return s->text == "pc1> " && t->text == "pc1> "; }));

    bool wrote = false;
    asio::co_spawn(f.io, teacher->write("ip 10.9.9.9/24\r"), [&](std::exception_ptr) { wrote = true; });
    ASSERT_TRUE(f.until([&] { return wrote; }));
    wrote = false;
    asio::co_spawn(f.io, student->write("ip 10.0.0.1/24\r"), [&](std::exception_ptr) { wrote = true; });
    ASSERT_TRUE(f.until([&] { return wrote && device.written == "\rip 10.0.0.1/24\r"; })) << device.written;

    // A viewer arriving later starts with the screen so far.
    device.print("ok\r\npc1> ");
    auto late = f.hub->attach(false);
    auto l = f.watch(*late);
    ASSERT_TRUE(f.until([&] { return l->text == "pc1> ok\r\npc1> "; })) << l->text;
    EXPECT_EQ(f.connections.size(), 1u);

    // The last viewer out closes the device connection; the hub ends.
    student->close();
    teacher->close();
    EXPECT_FALSE(device.closed);
    late->close();
    EXPECT_TRUE(device.closed);
    EXPECT_TRUE(f.hub_ended);
    EXPECT_TRUE(f.until([&] { return s->ended && t->ended && l->ended; }));
}

TEST(ConsoleHub, APauseLetsGoOfTheDeviceAndItsEndConnectsAgain) {
    Fixture f;
    f.start();
    auto student = f.hub->attach(true);
    auto s = f.watch(*student);
    f.hub->pause("[paused]");
    f.hub->pause("[paused]");  // two gradings at once: the connection comes back after both
    ASSERT_TRUE(f.connections[0]->closed) << "the device is free for the grader";
    ASSERT_TRUE(f.until([&] { return s->text == "[paused]"; })) << s->text;
    // Typing while paused is kept (up to 4 KiB), not refused; beyond, refused with a message once.
    bool wrote = false;
    asio::co_spawn(f.io, student->write("ip 10.0.0.7/24\r"), [&](std::exception_ptr) { wrote = true; });
    ASSERT_TRUE(f.until([&] { return wrote; }));
    EXPECT_EQ(s->text, "[paused]");
    for (int i = 0; i < 2; ++i) {
        wrote = false;
        asio::co_spawn(f.io, student->write(std::string(app::ConsoleHub::kMaxQueued, 'z')),
                       [&](std::exception_ptr) { wrote = true; });
        ASSERT_TRUE(f.until([&] { return wrote; }));
    }
    EXPECT_NE(s->text.find("input refused: more than 4 KiB"), std::string::npos) << s->text;
    EXPECT_EQ(s->text.find("input refused"), s->text.rfind("input refused")) << "told once";
    EXPECT_EQ(f.connections[0]->written, "\r");  // nothing typed reached the device yet

    f.hub->resume("[back]");
    for (int i = 0; i < 20; ++i) f.io.poll();
    EXPECT_EQ(f.connections.size(), 1u) << "still paused by the other grading";
    f.hub->resume("[back]");
    ASSERT_TRUE(f.until([&] { return s->text.ends_with("[back]"); })) << s->text;
    ASSERT_EQ(f.connections.size(), 2u);
    auto& again = *f.connections[1];
    // Woken again; what was typed during the pause waits for the device's answer (the refused part is
    // never sent), and what is typed meanwhile comes after it.
    ASSERT_TRUE(f.until([&] { return again.written == "\r"; })) << again.written;
    wrote = false;
    asio::co_spawn(f.io, student->write("!"), [&](std::exception_ptr) { wrote = true; });
    ASSERT_TRUE(f.until([&] { return wrote; }));
    EXPECT_EQ(again.written, "\r");
    again.print("pc1> ");
    ASSERT_TRUE(f.until([&] { return s->text.ends_with("[back]pc1> "); })) << s->text;
    ASSERT_TRUE(f.until([&] { return again.written == "\rip 10.0.0.7/24\r!"; })) << again.written;
    wrote = false;
    asio::co_spawn(f.io, student->write("show ip\r"), [&](std::exception_ptr) { wrote = true; });
    ASSERT_TRUE(f.until([&] { return again.written == "\rip 10.0.0.7/24\r!show ip\r"; })) << again.written;

    // The device closing the connection by itself ends the consoles.
    again.closed = true;
    again.signal.cancel();
    EXPECT_TRUE(f.until([&] { return s->ended && f.hub_ended; }));
}

TEST(ConsoleHub, ConsolesOpenedTogetherWaitForTheOneConnectionAndAFailedOpenEndsTheHub) {
    Fixture f;
    f.hold_opens = true;
    int started = 0;
    for (int i = 0; i < 3; ++i)
        asio::co_spawn(f.io, f.hub->start(), [&](std::exception_ptr e) { started += e ? 100 : 1; });
    for (int i = 0; i < 20; ++i) f.io.poll();
    EXPECT_EQ(started, 0);
    f.gate.cancel();
    ASSERT_TRUE(f.until([&] { return started == 3; })) << started;
    EXPECT_EQ(f.connections.size(), 1u);

    Fixture g;
    g.fail_next_open = true;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(g.io, g.hub->start(), [&](std::exception_ptr e) {
        error = e;
        done = true;
    });
    ASSERT_TRUE(g.until([&] { return done; }));
    EXPECT_TRUE(error);
    EXPECT_TRUE(g.hub->ended());
    EXPECT_TRUE(g.hub_ended);
}

// A late viewer's backlog never starts inside an escape sequence or a UTF-8 character.
TEST(ConsoleHub, TheRecentOutputStartsAtASafePlace) {
    using H = app::ConsoleHub;
    // A line start within 1 KiB wins.
    std::string text = "abc\x1b[31mred\x1b[0m\r\nnext line";
    EXPECT_EQ(H::safe_start(text, 5), text.find("next"));
    EXPECT_EQ(H::safe_start(text, 0), 0u);
    // No line start near: past the escape sequence the cut falls in...
    std::string pad(2000, 'x');
    std::string esc = pad + "\x1b[38;5;200mcolour";
    for (std::size_t at = pad.size() + 1; at < pad.size() + 11; ++at)
        EXPECT_EQ(H::safe_start(esc, at), pad.size() + 11) << at;
    EXPECT_EQ(H::safe_start(esc, pad.size()), pad.size()) << "at the ESC itself: fine";
    EXPECT_EQ(H::safe_start(esc, pad.size() + 13), pad.size() + 13) << "after it: untouched";
    // ... an OSC title (ended by BEL or ST), a two-byte escape, one not yet complete ...
    std::string osc = pad + "\x1b]0;my title\a" + "rest";
    EXPECT_EQ(H::safe_start(osc, pad.size() + 4), osc.find("rest"));
    std::string st = pad + "\x1b]2;t\x1b\\" + "rest";
    EXPECT_EQ(H::safe_start(st, pad.size() + 3), st.find("rest"));
    std::string two = pad + "\x1b" + "7rest";
    EXPECT_EQ(H::safe_start(two, pad.size() + 1), two.find("rest"));
    std::string open = pad + "\x1b[12;3";
    EXPECT_EQ(H::safe_start(open, pad.size() + 3), open.size());
    // A CSI that never ends (garbage) does not cost the whole backlog.
    std::string garbage = pad + "\x1b[" + std::string(100, ';') + "tail";
    EXPECT_EQ(H::safe_start(garbage, pad.size() + 5), pad.size() + 5);
    // ... and past a cut UTF-8 character (é is C3 A9, € is E2 82 AC).
    std::string utf = pad + "caf\xc3\xa9 \xe2\x82\xac";
    EXPECT_EQ(H::safe_start(utf, pad.size() + 4), pad.size() + 5);
    EXPECT_EQ(H::safe_start(utf, pad.size() + 7), pad.size() + 9);
    EXPECT_EQ(H::safe_start(utf, pad.size() + 8), pad.size() + 9);
}

// The hub keeps at most kRecent bytes and a late viewer's copy starts on a line.
TEST(ConsoleHub, ALateViewerGetsWholeLines) {
    Fixture f;
    f.start();
    auto student = f.hub->attach(true);
    auto s = f.watch(*student);
    std::string screen;
    for (int i = 0; i < 1000; ++i)
        screen += "\x1b[1mline " + std::to_string(i) + " \xc3\xa9t\xc3\xa9\x1b[0m\r\n";
    f.connections[0]->print(screen);
    ASSERT_TRUE(f.until([&] { return s->text.size() == screen.size(); }));
    auto late = f.hub->attach(false);
    auto l = f.watch(*late);
    ASSERT_TRUE(f.until([&] {
        return l->text.size() > app::ConsoleHub::kRecent - 1024 && l->text.ends_with("\x1b[0m\r\n");
    })) << l->text.size();
    EXPECT_LE(l->text.size(), app::ConsoleHub::kRecent);
    EXPECT_GT(l->text.size(), app::ConsoleHub::kRecent - 1024);
    EXPECT_TRUE(l->text.starts_with("\x1b[1mline ")) << l->text.substr(0, 40);
    EXPECT_TRUE(screen.ends_with(l->text));
}
