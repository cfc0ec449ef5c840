// Grades N labs of 4 devices each, concurrently, against emulated cisco_ios consoles that answer every
// command after a fixed latency (in a child process, so its memory is not counted). Prints the wall time
// against the latency bound (the per-device chain of commands, since devices and labs run in parallel) and
// the memory per open device session (peak RSS growth / sessions).
//   bench_eval_grade [N=200] [latency_ms=100] [checks_per_device=3] [silent=0] [wake=connect|silence]
// silent=1: consoles that say nothing until they get a RETURN (as GNS3's dynamips consoles); `wake` overrides
// cisco_ios's `wake` (how the session wakes a silent console) to compare both ways on the same consoles.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "console_emulator.hpp"
#include "core/log.hpp"
#include "eval/engine.hpp"
#include "eval/spec.hpp"

using namespace np::eval;

namespace {

// A field of /proc/self/status in KiB ("VmRSS:" now, "VmHWM:" the peak).
long status_kib(const std::string& key) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int labs = argc > 1 ? std::atoi(argv[1]) : 200;
    int latency_ms = argc > 2 ? std::atoi(argv[2]) : 100;
    int checks = argc > 3 ? std::atoi(argv[3]) : 3;
    bool silent = argc > 4 && std::atoi(argv[4]) != 0;
    std::string wake = argc > 5 ? argv[5] : "";
    const int devices = 4;

    // The consoles live in a child process; it reports its port through a pipe.
    int fds[2];
    if (pipe(fds) != 0) return 1;
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        boost::asio::io_context io;
        testing::ConsoleScript s;
        s.prompt = "R1#";
        s.latency = std::chrono::milliseconds(latency_ms);
        s.wait_for_return = silent;
        s.outputs["terminal length 0"] = "";
        s.outputs["terminal width 511"] = "";
        for (int c = 0; c < checks; ++c)
            s.outputs["show check " + std::to_string(c)] =
                "interface Gi0/" + std::to_string(c) + " is up, line protocol is up\n";
        testing::ConsoleEmulator console(s, &io);
        std::uint16_t port = console.port();
        if (write(fds[1], &port, sizeof port) != sizeof port) _exit(1);
        close(fds[1]);
        io.run();
        _exit(0);
    }
    close(fds[1]);
    std::uint16_t port = 0;
    if (read(fds[0], &port, sizeof port) != sizeof port) return 1;
    close(fds[0]);

    std::string yaml = "id: bench\ndevices:\n";
    for (int d = 0; d < devices; ++d) yaml += "  r" + std::to_string(d) + ": {platform: cisco_ios}\n";
    yaml += "checks:\n";
    for (int d = 0; d < devices; ++d)
        for (int c = 0; c < checks; ++c)
            yaml += "  - {id: r" + std::to_string(d) + "-" + std::to_string(c) + ", on: r" +
                    std::to_string(d) + ", run: show check " + std::to_string(c) +
                    ", expect: {match: 'line protocol is up'}}\n";
    ParseResult parsed = parse_spec(yaml);
    if (!parsed.ok()) {
        std::cerr << parsed.diagnostics[0].text() << "\n";
        return 1;
    }
    std::map<std::string, DeviceTarget> targets;
    for (int d = 0; d < devices; ++d) {
        std::string n = "r" + std::to_string(d);
        targets[n] = DeviceTarget{n, "cisco_ios", "telnet", "127.0.0.1", port, "", "", "", "", "", "", ""};
    }

    struct rlimit rl {
        65536, 65536
    };
    setrlimit(RLIMIT_NOFILE, &rl);
    np::log::setup("warn");
    long base = status_kib("VmRSS:");
    // The peak is the kernel's high-water mark, reset here and read after the run: exact, and free (a
    // sampler reading /proc every few ms would spend the grader's event loop on the measurement).
    { std::ofstream("/proc/self/clear_refs") << "5"; }
    boost::asio::io_context io;
    EngineOptions options;
    options.max_concurrent_evaluations = static_cast<std::size_t>(labs);
    options.open_timeout = std::chrono::seconds(60);
    options.command_timeout = std::chrono::seconds(60);
    PlatformRegistry platforms = PlatformRegistry::builtin();
    if (!wake.empty()) platforms.load_yaml("cisco_ios: {wake: " + wake + "}\n", "bench");
    Engine engine(platforms, options);
    int done = 0;
    double total_score = 0;
    // Timeline (ms since the start): when each evaluation ended, when its first check command began (after
    // connect, prompt sync and pager-off), and each check command's duration.
    std::vector<double> ends, first_cmd, cmd_ms;
    auto started = std::chrono::steady_clock::now();
    for (int l = 0; l < labs; ++l)
        boost::asio::co_spawn(
            io,
            [&, l]() -> boost::asio::awaitable<void> {
                Evaluation e = co_await engine.evaluate(parsed.spec, "student" + std::to_string(l), targets);
                total_score += e.score;
                ++done;
                double began =
                    std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                        .count() -
                    static_cast<double>(e.duration.count());
                ends.push_back(began + static_cast<double>(e.duration.count()));
                if (!e.transcript.empty())
                    first_cmd.push_back(began + static_cast<double>(e.transcript.front().started_ms));
                for (const auto& t : e.transcript) cmd_ms.push_back(static_cast<double>(t.duration_ms));
            },
            boost::asio::detached);
    io.run();
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    long peak = std::max(base, status_kib("VmHWM:"));
    kill(child, SIGTERM);
    waitpid(child, nullptr, 0);

    // Each device: the prompt-sync RETURN, 2 pager-off commands and `checks` commands, one after another,
    // each `latency` long.
    double bound = (3 + checks) * latency_ms / 1000.0;
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    int sessions = labs * devices;
    std::printf("labs=%d devices/lab=%d sessions=%d commands/device=%d latency=%dms consoles=%s wake=%s\n",
                labs, devices, sessions, 2 + checks, latency_ms,
                silent ? "silent-until-RETURN" : "prompt-at-once",
                wake.empty() ? "platform's" : wake.c_str());
    std::printf("score=%.0f/%d (all checks must pass)\n", total_score, labs * devices * checks);
    std::printf("wall=%.3fs latency_bound=%.3fs ratio=%.3f (target <= 1.2)\n", wall, bound, wall / bound);
    std::printf("grader_cpu=%.3fs (%.0f us per command)\n", cpu, cpu * 1e6 / (sessions * (3 + checks)));
    struct rusage cru {};
    getrusage(RUSAGE_CHILDREN, &cru);
    double child_cpu = static_cast<double>(cru.ru_utime.tv_sec + cru.ru_stime.tv_sec) +
                       static_cast<double>(cru.ru_utime.tv_usec + cru.ru_stime.tv_usec) / 1e6;
    std::printf("console_emulator_cpu=%.3fs (the child process; shares the cores)\n", child_cpu);
    std::printf("rss_base=%ldKiB rss_peak=%ldKiB per_session=%.1fKiB (target < 100)\n", base, peak,
                static_cast<double>(peak - base) / sessions);
    auto pct = [](std::vector<double> v, double q) {
        if (v.empty()) return 0.0;
        std::sort(v.begin(), v.end());
        return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
    };
    std::printf(
        "timeline_ms: first_check_cmd p0=%.0f p50=%.0f p100=%.0f | check_cmd p50=%.0f p99=%.0f max=%.0f"
        " | eval_end p0=%.0f p50=%.0f p100=%.0f\n",
        pct(first_cmd, 0), pct(first_cmd, 0.5), pct(first_cmd, 1), pct(cmd_ms, 0.5), pct(cmd_ms, 0.99),
        pct(cmd_ms, 1), pct(ends, 0), pct(ends, 0.5), pct(ends, 1));
    return total_score == labs * devices * checks ? 0 : 1;
}
