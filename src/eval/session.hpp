// Device sessions: how the engine talks to one device. A CLI session (telnet or SSH byte stream) detects
// prompts, answers dialogs ("Press RETURN", logins), turns paging off, reaches the privileged level, runs one
// command at a time under a deadline and leaves configuration mode; an exec session runs each command as a
// process in a local network namespace (`vtysh -N`, `ip netns exec`). A session whose command timed out is
// broken: the engine closes it and opens a new one, never reusing it dirty.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "eval/platform.hpp"

namespace np::core {
class WorkerPool;
}

namespace np::eval {

using Deadline = std::chrono::steady_clock::time_point;

// How to reach one device (from an inventory file or a lab provider); eval knows no lab types.
struct DeviceTarget {
    std::string name;
    std::string platform;
    std::string transport;  // telnet | ssh | exec
    std::string host;
    std::uint16_t port = 0;
    std::string username, password, key_file;
    std::string secret;                          // enable secret (defaults to password)
    std::string host_key_policy = "accept-new";  // ssh: strict | accept-new | ignore
    std::string netns;                           // exec
    std::string frr_pathspace;                   // exec, frr
};

class Session {
 public:
    virtual ~Session() = default;
    // Connects and prepares the CLI. Throws core::Error (unavailable, timeout, upstream) with the reason.
    virtual boost::asio::awaitable<void> open(Deadline deadline) = 0;
    // Runs one command; returns its output without echo or prompt. Throws core::timeout when the deadline
    // passes (the session is then broken) and core::unavailable when the device hung up.
    virtual boost::asio::awaitable<std::string> run(const std::string& command, Deadline deadline) = 0;
    // Leaves configuration mode if needed and disconnects. Never throws.
    virtual boost::asio::awaitable<void> close() = 0;
    virtual bool broken() const = 0;
};

// A raw byte stream under a CLI session (telnet, SSH, or an in-memory test stream).
class ByteStream {
 public:
    virtual ~ByteStream() = default;
    virtual boost::asio::awaitable<void> connect(Deadline deadline) = 0;
    // Appends received bytes to `out`; returns false when the deadline passed first. Throws on EOF/error.
    virtual boost::asio::awaitable<bool> read_some(std::string& out, Deadline deadline) = 0;
    virtual boost::asio::awaitable<void> write(std::string data) = 0;
    virtual void close() = 0;
};

std::unique_ptr<ByteStream> make_telnet_stream(boost::asio::any_io_executor ex, const DeviceTarget& target);
std::unique_ptr<ByteStream> make_ssh_stream(boost::asio::any_io_executor ex, const DeviceTarget& target,
                                            core::WorkerPool& pool);

// Prompt-driven CLI over any byte stream.
std::unique_ptr<Session> make_cli_session(std::unique_ptr<ByteStream> stream, const DeviceTarget& target,
                                          const Platform& platform);
// One process per command in a local namespace (the platform's `exec` argv).
std::unique_ptr<Session> make_exec_session(boost::asio::any_io_executor ex, const DeviceTarget& target,
                                           const Platform& platform);

// An FRR router through its daemons' vty sockets, one connection per daemon for the session's life, for the
// read-only `show` commands one daemon answers alone; everything else through `make_exec_session` (vtysh -c).
std::unique_ptr<Session> make_frr_vty_session(boost::asio::any_io_executor ex, const DeviceTarget& target,
                                              const Platform& platform);
// The FRR daemon that answers `command` alone in vtysh ("zebra", "ospfd", "bgpd"), or "" (then vtysh runs
// it).
std::string frr_vty_daemon(const std::string& command);

// The session a target's transport asks for (exec on a platform whose exec is vtysh: make_frr_vty_session).
// `pool` is needed for ssh (libssh is blocking).
std::unique_ptr<Session> make_session(boost::asio::any_io_executor ex, const DeviceTarget& target,
                                      const Platform& platform, core::WorkerPool* pool);

// Terminal text clean-up shared by CLI sessions (exposed for tests): strips ANSI/VT100 escapes, NUL and BEL,
// applies backspaces, and turns CRLF, CRCRLF and lone CR into LF. Incomplete sequences at the end of a chunk
// stay in `pending` for the next call.
void append_terminal_text(std::string& text, std::string& pending, std::string_view chunk);

}  // namespace np::eval
