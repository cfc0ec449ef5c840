// Child processes for the local lab runtime: run a command and capture its output (with a deadline),
// start detached helpers, and find/kill processes by their working directory or network namespace.
// Hand-written over fork/exec because Boost.Process v1 in 1.81 needs Boost.Filesystem and offers no
// setsid/double-fork for daemons that must outlive `netpraxis lab up`.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace np::lab {

struct CommandResult {
    int status = -1;     // exit status, or 128 + signal
    std::string output;  // stdout and stderr interleaved
};

// Runs argv[0] (looked up in PATH) with `input` on stdin, in `cwd` if given; kills it at the deadline (then
// status 124).
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30),
                          const std::string& input = {}, const std::filesystem::path& cwd = {});

// Like run_command but throws core::Error(internal) naming the command and its output on a non-zero exit.
std::string run_checked(const std::vector<std::string>& argv,
                        std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Starts argv detached (new session, double fork so it is reparented to init, stdio to `log_file`),
// with working directory `cwd`. Returns the daemon's PID. `extra_fd` (if >= 0) stays open in the child.
pid_t spawn_detached(const std::vector<std::string>& argv, const std::filesystem::path& cwd,
                     const std::filesystem::path& log_file, int extra_fd = -1);

// PIDs whose current directory is `dir` or below it (the runtime runs helpers and VPCS in lab folders).
std::vector<pid_t> pids_with_cwd_under(const std::filesystem::path& dir);

// SIGTERM each PID, wait up to `grace`, then SIGKILL the survivors. Never touches our own PID.
void terminate_pids(const std::vector<pid_t>& pids,
                    std::chrono::milliseconds grace = std::chrono::seconds(2));

bool pid_alive(pid_t pid);

// For a child between fork and exec: closes every descriptor from 3 up except `keep` (if >= 3), so the
// program run gets only what it was given (stdio, `keep`) and never the server's listening socket, its
// connections or another thread's pipes (which a concurrent fork would otherwise copy before O_CLOEXEC
// could matter: Asio opens sockets without it). Async-signal-safe: close_range(2), glibc's closefrom
// (which falls back to /proc/self/fd when close_range is missing).
void close_inherited_fds(int keep = -1) noexcept;

// For a process about to exec itself into another program (`netpraxis lab exec`): marks every descriptor
// from 3 up close-on-exec, so a failed exec still has them.
void cloexec_inherited_fds() noexcept;

}  // namespace np::lab
