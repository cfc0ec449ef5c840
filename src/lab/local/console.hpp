// Console streams of the local provider: a PTY running a command (shell in a namespace, vtysh), and a
// TCP connection (VPCS telnet consoles). Asio stays in console.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lab/provider.hpp"

namespace np::lab {

// Starts argv on a new PTY (forkpty); the stream reads and writes the PTY master.
std::unique_ptr<ConsoleStream> open_pty_console(boost::asio::any_io_executor executor,
                                                const std::vector<std::string>& argv);

// Connects to host:port (numeric host).
boost::asio::awaitable<std::unique_ptr<ConsoleStream>> open_tcp_console(boost::asio::any_io_executor executor,
                                                                        std::string host, std::uint16_t port);

}  // namespace np::lab
