// The evaluation engine: grades one student's lab against a spec. Grading runs in rounds (the spec's
// `grading.settle`): each round runs every distinct command once (checks with `retry` re-run theirs in the
// first round until they pass or the retry deadline), and while a round leaves a check failed and the settle
// window is open, another round grades everything again; the last round is the grade. Each device is opened
// once; devices are talked to in parallel; evaluations share a global concurrency bound. Runs on one event
// loop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "eval/platform.hpp"
#include "eval/session.hpp"
#include "eval/spec.hpp"

namespace np::core {
class WorkerPool;
}

namespace np::eval {

enum class CheckStatus { passed, failed, skipped, error };
std::string_view status_name(CheckStatus s);

struct CheckResult {
    std::string id, title, device;
    CheckStatus status = CheckStatus::error;
    double points = 0, max_points = 0;
    std::string feedback;  // rendered feedback for the outcome (or the reason for skipped/error)
    std::string evidence;  // what decided: matching line(s), counts, ping figures
    bool hidden = false;
    int attempts = 0;                       // how many times the commands were run (rounds and retries)
    std::chrono::milliseconds waited{0};    // time spent waiting between its own retries (`retry`)
    std::chrono::milliseconds checking{0};  // time spent running this check's commands
    std::vector<std::string> commands;      // rendered commands (reports hide hidden checks' ones)
};

struct TranscriptEntry {
    std::string device, command, output, error;
    int round = 1;                // the settle round that ran it
    std::int64_t started_ms = 0;  // since the evaluation began
    std::int64_t duration_ms = 0;
};

// What grading waited for (spec `grading.settle`).
struct SettleOutcome {
    bool enabled = true;
    std::chrono::milliseconds window{0};
    int rounds = 0;
    bool settled = false;  // the last round left no failed check that another round could change
    std::chrono::milliseconds elapsed{0};  // from the start of grading to the end of the last round
    std::vector<std::string> waited_for;   // checks that failed in an earlier round (spec order)
    std::vector<std::string> failing;      // checks failed in the last round that another round could change
};

struct Evaluation {
    std::string exercise, student;
    double score = 0, max_score = 0;
    std::vector<CheckResult> checks;
    std::vector<TranscriptEntry> transcript;
    // device -> why it could not be reached (or has no inventory entry or platform). Not empty: the score
    // does not reflect the lab (`netpraxis serve` then records an error, not a grade).
    std::map<std::string, std::string> device_errors;
    std::chrono::milliseconds duration{0};
    SettleOutcome settle;
};

// The engine's time for settle rounds, retries and the durations it reports (STYLE: time is injected, not
// slept); device I/O deadlines stay on the real clock. Tests substitute a virtual clock whose wait() advances
// it without sleeping.
class EngineClock : public core::Clock {
 public:
    virtual boost::asio::awaitable<void> wait(std::chrono::milliseconds d) const;  // an Asio steady_timer
    static const EngineClock& system();
};

struct EngineOptions {
    std::size_t max_concurrent_evaluations = 64;
    std::chrono::milliseconds open_timeout{std::chrono::seconds(20)};
    std::chrono::milliseconds command_timeout{std::chrono::seconds(30)};
    core::WorkerPool* pool = nullptr;  // for ssh
    const EngineClock* clock = &EngineClock::system();
};

using SessionFactory = std::function<std::unique_ptr<Session>(boost::asio::any_io_executor,
                                                              const DeviceTarget&, const Platform&)>;

// A counting semaphore for coroutines on one executor (the global bound on evaluations).
class AsyncSemaphore {
 public:
    explicit AsyncSemaphore(std::size_t permits) : permits_(permits) {}
    boost::asio::awaitable<void> acquire();
    void release();
    std::size_t waiting() const { return waiters_.size(); }

 private:
    struct Waiter;
    std::size_t permits_;
    std::deque<std::shared_ptr<Waiter>> waiters_;
};

class Engine {
 public:
    Engine(const PlatformRegistry& platforms, EngineOptions options = {});
    // Tests and benchmarks replace how sessions are made (default: make_session).
    void set_session_factory(SessionFactory factory) { factory_ = std::move(factory); }

    // Grades `student`'s lab; `targets` maps spec device names to how to reach them. Never throws for device
    // problems: they become `error` results with the reason.
    boost::asio::awaitable<Evaluation> evaluate(const Spec& spec, const std::string& student,
                                                const std::map<std::string, DeviceTarget>& targets);

 private:
    const PlatformRegistry& platforms_;
    EngineOptions options_;
    SessionFactory factory_;
    AsyncSemaphore bound_;
};

// Reports (FORMATS.md): JSON `{"score", "max_score", "checks": [...], "transcript": [...]}` and readable
// text. `student_view` hides hidden checks' titles, evidence and feedback, and their commands in the
// transcript.
std::string report_json(const Evaluation& e, bool student_view = false, bool with_transcript = true);
std::string report_text(const Evaluation& e, bool student_view = false, bool color = false);

}  // namespace np::eval

namespace np::eval {
// Runs one evaluation on a private event loop and returns it (the CLI and tests). `pool` is for ssh.
Evaluation evaluate_blocking(const PlatformRegistry& platforms, EngineOptions options, const Spec& spec,
                             const std::string& student, const std::map<std::string, DeviceTarget>& targets,
                             SessionFactory factory = {});
}  // namespace np::eval
