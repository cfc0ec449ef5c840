#include "lab/local/console_guard.hpp"

#include <chrono>
#include <string>

#include "core/log.hpp"
#include "lab/local/process.hpp"

namespace np::lab {
using namespace std::chrono_literals;

// VPCS 0.5b2 cannot bind its telnet console to an address: it listens on every address of the host, so
// anyone who can reach the host could type into a student's PC. An nftables set of console ports, with one
// rule dropping them on every interface but lo, keeps them to this host (netpraxis's grader and console
// proxy connect through 127.0.0.1). The table is made idempotently: the chain is flushed and its one rule
// written again in the same transaction. Without nft the consoles stay open, and a warning says so.
constexpr const char* kConsoleTable = "inet netpraxis";

void guard_console(std::uint16_t port) {
    std::string script = std::string("add table ") + kConsoleTable + "\n" + "add set " + kConsoleTable +
                         " vpcs_consoles { type inet_service; }\n" + "add chain " + kConsoleTable +
                         " input { type filter hook input priority 0; policy accept; }\n" + "flush chain " +
                         kConsoleTable + " input\n" + "add rule " + kConsoleTable +
                         " input iifname != \"lo\" tcp dport @vpcs_consoles drop\n" + "add element " +
                         kConsoleTable + " vpcs_consoles { " + std::to_string(port) + " }\n";
    auto r = run_command({"nft", "-f", "-"}, 10s, script);
    if (r.status != 0)
        log::warn(
            "lab.console_unguarded",
            {{"port", port}, {"why", "nft failed: " + r.output}, {"risk", "reachable from other hosts"}});
}

void unguard_console(std::uint16_t port) {
    // Absent already (a lab stopped twice, or nft missing): nothing to do, the error is ignored.
    run_command(
        {"nft", "delete", "element", "inet", "netpraxis", "vpcs_consoles", "{", std::to_string(port), "}"},
        10s);
}

}  // namespace np::lab
