// app::ConsoleHub: one device connection of one node shared by all its browser consoles (issue 11). VPCS
// (and many device consoles) serve one telnet client at a time: every viewer of a node — the student's
// consoles, a teacher's watch, the relay of another instance (issue 13) — reads what the one connection
// prints (a new viewer first gets the recent output), interactive viewers write to it, watchers only read.
// The grader needs the device's only connection: pause() lets go of it (viewers see a notice; what they
// type is kept, up to kMaxQueued each, then refused with a message) and resume() connects again, wakes the
// device and tells the viewers. The hub wakes the device (one RETURN) on each connection it makes, so nobody
// else has to. Runs on the event loop (one thread): no locks.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lab/provider.hpp"

namespace np::app {

class ConsoleHub {
 public:
    // Opens a new connection to the device (the provider's console).
    using Opener = std::function<boost::asio::awaitable<std::unique_ptr<lab::ConsoleStream>>()>;
    ConsoleHub(boost::asio::any_io_executor executor, Opener open);
    ~ConsoleHub();
    ConsoleHub(const ConsoleHub&) = delete;
    ConsoleHub& operator=(const ConsoleHub&) = delete;

    // The first connection (not made while paused: resume() makes it). Throws what opening throws; the
    // hub has then ended. Concurrent callers wait for the first one's outcome.
    boost::asio::awaitable<void> start();
    // A new viewer: reads the recent output then what the device prints; writes (interactive only) go to
    // the device; close() leaves the hub (the last viewer out closes the device connection).
    std::unique_ptr<lab::ConsoleStream> attach(bool interactive);

    // Lets go of the device connection (nested: the connection comes back after as many resume()s) and
    // prints `notice` to every viewer.
    void pause(const std::string& notice);
    // Connects again after the last pause ends, wakes the device and prints `notice`.
    void resume(const std::string& notice);

    // Runs once, when the hub ends (the last viewer gone, or the device closed the connection).
    void on_ended(std::function<void()> callback);
    bool ended() const;
    std::size_t viewers() const;
    // Bytes of recent output a new viewer gets first (at most: cut where safe_start says).
    static constexpr std::size_t kRecent = 16 * 1024;
    // Input an interactive viewer may type while paused (kept, sent after the hub connects again); beyond,
    // it is refused with a message.
    static constexpr std::size_t kMaxQueued = 4 * 1024;
    // Where output kept from byte `at` on may start for a new viewer: the next line start within 1 KiB,
    // else past an escape sequence `at` cuts and past a cut UTF-8 character.
    static std::size_t safe_start(std::string_view output, std::size_t at);

    struct Impl;  // shared with the viewers' streams and the hub's coroutines (console_hub.cpp)

 private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace np::app
