#include "eval/engine.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/log.hpp"
#include "eval/intent.hpp"
#include "eval/matcher.hpp"

namespace np::eval {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string_view status_name(CheckStatus s) {
    switch (s) {
        case CheckStatus::passed: return "passed";
        case CheckStatus::failed: return "failed";
        case CheckStatus::skipped: return "skipped";
        case CheckStatus::error: return "error";
    }
    return "error";
}

// ---- AsyncSemaphore ----

struct AsyncSemaphore::Waiter {
    explicit Waiter(asio::any_io_executor ex) : timer(ex, Clock::time_point::max()) {}
    asio::steady_timer timer;
    bool granted = false;
};

asio::awaitable<void> AsyncSemaphore::acquire() {
    if (permits_ > 0 && waiters_.empty()) {
        --permits_;
        co_return;
    }
    auto w = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    waiters_.push_back(w);
    while (!w->granted) co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void AsyncSemaphore::release() {
    if (waiters_.empty()) {
        ++permits_;
        return;
    }
    auto w = waiters_.front();
    waiters_.pop_front();
    w->granted = true;  // the permit passes straight to the first waiter
    w->timer.cancel();
}

// ---- EngineClock ----

asio::awaitable<void> EngineClock::wait(milliseconds d) const {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

const EngineClock& EngineClock::system() {
    static const EngineClock clock;
    return clock;
}

// ---- Engine ----

namespace {

struct CommandRecord {
    std::string output, error;
    bool ran = false;
};

struct CheckRuntime {
    std::vector<std::string> commands;  // rendered
    std::string prepare_error;          // template problem
    int attempts = 0;
    milliseconds waited{0}, checking{0};
};

// Everything one evaluation shares between its device coroutines (all on one executor: no locks).
struct Run {
    const Spec& spec;
    Values values;
    Evaluation& ev;
    const EngineClock& clock;
    Clock::time_point start;
    std::vector<CheckRuntime> checks;
    std::map<std::string, std::map<std::string, CommandRecord>> outputs;  // this round: device -> command
    int round = 1;

    milliseconds since(Clock::time_point t) const {
        return std::chrono::duration_cast<milliseconds>(clock.now() - t);
    }
};

std::string joined_output(Run& run, const Check& c, const CheckRuntime& rt, std::string& error) {
    std::string out;
    for (const auto& cmd : rt.commands) {
        const CommandRecord& r = run.outputs[c.on][cmd];
        if (!r.error.empty() && error.empty()) error = r.error;
        if (!out.empty() && out.back() != '\n') out.push_back('\n');
        out += r.output;
    }
    return out;
}

// Evaluates a check's matcher on its current outputs; `error` is set when it could not be evaluated.
MatchOutcome try_match(Run& run, const Check& c, const CheckRuntime& rt, const Platform& platform,
                       std::string& error) {
    error.clear();
    std::string out = joined_output(run, c, rt, error);
    if (!error.empty()) return {};
    try {
        if (c.intent) return evaluate_intent(*c.intent, out, run.values, platform);
        return evaluate_matcher(c.expect, out, run.values, platform);
    } catch (const core::Error& e) {
        error = e.what();
        return {};
    }
}

// Talks to one device for the whole evaluation: opens its session on first use, keeps it across waves,
// reopens it after a timeout, and gives up on a device that could not be opened.
class DeviceWorker {
 public:
    DeviceWorker(Run& run, const std::string& device, const DeviceTarget* target, const Platform* platform,
                 const EngineOptions& options, const SessionFactory& factory)
        : run_(run),
          device_(device),
          target_(target),
          platform_(platform),
          options_(options),
          factory_(factory) {}

    // One wave: run these commands, then re-run the retrying checks until they pass or time out.
    asio::awaitable<void> wave(std::vector<std::pair<std::string, milliseconds>> commands,
                               std::vector<std::size_t> retry_checks) {
        if (!target_) co_return fail_all(commands, "no inventory entry for device '" + device_ + "'");
        if (!platform_) co_return fail_all(commands, "unknown platform '" + target_->platform + "'");
        if (!unreachable_.empty()) co_return fail_all(commands, unreachable_);
        auto ex = co_await asio::this_coro::executor;
        if (!session_ && !co_await open(ex)) {
            unreachable_ = "device unreachable: " + open_error_;
            co_return fail_all(commands, unreachable_);
        }
        for (const auto& [cmd, timeout] : commands) co_await run_command(ex, cmd, timeout);
        for (std::size_t idx : retry_checks) co_await retry(ex, idx);
    }

    asio::awaitable<void> finish() {
        if (session_) co_await session_->close();
        session_.reset();
    }

 private:
    void fail_all(const std::vector<std::pair<std::string, milliseconds>>& commands, const std::string& why) {
        run_.ev.device_errors[device_] = why;
        for (const auto& [cmd, t] : commands) run_.outputs[device_][cmd] = {"", why, false};
        log::warn("eval.device.unreachable", {{"device", device_}, {"reason", why}});
    }

    asio::awaitable<bool> open(asio::any_io_executor ex) {
        try {
            session_ = factory_(ex, *target_, *platform_);
            co_await session_->open(Clock::now() + options_.open_timeout);
            co_return true;
        } catch (const std::exception& e) {
            open_error_ = e.what();
        }
        if (session_) co_await session_->close();
        session_.reset();
        co_return false;
    }

    asio::awaitable<void> run_command(asio::any_io_executor ex, const std::string& cmd,
                                      milliseconds timeout) {
        TranscriptEntry t{device_, cmd, "", "", run_.round, run_.since(run_.start).count(), 0};
        auto began = run_.clock.now();
        CommandRecord rec;
        // A session that timed out is never reused: close it and open a fresh one.
        if (session_ && session_->broken()) {
            co_await session_->close();
            session_.reset();
        }
        if (!session_ && !co_await open(ex)) {
            rec.error = "device unreachable: " + open_error_;
            run_.ev.device_errors.emplace(device_, rec.error);  // lost mid-evaluation: the grade is partial
        } else {
            try {
                rec.output = co_await session_->run(cmd, Clock::now() + timeout);
                rec.ran = true;
                if (auto marker = platform_->error_in(rec.output); !marker.empty())
                    t.error = "the device refused the command (" + marker + ")";
            } catch (const std::exception& e) {
                rec.error = e.what();
            }
        }
        t.output = rec.output;
        if (!rec.error.empty()) t.error = rec.error;
        t.duration_ms = run_.since(began).count();
        run_.ev.transcript.push_back(std::move(t));
        run_.outputs[device_][cmd] = std::move(rec);
    }

    asio::awaitable<void> retry(asio::any_io_executor ex, std::size_t idx) {
        const Check& c = run_.spec.checks[idx];
        CheckRuntime& rt = run_.checks[idx];
        auto until = run_.clock.now() + c.retry->total;
        milliseconds timeout = c.timeout.value_or(options_.command_timeout);
        while (true) {
            std::string error;
            MatchOutcome o = try_match(run_, c, rt, *platform_, error);
            if ((error.empty() && o.passed) || run_.clock.now() + c.retry->every > until) co_return;
            co_await run_.clock.wait(c.retry->every);
            rt.waited += c.retry->every;
            auto began = run_.clock.now();
            for (const auto& cmd : rt.commands) co_await run_command(ex, cmd, timeout);
            rt.checking += run_.since(began);
            ++rt.attempts;
        }
    }

    Run& run_;
    std::string device_;
    const DeviceTarget* target_;
    const Platform* platform_;
    const EngineOptions& options_;
    const SessionFactory& factory_;
    std::unique_ptr<Session> session_;
    std::string open_error_, unreachable_;
};

// Runs `body(worker)` for every worker concurrently and waits for all of them.
template <class Body>
asio::awaitable<void> in_parallel(std::map<std::string, std::unique_ptr<DeviceWorker>>& workers,
                                  const std::vector<std::string>& devices, Body body) {
    if (devices.empty()) co_return;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer all_done(ex, Clock::time_point::max());
    std::size_t remaining = devices.size();
    for (const auto& device : devices) {
        asio::co_spawn(ex, body(*workers.at(device), device),
                       [&remaining, &all_done, device](std::exception_ptr e) {
                           if (e) {
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& x) {
                                   log::error("eval.device.crash", {{"device", device}, {"error", x.what()}});
                               }
                           }
                           if (--remaining == 0) all_done.cancel();
                       });
    }
    while (remaining > 0) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
}

std::string render_or(const std::string& text, const Values& values) {
    try {
        return render(text, values);
    } catch (const core::Error&) {
        return text;
    }
}

}  // namespace

Engine::Engine(const PlatformRegistry& platforms, EngineOptions options)
    : platforms_(platforms), options_(options), bound_(options.max_concurrent_evaluations) {
    factory_ = [pool = options_.pool](asio::any_io_executor ex, const DeviceTarget& t, const Platform& p) {
        return make_session(std::move(ex), t, p, pool);
    };
}

asio::awaitable<Evaluation> Engine::evaluate(const Spec& spec, const std::string& student,
                                             const std::map<std::string, DeviceTarget>& targets) {
    Evaluation ev;
    ev.exercise = spec.id;
    ev.student = student;
    ev.max_score = spec.max_score();
    co_await bound_.acquire();
    struct Permit {
        AsyncSemaphore& s;
        ~Permit() { s.release(); }
    } permit{bound_};

    const EngineClock& clock = *options_.clock;
    Run run{spec, {}, ev, clock, clock.now(), std::vector<CheckRuntime>(spec.checks.size()), {}};
    std::string values_error;
    try {
        run.values = derive_values(spec.variables, spec.id, student);
    } catch (const core::Error& e) {
        values_error = e.what();
    }

    // The platform of a spec device: the inventory's, else the spec's.
    auto platform_of = [&](const std::string& device) {
        auto t = targets.find(device);
        const DeviceSpec* d = spec.device(device);
        return platforms_.find(t != targets.end() && !t->second.platform.empty()
                                   ? t->second.platform
                                   : (d ? d->platform : std::string()));
    };
    for (std::size_t i = 0; i < spec.checks.size() && values_error.empty(); ++i) {
        const Check& c = spec.checks[i];
        CheckRuntime& rt = run.checks[i];
        try {
            if (c.intent && platform_of(c.on))  // (an unknown platform is reported when the device is opened)
                rt.commands = intent_commands(*c.intent, *platform_of(c.on), run.values);
            for (const auto& cmd : c.run) rt.commands.push_back(render(cmd, run.values));
        } catch (const core::Error& e) {
            rt.prepare_error = c.intent ? std::string(e.what()) : c.path + ".run: " + e.what();
            rt.commands.clear();
        }
    }

    // Waves: a check runs after the checks it `requires` have settled (level = 1 + its prerequisites'
    // highest level), so "H1 reaches H2" is tried only once OSPF has converged, and a check whose
    // prerequisite failed is skipped without touching the device.
    std::vector<int> level(spec.checks.size(), -1);
    std::function<int(std::size_t, int)> level_of = [&](std::size_t i, int depth) -> int {
        if (level[i] >= 0) return level[i];
        if (depth > static_cast<int>(spec.checks.size())) return 0;  // a cycle: the linter reports it
        int l = 0;
        for (const auto* ids : {&spec.checks[i].requires_ids, &spec.checks[i].after_ids})
            for (const auto& req : *ids)
                for (std::size_t j = 0; j < spec.checks.size(); ++j)
                    if (spec.checks[j].id == req && j != i) l = std::max(l, level_of(j, depth + 1) + 1);
        return level[i] = l;
    };
    int max_level = 0;
    for (std::size_t i = 0; i < spec.checks.size(); ++i) max_level = std::max(max_level, level_of(i, 0));

    std::map<std::string, std::unique_ptr<DeviceWorker>> workers;
    auto worker_for = [&](const std::string& device) {
        if (!workers.count(device)) {
            const DeviceTarget* target = nullptr;
            if (auto it = targets.find(device); it != targets.end()) target = &it->second;
            std::string platform_name = target && !target->platform.empty() ? target->platform : "";
            if (const DeviceSpec* d = spec.device(device); d && platform_name.empty())
                platform_name = d->platform;
            workers[device] = std::make_unique<DeviceWorker>(
                run, device, target, platforms_.find(platform_name), options_, factory_);
        }
    };

    std::vector<std::optional<CheckResult>> results(spec.checks.size());
    auto blocked_reason = [&](const Check& c) -> std::string {
        for (const auto& req : c.requires_ids) {
            for (std::size_t j = 0; j < spec.checks.size(); ++j) {
                if (spec.checks[j].id != req || !results[j]) continue;
                if (results[j]->status != CheckStatus::passed)
                    return "requires '" + req + "', which " +
                           (results[j]->status == CheckStatus::failed
                                ? std::string("failed")
                                : "was " + std::string(status_name(results[j]->status)));
            }
        }
        return {};
    };
    auto finish_check = [&](std::size_t i, const std::string& blocked) {
        const Check& c = spec.checks[i];
        CheckRuntime& rt = run.checks[i];
        CheckResult r;
        r.id = c.id;
        r.title = render_or(c.title, run.values);
        r.device = c.on;
        r.max_points = c.points;
        r.hidden = c.hidden;
        r.attempts = rt.attempts;  // over all rounds
        r.waited = rt.waited;
        r.checking = rt.checking;
        r.commands = rt.commands;
        if (!values_error.empty()) {
            r.status = CheckStatus::error;
            r.feedback = "variables: " + values_error;
        } else if (!rt.prepare_error.empty()) {
            r.status = CheckStatus::error;
            r.feedback = rt.prepare_error;
        } else if (!blocked.empty()) {
            r.status = CheckStatus::skipped;
            r.feedback = "skipped: " + blocked;
        } else {
            const Platform* p = platform_of(c.on);
            std::string error;
            MatchOutcome o;
            if (!p)
                error = "unknown platform for device '" + c.on + "'";
            else
                o = try_match(run, c, rt, *p, error);
            if (!error.empty()) {
                r.status = CheckStatus::error;
                r.feedback = error;
            } else {
                r.evidence = o.evidence;
                if (o.passed) {
                    r.status = CheckStatus::passed;
                    r.points = c.points;
                    r.feedback = render_or(c.feedback_pass, run.values);
                } else {
                    r.status = CheckStatus::failed;
                    r.points = c.partial ? c.points * o.fraction : 0;
                    r.feedback = render_or(c.feedback_fail, run.values);
                }
            }
        }
        results[i] = std::move(r);
    };

    // Rounds (grading.settle): a round that leaves a check failed is followed, `every` later, by another that
    // grades every check again (but `retry: off` ones, graded in the first round only), until a round has no
    // failed check or the next one would start after the window (counted from the start of grading). Every
    // round observes afresh, so the grade is the last round's: a check that passed early on a converging
    // network and fails once it converged loses its points, and none are counted twice. Errors (unreachable
    // device, template problem) are not waited for: waiting does not change them.
    const SettlePolicy& settle = spec.grading.settle;
    ev.settle.enabled = settle.enabled;
    ev.settle.window = settle.window;
    auto graded_in_round = [&](std::size_t i) { return run.round == 1 || !spec.checks[i].once; };
    std::set<std::size_t> waited_for;
    for (;; ++run.round) {
        run.outputs.clear();
        for (int wave = 0; wave <= max_level; ++wave) {
            // Distinct rendered commands per device not run yet, in first-use order, with the longest
            // timeout.
            std::map<std::string, std::vector<std::pair<std::string, milliseconds>>> commands;
            std::map<std::string, std::vector<std::size_t>> retries;
            std::vector<std::pair<std::size_t, std::string>> in_wave;
            for (std::size_t i = 0; i < spec.checks.size(); ++i) {
                if (level[i] != wave || !graded_in_round(i)) continue;
                const Check& c = spec.checks[i];
                std::string blocked = blocked_reason(c);
                in_wave.emplace_back(i, blocked);
                if (!blocked.empty() || !values_error.empty() || !run.checks[i].prepare_error.empty())
                    continue;
                ++run.checks[i].attempts;
                milliseconds timeout = c.timeout.value_or(options_.command_timeout);
                auto& list = commands[c.on];
                for (const auto& cmd : run.checks[i].commands) {
                    if (run.outputs[c.on].count(cmd)) continue;  // ran in an earlier wave: once per round
                    auto it = std::find_if(list.begin(), list.end(), [&](auto& p) { return p.first == cmd; });
                    if (it == list.end())
                        list.emplace_back(cmd, timeout);
                    else
                        it->second = std::max(it->second, timeout);
                }
                if (c.retry && run.round == 1) retries[c.on].push_back(i);
            }
            std::vector<std::string> devices;
            for (auto& [device, list] : commands) devices.push_back(device);
            for (auto& [device, list] : retries)
                if (!commands.count(device)) devices.push_back(device);
            for (const auto& d : devices) worker_for(d);
            co_await in_parallel(workers, devices, [&](DeviceWorker& w, const std::string& device) {
                return w.wave(commands[device], retries[device]);
            });
            for (const auto& [i, blocked] : in_wave) finish_check(i, blocked);
        }
        ev.settle.rounds = run.round;
        std::vector<std::size_t> failing;
        for (std::size_t i = 0; i < spec.checks.size(); ++i)
            if (results[i]->status == CheckStatus::failed && !spec.checks[i].once) failing.push_back(i);
        ev.settle.settled = failing.empty();
        if (failing.empty() || !settle.enabled || clock.now() + settle.every > run.start + settle.window) {
            for (std::size_t i : failing) ev.settle.failing.push_back(spec.checks[i].id);
            break;
        }
        waited_for.insert(failing.begin(), failing.end());
        co_await clock.wait(settle.every);
    }
    for (std::size_t i : waited_for) ev.settle.waited_for.push_back(spec.checks[i].id);
    ev.settle.elapsed = run.since(run.start);
    std::vector<std::string> all;
    for (auto& [device, w] : workers) all.push_back(device);
    co_await in_parallel(workers, all, [](DeviceWorker& w, const std::string&) { return w.finish(); });

    for (std::size_t i = 0; i < spec.checks.size(); ++i) {
        ev.checks.push_back(*results[i]);
        ev.score += ev.checks.back().points;
    }
    ev.duration = run.since(run.start);
    log::info("eval.done", {{"exercise", spec.id},
                            {"student", student},
                            {"score", ev.score},
                            {"max_score", ev.max_score},
                            {"rounds", ev.settle.rounds},
                            {"settled", ev.settle.settled},
                            {"duration_ms", ev.duration.count()}});
    co_return ev;
}

}  // namespace np::eval
