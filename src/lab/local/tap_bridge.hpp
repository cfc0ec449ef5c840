// lab::run_tap_bridge: joins a VPCS UDP tunnel to a topology link. Debian has no tool that relays
// between a TAP device and a UDP socket (GNS3's ubridge is not packaged), so netpraxis carries this small
// relay: it binds 127.0.0.1:<listen> in the host namespace, enters the node's namespace, creates a TAP
// with the topology's interface name there, brings it up, and copies Ethernet frames both ways
// (one UDP datagram = one frame, the VPCS/Dynamips UDP NIO encapsulation). Runs as the hidden command
// `netpraxis lab _bridge`, detached, until SIGTERM; the TAP disappears with the process.
#pragma once

#include <cstdint>
#include <string>

namespace np::lab {

struct BridgeOptions {
    std::string netns;              // namespace name under /var/run/netns
    std::string ifname;             // TAP name to create inside it
    std::uint16_t listen_port = 0;  // our UDP port on 127.0.0.1 (VPCS sends here: its -c)
    std::uint16_t peer_port = 0;    // VPCS's UDP port on 127.0.0.1 (its -s)
    int ready_fd = -1;              // "ok\n" or "error: ...\n" is written here once the TAP is up
};

// Blocks relaying frames; returns a process exit code (non-zero after reporting a set-up error).
int run_tap_bridge(const BridgeOptions& options);

}  // namespace np::lab
