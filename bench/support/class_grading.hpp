// Issue 14's grading rush through the API, for the class benchmarks (bench/pveclass; bench/class measures the
// same way and can take these): one student grades alone (the single-evaluation baseline), then every student
// presses "grade" at once; every score must be exact. Header-only (benchmarks are single files).
#pragma once

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "http_client.hpp"

namespace np::bench {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct GradingStudent {
    std::string assignment;  // their assignment's id
    Headers auth;            // their own login
};

// The server's peak resident memory (VmHWM), in KiB; -1 when unreadable.
inline long peak_rss_kb(int pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

// Every student of `who` presses "grade" at once (POST /assignments/{id}/evaluations with their own token);
// waits for every evaluation job (polled with `teacher`) and returns the wall time. Throws unless every
// evaluation is done with exactly `score` points.
inline double grade_at_once(std::uint16_t port, const std::vector<const GradingStudent*>& who,
                            const Headers& teacher, double score) {
    namespace json = boost::json;
    testkit::HttpClient c(port);
    auto call = [&](const std::string& method, const std::string& path, const Headers& h) {
        auto r = c.request(method, path, "", h);
        if (r.status >= 400)
            throw std::runtime_error(method + " " + path + ": " + std::to_string(r.status) + " " + r.body);
        return json::parse(r.body);
    };
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, const GradingStudent*>> evaluations;
    std::vector<std::string> jobs;
    for (const auto* s : who) {
        auto r = call("POST", "/api/v1/assignments/" + s->assignment + "/evaluations", s->auth);
        evaluations.emplace_back(std::string(r.at("evaluation").at("id").as_string()), s);
        jobs.emplace_back(r.at("job").at("id").as_string());
    }
    while (!jobs.empty()) {
        std::vector<std::string> left;
        for (const auto& id : jobs) {
            auto st = call("GET", "/api/v1/jobs/" + id, teacher).at("state").as_string();
            if (st == "queued" || st == "running") left.push_back(id);
        }
        jobs.swap(left);
        if (!jobs.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& [id, s] : evaluations) {
        auto e = call("GET", "/api/v1/evaluations/" + id, s->auth);
        if (e.at("status").as_string() != "done" || e.at("score").to_number<double>() != score)
            throw std::runtime_error("inexact grade: " + json::serialize(e));
    }
    return took;
}

}  // namespace np::bench
