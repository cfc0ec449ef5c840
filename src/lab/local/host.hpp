// Host-side helpers of the local lab runtime: the host lock that serialises lab changes, state files written
// atomically, network namespaces and the processes in them, local ports, iproute2 batches, FRR folder owners.
// Internal to src/lab/local (runtime.cpp); blocking like the runtime.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace np::lab::host {

// Holds an flock on <state_dir>/.lock: allocation of ports and caps checks see a consistent host. Waits at
// most 60 s for another holder, then throws core::unavailable.
class HostLock {
 public:
    explicit HostLock(const std::filesystem::path& state_dir);
    ~HostLock();
    HostLock(const HostLock&) = delete;
    HostLock& operator=(const HostLock&) = delete;

 private:
    int fd_ = -1;
};

// The whole file ("" when it cannot be read).
std::string read_file(const std::filesystem::path& p);
// Writes through a temporary file renamed over `p`: a reader never sees half a file.
void write_file(const std::filesystem::path& p, const std::string& text,
                std::filesystem::perms perms = std::filesystem::perms::owner_read |
                                               std::filesystem::perms::owner_write |
                                               std::filesystem::perms::group_read);

bool netns_exists(const std::string& name);
std::vector<std::string> netns_with_prefix(const std::string& prefix);
// PIDs whose network namespace is one of `names` (what `ip netns pids` does, for all of them in one pass).
std::vector<pid_t> pids_in_namespaces(const std::set<std::string>& names);

// Whether `port` can be bound (on every address or on 127.0.0.1); whether something accepts on 127.0.0.1.
bool port_free(std::uint16_t port, int type, bool any_address);
bool tcp_accepts(std::uint16_t port);
// Whether one of `pids` holds a TCP socket listening on `port` (any address, IPv4 or IPv6): that the console
// answering on a port is the process we started, not another one that took the port first.
bool listens_on(const std::vector<pid_t>& pids, std::uint16_t port);
// Whether one of `pids` holds a UDP socket bound to `port` (a VPCS's tunnel: that it got its ports).
bool holds_udp_port(const std::vector<pid_t>& pids, std::uint16_t port);

// `argv` (an `ip -batch -` form) with `input` on its stdin; throws core::internal with its output on failure.
void run_batch(const std::vector<std::string>& argv, const std::string& input);

// `chown -R frr:frr DIR` without a process per router (the FRR daemons and vtysh run as frr and must read and
// write their folder).
void chown_to_frr(const std::filesystem::path& dir);

}  // namespace np::lab::host
