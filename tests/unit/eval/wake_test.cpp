// How a console session wakes a console (the platform's `wake`), on a scripted in-memory console: no sockets,
// no clocks. A read that finds nothing stands for a silence the session chose to wait through; the order of
// reads and writes shows whether the session pressed RETURN at once or waited first.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "eval/platform.hpp"
#include "eval/session.hpp"

namespace np::eval {
namespace {

// A console that says nothing until it gets a RETURN (as GNS3's dynamips consoles), then answers each line
// with its echo, a canned output and its prompt.
class ScriptedConsole final : public ByteStream {
 public:
    struct Log {
        std::vector<std::string> ops;  // "write:<line>" | "read" | "silence", in order
    };
    ScriptedConsole(Log& log, std::string prompt) : log_(log), prompt_(std::move(prompt)) {}

    boost::asio::awaitable<void> connect(Deadline) override { co_return; }
    boost::asio::awaitable<bool> read_some(std::string& out, Deadline) override {
        if (pending_.empty()) {
            log_.ops.emplace_back("silence");
            co_return false;
        }
        log_.ops.emplace_back("read");
        out += pending_;
        pending_.clear();
        co_return true;
    }
    boost::asio::awaitable<void> write(std::string data) override {
        buffer_ += data;
        for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            log_.ops.push_back("write:" + line);
            if (!line.empty()) pending_ += line + "\r\n" + (line == "show version" ? "Version 15.2\r\n" : "");
            pending_ += "\r\n" + prompt_;
        }
        co_return;
    }
    void close() override {}

 private:
    Log& log_;
    std::string prompt_, buffer_, pending_;
};

template <class F>
void run(F f) {
    boost::asio::io_context io;
    auto done = boost::asio::co_spawn(io, f(), boost::asio::use_future);
    io.run();
    done.get();
}

DeviceTarget target(const std::string& platform) {
    DeviceTarget t;
    t.name = "r1";
    t.platform = platform;
    t.transport = "telnet";
    t.host = "127.0.0.1";
    t.port = 1;
    return t;
}

std::size_t first(const std::vector<std::string>& ops, const std::string& what) {
    for (std::size_t i = 0; i < ops.size(); ++i)
        if (ops[i] == what) return i;
    return ops.size();
}

TEST(ConsoleWake, IosLikeConsolesGetReturnAtOnceAndNoSilenceIsWaited) {
    const Platform& ios = *PlatformRegistry::builtin().find("cisco_ios");
    ASSERT_EQ(ios.wake, Platform::Wake::connect);
    ScriptedConsole::Log log;
    std::string out;
    run([&]() -> boost::asio::awaitable<void> {
        auto s = make_cli_session(std::make_unique<ScriptedConsole>(log, "R1#"), target("cisco_ios"), ios);
        co_await s->open(std::chrono::steady_clock::now() + std::chrono::seconds(30));
        out = co_await s->run("show version", std::chrono::steady_clock::now() + std::chrono::seconds(30));
        co_await s->close();
    });
    ASSERT_FALSE(log.ops.empty());
    EXPECT_EQ(log.ops[0], "write:") << "the first thing done is pressing RETURN";
    EXPECT_EQ(first(log.ops, "silence"), log.ops.size()) << "no silence waited through";
    // One RETURN, then the pager commands and the command: nothing else was sent.
    std::vector<std::string> writes;
    for (const auto& op : log.ops)
        if (op.rfind("write:", 0) == 0) writes.push_back(op.substr(6));
    EXPECT_EQ(writes,
              (std::vector<std::string>{"", "terminal length 0", "terminal width 511", "show version"}));
    EXPECT_NE(out.find("Version 15.2"), std::string::npos) << out;
}

TEST(ConsoleWake, VpcsWaitsForSilenceBeforeItsReturn) {
    const Platform& vpcs = *PlatformRegistry::builtin().find("vpcs");
    ASSERT_EQ(vpcs.wake, Platform::Wake::silence);
    ScriptedConsole::Log log;
    run([&]() -> boost::asio::awaitable<void> {
        auto s = make_cli_session(std::make_unique<ScriptedConsole>(log, "pc1>"), target("vpcs"), vpcs);
        co_await s->open(std::chrono::steady_clock::now() + std::chrono::seconds(30));
        co_await s->close();
    });
    ASSERT_GE(log.ops.size(), 2u);
    EXPECT_EQ(log.ops[0], "silence") << "a RETURN during VPCS's banner would drop the next command";
    EXPECT_LT(first(log.ops, "silence"), first(log.ops, "write:"));
}

TEST(ConsoleWake, IsAPlatformPropertyThatOverridesCanSetAndBadValuesAreNamed) {
    auto reg = PlatformRegistry::builtin();
    reg.load_yaml("vpcs: {wake: connect}\nvyos: {wake_after: 250ms}\n", "test.yaml");
    EXPECT_EQ(reg.find("vpcs")->wake, Platform::Wake::connect);
    EXPECT_EQ(reg.find("vyos")->wake_after, std::chrono::milliseconds(250));
    try {
        reg.load_yaml("vpcs: {wake: sometimes}\n", "bad.yaml");
        FAIL() << "accepted wake: sometimes";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("wake"), std::string::npos) << e.what();
    }
    EXPECT_THROW(reg.load_yaml("vpcs: {wake_after: 0s}\n", "bad.yaml"), core::Error);
    EXPECT_THROW(reg.load_yaml("vpcs: {wake_after: soon}\n", "bad.yaml"), core::Error);
}

}  // namespace
}  // namespace np::eval
