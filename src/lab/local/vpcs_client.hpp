// A blocking VPCS console client (telnet on 127.0.0.1): runs one command and returns its output.
// Used by `netpraxis lab exec ENV PC -- CMD` and by tests; the grader has its own async telnet transport.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace np::lab {

// Connects, wakes the console (a second connection shows no prompt until it gets a line), waits for the
// `NAME>` prompt, sends `command`, and returns what VPCS printed up to the next prompt (without the echo
// and the prompt). Never sends `quit`, which would kill VPCS. Throws core::Error(timeout/unavailable).
std::string vpcs_command(std::uint16_t port, const std::string& command,
                         std::chrono::milliseconds timeout = std::chrono::seconds(30));

// VPCS 0.5b2 runs startup.vpc when the first console client connects, and that first session does not run
// further commands reliably. Be that first client: wait for the `<name>> ` prompt the script ends with,
// then disconnect. Throws core::Error(timeout) with what was printed.
void vpcs_wait_startup(std::uint16_t port, const std::string& name,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Removes telnet negotiation (IAC sequences) and carriage returns from console bytes.
std::string strip_telnet(const std::string& bytes);

}  // namespace np::lab
