// app::open_remote_console: a device console of a lab that lives on another instance (issue 13), as a
// lab::ConsoleStream that is a WebSocket client of that instance's console route. The owner's binary
// messages are what the device printed; keystrokes go to it as binary messages, resize as its JSON text
// control. Plain ws:// to the owner's address (instances.address, http://host:port).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "lab/provider.hpp"

namespace np::app {

// Connects to `address` (http://host:port) and upgrades `target` (path and query) with `token` as the
// bearer; `owner` names the instance in messages. Throws core::unavailable when the owner cannot be reached,
// and the owner's own refusal (its status: not_found, conflict, rate_limited...) with its detail when it
// declines the upgrade.
boost::asio::awaitable<std::unique_ptr<lab::ConsoleStream>> open_remote_console(const std::string& address,
                                                                                const std::string& target,
                                                                                const std::string& token,
                                                                                const std::string& owner);

}  // namespace np::app
