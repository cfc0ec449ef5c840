// The simulator's node consoles: a TCP listener on a node's console port (as gns3-server wraps its
// emulators' consoles) bridging each telnet client to the real device of the local lab: a VPCS node to its
// VPCS process's console, a router node to vtysh of its FRR on a PTY (telnet line endings translated,
// negotiation stripped). Internal to src/gns3sim.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "lab/provider.hpp"

namespace np::gns3sim {

using ConsoleOpener = std::function<boost::asio::awaitable<std::unique_ptr<lab::ConsoleStream>>()>;

class ConsoleListener {
 public:
    // `telnet_to_pty`: translate the telnet client's CR LF / CR NUL to CR and drop IAC sequences.
    ConsoleListener(boost::asio::any_io_executor executor, std::string address, std::uint16_t port,
                    ConsoleOpener opener, bool telnet_to_pty);
    ~ConsoleListener();
    ConsoleListener(const ConsoleListener&) = delete;
    ConsoleListener& operator=(const ConsoleListener&) = delete;

    // Binds and starts accepting; throws core::Error(conflict) when the port is taken.
    void start();
    // Stops accepting and ends every session.
    void stop();

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

// True when a TCP port can be bound on `address` now.
bool port_free(const std::string& address, std::uint16_t port);

}  // namespace np::gns3sim
