// Starting a program, optionally inside a named network namespace entered the way `ip netns exec NAME`
// enters it, without running `ip` (issue 14: a grading command on a Linux host of a local lab paid for one
// more dynamically linked program start per command). The child is created as posix_spawn creates it (it
// shares the parent's memory until it execs: no page tables copied from a large server), so a multithreaded
// server may call it from any thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace np::core {

struct SpawnRequest {
    std::vector<std::string>
        argv;                      // argv[0] without a '/' is looked up in the PATH of `env` (or the default)
    std::vector<std::string> env;  // the whole environment ("NAME=value")
    // Non-empty: the child enters /var/run/netns/NETNS as iproute2's `ip netns exec` does (netns_switch):
    // setns(CLONE_NEWNET); a mount namespace of its own, slave of the host's; /sys remounted so that it
    // describes the namespace (read-only when the old one could not be unmounted and was read-only); each
    // file of /etc/netns/NETNS bind-mounted over its /etc twin.
    std::string netns;
    int output_fd = -1;             // >= 0: becomes stdout and stderr. Other descriptors are closed.
    int input_fd = -1;              // >= 0: becomes stdin; otherwise stdin is /dev/null
    std::string cwd;                // non-empty: the working directory (else the caller's)
    bool own_process_group = true;  // so that a deadline can kill the command and its children together
    // SIGKILLed when the calling thread ends (PR_SET_PDEATHSIG): a command must not outlive a server killed
    // while it waits for it (what the command daemonizes is forked again and lives on, as it should).
    bool die_with_caller = false;
};

// Starts the program; returns its PID (the caller reaps it). Throws core::Error: unavailable when the
// namespace does not exist or the program cannot be found or started, naming which step failed and why.
pid_t spawn(const SpawnRequest& request);

// Where argv[0] would be found: itself when it has a '/', else the first executable regular file of that name
// in the PATH of `env` (or kCommandPath); "" when none.
std::string find_program(const std::string& name, const std::vector<std::string>& env);

// The default PATH of commands run for the user (graders, labs).
inline constexpr const char* kCommandPath = "/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace np::core
