// Benchmark (not a test): template, clone and delete workloads at N = 50, 100, 200 against
// `netpraxis pve-sim --profile realistic` run as a child process. Prints wall time, the simulated
// cluster's capacity bound (the least time its storage locks and task durations allow), their ratio
// (target <= 1.10) and the client's CPU time per API call.
//
//   bench_pve [--sizes 50,100,200] [--template-scale 0.1] [--workloads template,clone,delete]
//
// Template builds chain a full clone, boot, shutdown and conversion; at the realistic durations 200 of them
// take minutes of simulated time, so their durations are scaled (default 0.1, printed in the table).

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "pve/workloads.hpp"
#include "pvesim/profile.hpp"

namespace asio = boost::asio;
using namespace np;

namespace {

struct Child {
    pid_t pid = -1;
    int port = 0;
    ~Child() {
        if (pid > 0) {
            kill(pid, SIGTERM);
            waitpid(pid, nullptr, 0);
        }
    }
};

void start_sim(Child& child, const std::string& profile) {
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    child.pid = fork();
    if (child.pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execl(NETPRAXIS_BINARY, NETPRAXIS_BINARY, "--log-level", "error", "pve-sim", "--port", "0",
              "--profile", profile.c_str(), "--seed", "1", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(out[1]);
    std::string line;
    char ch;
    while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(out[0]);
    std::smatch m;
    if (!std::regex_search(line, m, std::regex(":(\\d+) ")))
        throw std::runtime_error("pve-sim did not start: " + line);
    child.port = std::stoi(m[1].str());
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct Row {
    std::string workload;
    std::size_t n = 0;
    double wall = 0, bound = 0, cpu_per_call_us = 0;
    std::uint64_t calls = 0, retries = 0;
    std::size_t ok = 0, failed = 0;
    std::string note;
};

pve::WorkloadLimits limits() {
    pve::WorkloadLimits l;
    l.poll = {std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 1.5, 3};
    return l;
}

Row run(const std::string& workload, std::size_t n, const std::string& profile_arg,
        const pvesim::Profile& profile) {
    Child sim;
    start_sim(sim, profile_arg);
    asio::io_context io;
    pve::ClientOptions o;
    o.url = "http://127.0.0.1:" + std::to_string(sim.port);
    o.credentials.user = "root@pam";
    o.credentials.password = "rootpass";
    pve::Client client(io.get_executor(), o);
    Row row;
    row.workload = workload;
    row.n = n;
    auto fut = asio::co_spawn(
        io,
        [&]() -> asio::awaitable<pve::Summary> {
            co_await client.login();
            if (workload == "template") {
                pve::TemplateBuild t;
                t.base_vmid = 100;
                t.name = "bench-tpl";
                t.count = n;
                t.limits = limits();
                co_return co_await pve::build_template(client, t);
            }
            pve::CloneBatch b;
            b.template_vmid = 9000;
            b.count = n;
            b.prefix = "bench";
            b.limits = limits();
            if (workload == "clone") co_return co_await pve::clone_batch(client, b);
            auto made = co_await pve::clone_batch(client, b);  // set-up, not measured
            if (made.failed) throw std::runtime_error("delete set-up: clones failed");
            pve::DeleteBatch d;
            d.prefix = "bench";
            d.limits = limits();
            auto calls_before = client.stats().calls;
            auto cpu_before = cpu_seconds();
            auto s = co_await pve::delete_batch(client, d);
            row.cpu_per_call_us =
                (cpu_seconds() - cpu_before) * 1e6 / static_cast<double>(client.stats().calls - calls_before);
            co_return s;
        },
        asio::use_future);
    auto cpu_before = cpu_seconds();
    io.run();
    auto cpu = cpu_seconds() - cpu_before;
    auto s = fut.get();
    row.wall = s.seconds;
    row.calls = s.api_calls;
    row.retries = s.retries;
    row.ok = s.ok;
    row.failed = s.failed;
    if (workload != "delete")
        row.cpu_per_call_us = cpu * 1e6 / static_cast<double>(std::max<std::uint64_t>(1, s.api_calls));
    row.bound = profile.capacity_bound_seconds(workload, n, workload == "template" ? 1 : 3);
    return row;
}

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string x; std::getline(ss, x, ',');)
        if (!x.empty()) out.push_back(x);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string sizes = "50,100,200", workloads = "template,clone,delete";
    double template_scale = 0.1;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--sizes")
            sizes = argv[i + 1];
        else if (a == "--workloads")
            workloads = argv[i + 1];
        else if (a == "--template-scale")
            template_scale = std::stod(argv[i + 1]);
    }
    log::setup("error");
    auto realistic = pvesim::load_profile("realistic");
    // The scaled profile for template builds, as a JSON file the simulator loads.
    auto scaled = realistic;
    auto scale = [&](int& ms) { ms = static_cast<int>(ms * template_scale); };
    for (int* ms : {&scaled.clone_full_ms, &scaled.start_ms, &scaled.boot_ms, &scaled.shutdown_ms,
                    &scaled.template_ms, &scaled.clone_linked_ms, &scaled.destroy_ms})
        scale(*ms);
    char path[] = "/tmp/np-bench-profile-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    {
        std::ofstream f(path);
        f << "{\"base\":\"realistic\",\"clone_full_ms\":" << scaled.clone_full_ms
          << ",\"start_ms\":" << scaled.start_ms << ",\"boot_ms\":" << scaled.boot_ms
          << ",\"shutdown_ms\":" << scaled.shutdown_ms << ",\"template_ms\":" << scaled.template_ms
          << ",\"clone_linked_ms\":" << scaled.clone_linked_ms << ",\"destroy_ms\":" << scaled.destroy_ms
          << "}";
    }
    std::vector<Row> rows;
    for (const auto& w : split(workloads)) {
        for (const auto& n : split(sizes)) {
            bool t = w == "template";
            auto row = run(w, std::stoul(n), t ? std::string(path) : "realistic", t ? scaled : realistic);
            if (t) row.note = "durations x" + std::to_string(template_scale).substr(0, 4);
            rows.push_back(row);
            std::fprintf(stderr, "%s n=%zu: %.2f s (bound %.2f s)\n", w.c_str(), row.n, row.wall, row.bound);
        }
    }
    std::remove(path);
    std::printf("%-9s %5s %9s %9s %7s %6s %8s %10s %5s %6s  %s\n", "workload", "N", "wall_s", "bound_s",
                "ratio", "ok", "api", "cpu_us/call", "fail", "retry", "note");
    for (const auto& r : rows)
        std::printf("%-9s %5zu %9.2f %9.2f %7.3f %6zu %8llu %10.1f %5zu %6llu  %s\n", r.workload.c_str(), r.n,
                    r.wall, r.bound, r.bound > 0 ? r.wall / r.bound : 0.0, r.ok,
                    static_cast<unsigned long long>(r.calls), r.cpu_per_call_us, r.failed,
                    static_cast<unsigned long long>(r.retries), r.note.c_str());
    return 0;
}
