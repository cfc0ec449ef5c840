// store_bench: operations per second of the Store on each URL given (default: a SQLite file in /tmp):
// single-row write transactions, point reads, a 50-row page, job claims from 4 threads. Prints figures;
// asserts nothing (benchmarks are not tests).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "store/store.hpp"
#include "store/url.hpp"

using namespace np;
using Clock = std::chrono::steady_clock;

namespace {

template <class F>
void measure(const char* what, int n, F&& fn) {
    auto start = Clock::now();
    fn();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("  %-44s %8d ops  %10.0f ops/s  %8.1f us/op\n", what, n, n / secs, secs * 1e6 / n);
}

void bench(const std::string& url) {
    auto store = store::open_store(url);
    store->migrate();
    std::printf("%s\n", store::redacted_url(url).c_str());
    const int n = 2000;
    std::vector<std::string> ids;
    measure("create_user (1 write transaction each)", n, [&] {
        for (int i = 0; i < n; ++i) {
            store::User u{.id = core::new_id(), .realm = "local", .role = "student"};
            u.username = u.id;
            store->create_user(u);
            ids.push_back(u.id);
        }
    });
    measure("get_user (point read)", n, [&] {
        for (int i = 0; i < n; ++i) store->get_user(ids[static_cast<std::size_t>(i)]);
    });
    measure("list_users role=student, page of 50", n / 10, [&] {
        for (int i = 0; i < n / 10; ++i)
            store->list_users({.role = "student"}, {.limit = 50, .after = ids[static_cast<std::size_t>(i)]});
    });
    measure("transaction: user + audit entry", n / 2, [&] {
        for (int i = 0; i < n / 2; ++i) {
            store->transaction([&] {
                store::User u{.id = core::new_id(), .realm = "local", .role = "student"};
                u.username = u.id;
                store->create_user(u);
                store->append_audit({.actor_id = u.id, .action = "user.create", .object_id = u.id});
            });
        }
    });
    for (int threads_n : {1, 4}) {
        for (int i = 0; i < n; ++i) store->create_job({.id = core::new_id(), .kind = "bench"});
        std::atomic<int> claimed{0};
        const std::string what = "claim_job + finish_job, " + std::to_string(threads_n) + " thread(s)";
        measure(what.c_str(), n, [&] {
            std::vector<std::thread> threads;
            for (int t = 0; t < threads_n; ++t) {
                threads.emplace_back([&, t] {
                    const std::string owner = "runner-" + std::to_string(t);
                    while (auto job = store->claim_job(owner, core::unix_now(), 60)) {
                        store->finish_job(job->id, "succeeded", "{}", "", core::unix_now());
                        ++claimed;
                    }
                });
            }
            for (auto& th : threads) th.join();
        });
        if (claimed != n) std::printf("  !! claimed %d of %d jobs\n", claimed.load(), n);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> urls(argv + 1, argv + argc);
    std::string tmp;
    if (urls.empty()) {
        tmp = (std::filesystem::temp_directory_path() / ("np-store-bench-" + core::random_hex(4) + ".db"))
                  .string();
        urls.push_back("sqlite:" + tmp);
    }
    for (const auto& url : urls) bench(url);
    if (!tmp.empty()) {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(tmp + suffix);
    }
}
