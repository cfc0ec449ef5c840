// Test helpers for the YAML limits: alias bombs, and running a call in a child process whose memory and
// CPU time are capped, so that a regression fails one test instead of taking the machine down.
// Header-only (unit tests include it without linking np_test_support).
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <string>

namespace np::testkit {

// "Billion laughs": `levels` levels of anchored lists, each holding `fanout` aliases of the level below.
// 9 levels x 10 aliases expand to 10^9 leaves from about 600 bytes.
inline std::string yaml_bomb(int levels = 9, int fanout = 10, const std::string& leaf = "lol") {
    std::string y = "l0: &l0 [" + leaf + "]\n";
    for (int i = 1; i <= levels; ++i) {
        y += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
        for (int j = 0; j < fanout; ++j) y += (j ? ", *l" : "*l") + std::to_string(i - 1);
        y += "]\n";
    }
    return y;
}

// An exercise spec whose one check's matcher tree is such a bomb: `all` of 10 x `all` of 10 x ... of a
// `contains` (10^levels matchers once aliases are expanded). Valid in every other respect.
inline std::string spec_bomb(int levels = 9, int fanout = 10) {
    std::string y =
        "id: bomb\ntitle: Bomb\ndevices:\n  pc1: {platform: vpcs}\nchecks:\n  - id: c\n    on: pc1\n"
        "    run: show ip\n    expect:\n      any:\n        - &m0 {contains: \"10.0.0.1\"}\n";
    for (int i = 1; i <= levels; ++i) {
        y += "        - &m" + std::to_string(i) + " {all: [";
        for (int j = 0; j < fanout; ++j) y += (j ? ", *m" : "*m") + std::to_string(i - 1);
        y += "]}\n";
    }
    return y;
}

inline long rss_kb() {
    std::ifstream in("/proc/self/status");
    std::string key;
    long value = 0;
    while (in >> key) {
        if (key == "VmRSS:") {
            in >> value;
            return value;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

inline long vm_size_kb() {
    std::ifstream in("/proc/self/status");
    std::string key;
    long value = 0;
    while (in >> key) {
        if (key == "VmSize:") {
            in >> value;
            return value;
        }
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

struct BoundedRun {
    bool finished = false;  // the call returned or threw (not killed by a limit or a crash)
    bool threw = false;
    std::string text;        // what the call returned, or the exception's what()
    long rss_growth_kb = 0;  // the child's peak RSS above this process's RSS at the fork
};

// Runs `fn` in a forked child with at most `extra_mb` MiB more address space than this process has now
// (not under AddressSanitizer, which reserves terabytes) and `cpu_seconds` of CPU time.
inline BoundedRun run_bounded(const std::function<std::string()>& fn, long extra_mb = 512,
                              int cpu_seconds = 20) {
    int fds[2];
    if (pipe(fds) != 0) return {};
    const long base_rss = rss_kb();
    const long base_vm = vm_size_kb();
    std::fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
#if !defined(__SANITIZE_ADDRESS__)
        rlimit as{static_cast<rlim_t>(base_vm + extra_mb * 1024) * 1024,
                  static_cast<rlim_t>(base_vm + extra_mb * 1024) * 1024};
        setrlimit(RLIMIT_AS, &as);
#endif
        rlimit cpu{static_cast<rlim_t>(cpu_seconds), static_cast<rlim_t>(cpu_seconds)};
        setrlimit(RLIMIT_CPU, &cpu);
        std::string out;
        char tag = 'R';
        try {
            out = fn();
        } catch (const std::exception& e) {
            tag = 'T';
            out = e.what();
        } catch (...) {
            tag = 'T';
            out = "(not a std::exception)";
        }
        std::string msg = tag + out;
        const char* p = msg.data();
        std::size_t left = msg.size();
        while (left > 0) {
            ssize_t n = write(fds[1], p, left);
            if (n <= 0) break;
            p += n;
            left -= static_cast<std::size_t>(n);
        }
        _exit(0);
    }
    close(fds[1]);
    BoundedRun r;
    std::string msg;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        msg.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);
    int status = 0;
    rusage usage{};
    if (pid > 0 && wait4(pid, &status, 0, &usage) == pid) {
        r.finished = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !msg.empty();
        r.rss_growth_kb = usage.ru_maxrss - base_rss;
    }
    if (r.finished) {
        r.threw = msg[0] == 'T';
        r.text = msg.substr(1);
    }
    return r;
}

}  // namespace np::testkit
