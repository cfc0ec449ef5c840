// app::Workflows without root: the job kinds run through a real JobRunner on a throwaway SQLite store, and
// the environment's lab is a FakeProvider (tests/support/fake_provider.hpp) registered as "local".
//  - environment.reconcile: every observed lab state x every desired state (and reset) ends with the calls
//    a provider needs and the state that really exists; a failing provider call ends the environment in
//    "error" with a reason a student may read while the job keeps the detail for teachers.
//  - evaluation.run: the report is stored once with its score, evaluation.state events are published; a
//    device that cannot be reached makes the evaluation an error that uses no attempt.
#include "app/workflows.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/events.hpp"
#include "app/jobs.hpp"
#include "core/config.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "fake_provider.hpp"
#include "lab/registry.hpp"
#include "store/store.hpp"

using namespace np;
namespace asio = boost::asio;
namespace json = boost::json;
using lab::EnvState;

namespace {

constexpr const char* kTopology = "name: fake\nnodes:\n  h1: {kind: linux}\n";

// A platform whose exec transport runs the command on this host: grading without namespaces or root.
constexpr const char* kShellPlatform = R"(shell:
  description: commands on this host (tests)
  prompt: '^\$ $'
  exec: [sh, -c, '{command}']
)";

constexpr const char* kSpec = R"(id: fake-lab
title: Graded on a fake lab
version: 1
devices:
  h1: {platform: shell}
checks:
  - id: greets
    title: h1 says hello
    on: h1
    run: echo hello
    expect: {contains: hello}
    points: 2
)";

struct World {
    std::filesystem::path dir;
    asio::io_context io;
    std::unique_ptr<store::Store> store;
    core::WorkerPool pool{2};
    app::EventBus bus{io.get_executor(), 4096};
    lab::ProviderRegistry providers;
    testkit::FakeProvider* fake = nullptr;
    std::unique_ptr<core::Config> config;
    std::unique_ptr<app::Workflows> workflows;
    std::unique_ptr<app::JobRunner> runner;
    std::thread loop;

    store::User student;
    store::ExerciseVersion version;
    store::Assignment assignment;
    store::Environment env;

    explicit World(std::string topology = kTopology, std::string provider = "local",
                   const std::string& more_config = "") {
        dir = std::filesystem::temp_directory_path() / ("np-workflows-" + core::random_hex(4));
        std::filesystem::create_directories(dir / "platforms");
        std::ofstream(dir / "platforms" / "shell.yaml") << kShellPlatform;
        config = std::make_unique<core::Config>(
            core::Config::from_string("eval:\n  platforms_dir: " + (dir / "platforms").string() +
                                      "\n  open_timeout: 2s\n" + more_config));
        // A SQLite file in the test's own folder: like "sqlite::memory:" (a private throwaway database), but
        // not under the shared temp folder, which SqliteStoreMemory counts while tests run in parallel.
        store = store::open_store("sqlite:" + (dir / "np.db").string());
        store->migrate();
        // Under the name "local": the environments table accepts only the provider names it knows.
        fake = &static_cast<testkit::FakeProvider&>(
            providers.add(std::make_unique<testkit::FakeProvider>("local")));
        seed(std::move(topology), std::move(provider));
        workflows =
            std::make_unique<app::Workflows>(io.get_executor(), *config, *store, pool, bus, providers);
        app::JobRunnerOptions o;
        o.instance_id = "test";
        o.poll_interval = std::chrono::milliseconds(5);
        runner = std::make_unique<app::JobRunner>(io.get_executor(), *store, pool, bus, o);
        workflows->register_with(*runner);
        loop = std::thread([this] {
            auto guard = asio::make_work_guard(io);
            io.run();
        });
        asio::post(io, [this] { runner->start(); });
    }

    ~World() {
        asio::co_spawn(io, runner->stop(std::chrono::seconds(2)), asio::use_future).get();
        io.stop();
        loop.join();
        pool.join();  // the store calls still running on the pool end before the folder goes
        std::filesystem::remove_all(dir);
    }

    void seed(std::string topology, std::string provider) {
        auto now = core::unix_now();
        student = {core::new_id(), "s1", "local", "student", "Student", "", false, now, 1, false};
        store->create_user(student);
        store::Exercise ex;
        ex.id = core::new_id();
        ex.slug = "fake-lab";
        ex.title = "Graded on a fake lab";
        ex.created_by = student.id;
        ex.created_at = now;
        store->create_exercise(ex);
        store::ExerciseVersion v;
        v.exercise_id = ex.id;
        v.spec = kSpec;
        v.topology = std::move(topology);
        v.created_at = now;
        version = store->add_version(v);
        assignment.id = core::new_id();
        assignment.exercise_id = ex.id;
        assignment.exercise_version_id = version.id;
        assignment.student_id = student.id;
        assignment.created_by = student.id;
        assignment.created_at = now;
        store->create_assignment(assignment);
        env.id = core::new_id();
        env.assignment_id = assignment.id;
        env.student_id = student.id;
        env.provider = std::move(provider);
        env.created_at = env.updated_at = now;
        store->create_environment(env);
    }

    std::string lab() const { return app::Workflows::lab_name(env.id); }

    // Sets what the record says (desired, and observed as an earlier reconcile left it).
    void record(const std::string& desired, const std::string& observed = "absent") {
        auto e = *store->get_environment(env.id);
        e.desired_state = desired;
        e.observed_state = observed;
        store->update_environment(e);
    }

    // Submits a job and waits for it to end; returns the finished row.
    store::Job run(std::string kind, json::object params) {
        store::Job job;
        job.kind = std::move(kind);
        job.params = json::serialize(params);
        job.owner_id = student.id;
        job = asio::co_spawn(io, runner->submit(job), asio::use_future).get();
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (std::chrono::steady_clock::now() < until) {
            auto row = store->get_job(job.id);
            if (row && (row->state == "succeeded" || row->state == "failed" || row->state == "cancelled"))
                return *row;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ADD_FAILURE() << "job " << job.kind << " did not finish";
        return *store->get_job(job.id);
    }
    store::Job reconcile(const std::string& action = "") {
        return run("environment.reconcile", {{"environment_id", env.id}, {"action", action}});
    }

    store::Environment environment() const { return *store->get_environment(env.id); }

    // Every event published so far of `type`, their data parsed.
    std::vector<json::object> events(const std::string& type) {
        auto all = asio::co_spawn(
                       io,
                       [this]() -> asio::awaitable<std::vector<app::Event>> {
                           auto sub = bus.subscribe({}, 0);
                           std::vector<app::Event> out;
                           while (auto e = co_await sub->next(std::chrono::milliseconds(20)))
                               out.push_back(*e);
                           co_return out;
                       },
                       asio::use_future)
                       .get();
        std::vector<json::object> out;
        for (const auto& e : all)
            if (e.type == type) out.push_back(json::parse(e.data).as_object());
        return out;
    }
};

std::string str(const json::value& v) {
    return std::string(v.as_string());
}

// The detail a failed job keeps for teachers.
std::string error_detail(const store::Job& job) {
    auto result = json::parse(job.result).as_object();
    return result.contains("error_detail") ? str(result.at("error_detail")) : "";
}

lab::DeviceAccess shell_device(std::string node) {
    lab::DeviceAccess d;
    d.node = std::move(node);
    d.kind = "linux";
    d.platform = "shell";
    d.transport = "exec";
    return d;
}

struct Case {
    std::optional<EnvState> lab;  // nullopt: the lab does not exist
    std::string desired;
    std::string action;
    std::vector<std::string> calls;  // {} = no call that changes the lab
    std::string observed;            // what the record says afterwards
};

std::string describe(const Case& c) {
    return "lab " + (c.lab ? std::string(lab::env_state_name(*c.lab)) : std::string("absent")) +
           ", desired " + c.desired + (c.action.empty() ? "" : ", action " + c.action);
}

}  // namespace

TEST(WorkflowsReconcile, DrivesEveryObservedStateToEveryDesiredState) {
    const std::string L = "@";  // replaced by the lab name
    std::vector<Case> cases = {
        // desired running: a missing lab is made, any other state but running is started.
        {std::nullopt, "running", "", {"ensure_template @", "create @", "start @"}, "running"},
        {EnvState::stopped, "running", "", {"start @"}, "running"},
        {EnvState::creating, "running", "", {"start @"}, "running"},
        {EnvState::degraded, "running", "", {"start @"}, "running"},
        {EnvState::running, "running", "", {}, "running"},
        // reset: back to the initial state of a lab that exists; a missing one is made as usual.
        {EnvState::running, "running", "reset", {"reset @"}, "running"},
        {EnvState::stopped, "running", "reset", {"reset @"}, "running"},
        {EnvState::degraded, "running", "reset", {"reset @"}, "running"},
        {std::nullopt, "running", "reset", {"ensure_template @", "create @", "start @"}, "running"},
        // desired stopped: stopped and missing labs are left alone.
        {std::nullopt, "stopped", "", {}, "absent"},
        {EnvState::stopped, "stopped", "", {}, "stopped"},
        {EnvState::creating, "stopped", "", {"stop @"}, "stopped"},
        {EnvState::running, "stopped", "", {"stop @"}, "stopped"},
        {EnvState::degraded, "stopped", "", {"stop @"}, "stopped"},
        // desired absent: always destroyed (idempotent in every provider).
        {std::nullopt, "absent", "", {"destroy @"}, "absent"},
        {EnvState::stopped, "absent", "", {"destroy @"}, "absent"},
        {EnvState::creating, "absent", "", {"destroy @"}, "absent"},
        {EnvState::running, "absent", "", {"destroy @"}, "absent"},
        {EnvState::degraded, "absent", "", {"destroy @"}, "absent"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(describe(c));
        World w;
        w.fake->inventory_of_new_labs = {shell_device("h1")};
        if (c.lab) {
            w.fake->set(w.lab(), *c.lab,
                        *c.lab == EnvState::degraded ? std::vector<std::string>{"h1: gone"}
                                                     : std::vector<std::string>{});
            w.fake->labs[w.lab()].inventory = {shell_device("h1")};
        }
        w.record(c.desired);
        auto job = w.reconcile(c.action);
        EXPECT_EQ(job.state, "succeeded") << job.error;
        std::vector<std::string> expected;
        for (auto call : c.calls) expected.push_back(call.replace(call.find(L), 1, w.lab()));
        EXPECT_EQ(w.fake->calls, expected);
        auto e = w.environment();
        EXPECT_EQ(e.observed_state, c.observed);
        EXPECT_EQ(e.last_error, "");
        EXPECT_EQ(json::parse(e.provider_ids).as_object().at("lab"), json::value(w.lab()));
        auto devices = json::parse(e.addresses).as_object().at("devices").as_array();
        EXPECT_EQ(devices.size(), c.observed == "running" ? 1u : 0u)
            << "inventory is recorded for running labs";
        EXPECT_EQ(json::parse(job.result).as_object().at("observed"), json::value(c.observed));
        // The last environment.state event says what the record says.
        auto states = w.events("environment.state");
        ASSERT_FALSE(states.empty());
        EXPECT_EQ(str(states.back().at("observed")), c.observed);
        EXPECT_EQ(str(states.back().at("desired")), c.desired);
        // Made and removed labs are announced while the calls run.
        if (!c.lab && c.desired == "running") {
            EXPECT_EQ(str(states.front().at("observed")), "creating");
        }
        if (c.desired == "absent") {
            EXPECT_EQ(str(states.front().at("observed")), "deleting");
        }
    }
}

TEST(WorkflowsReconcile, AnEnvironmentLeftInErrorIsDrivenAgain) {
    for (auto desired : {"running", "stopped", "absent"}) {
        SCOPED_TRACE(desired);
        World w;
        w.fake->set(w.lab(), EnvState::degraded, {"h1: gone"});
        w.record(desired, "error");
        auto job = w.reconcile();
        EXPECT_EQ(job.state, "succeeded") << job.error;
        auto e = w.environment();
        EXPECT_EQ(e.observed_state, std::string(desired) == "running"   ? "running"
                                    : std::string(desired) == "stopped" ? "stopped"
                                                                        : "absent");
        EXPECT_EQ(e.last_error, "");
    }
}

// The environments table admits 'degraded' since migration 0005.
TEST(WorkflowsReconcile, ALabThatStaysDegradedIsRecordedWithItsProblems) {
    World w;
    w.fake->set(w.lab(), EnvState::degraded, {"h1: namespace missing", "pc1: vpcs process is gone"});
    w.fake->labs[w.lab()].inventory = {shell_device("h1")};
    w.fake->stuck = lab::Observed{EnvState::degraded, {"h1: namespace missing", "pc1: vpcs process is gone"}};
    w.record("running", "running");
    auto job = w.reconcile();
    EXPECT_EQ(job.state, "succeeded") << job.error;
    EXPECT_EQ(w.fake->calls, std::vector<std::string>{"start " + w.lab()});
    auto e = w.environment();
    EXPECT_EQ(e.observed_state, "degraded");
    EXPECT_EQ(e.last_error, "h1: namespace missing; pc1: vpcs process is gone");
    EXPECT_EQ(json::parse(e.addresses).as_object().at("devices").as_array().size(), 1u)
        << "a degraded lab's devices can still be reached";
}

TEST(WorkflowsReconcile, AnInternalProviderFailureShowsAPublicReasonAndTheJobKeepsTheDetail) {
    World w;
    w.record("running");
    w.fake->failures.emplace("start", core::internal("ip netns add np_h1: RTNETLINK answers: File exists"));
    auto job = w.reconcile();
    EXPECT_EQ(job.state, "failed");
    auto e = w.environment();
    EXPECT_EQ(e.observed_state, "error");
    EXPECT_FALSE(e.last_error.empty());
    EXPECT_EQ(e.last_error.find("RTNETLINK"), std::string::npos) << e.last_error;
    EXPECT_EQ(e.last_error, core::public_message(core::Code::internal, "RTNETLINK"));
    EXPECT_EQ(job.error, e.last_error);
    EXPECT_NE(error_detail(job).find("RTNETLINK answers: File exists"), std::string::npos) << job.result;
    auto states = w.events("environment.state");
    ASSERT_FALSE(states.empty());
    EXPECT_EQ(str(states.back().at("observed")), "error");
    EXPECT_EQ(str(states.back().at("error")), e.last_error);
    EXPECT_EQ(w.fake->calls, (std::vector<std::string>{"ensure_template " + w.lab(), "create " + w.lab(),
                                                       "start " + w.lab()}));
}

TEST(WorkflowsReconcile, AFailureMeantForTheUserIsShownAsIs) {
    for (std::string call : {"ensure_template", "create", "observe", "inventory"}) {
        SCOPED_TRACE(call);
        World w;
        w.record("running");
        w.fake->failures.emplace(call, core::unavailable("local labs need root"));
        auto job = w.reconcile();
        EXPECT_EQ(job.state, "failed");
        auto e = w.environment();
        EXPECT_EQ(e.observed_state, "error");
        EXPECT_EQ(e.last_error, "local labs need root");
        EXPECT_EQ(job.error, "local labs need root");
    }
}

TEST(WorkflowsReconcile, ARequestTheProviderCannotBuildIsRefusedBeforeAnythingIsMade) {
    World w("");  // a version without a topology
    w.record("running");
    auto job = w.reconcile();
    EXPECT_EQ(job.state, "failed");
    EXPECT_TRUE(w.fake->calls.empty());
    EXPECT_EQ(w.environment().observed_state, "error");
    EXPECT_EQ(w.environment().last_error, "this exercise version has no fake topology");
}

TEST(WorkflowsReconcile, AnEnvironmentOfAnUnregisteredProviderEndsInErrorNamingTheRegisteredOnes) {
    World w(kTopology, "proxmox");
    w.record("running");
    auto job = w.reconcile();
    EXPECT_EQ(job.state, "failed");
    auto e = w.environment();
    EXPECT_EQ(e.observed_state, "error");
    EXPECT_NE(e.last_error.find("'proxmox'"), std::string::npos) << e.last_error;
    EXPECT_NE(e.last_error.find("registered: local"), std::string::npos) << e.last_error;
    EXPECT_TRUE(w.fake->calls.empty());
}

TEST(WorkflowsReconcile, AtStartEveryProviderRecovers) {
    World w;
    w.fake->recovered = {"np1"};
    asio::co_spawn(w.io, w.workflows->reconcile_at_start(), asio::use_future).get();
    EXPECT_EQ(w.fake->calls, std::vector<std::string>{"recover"});
}

namespace {

store::Evaluation queue_evaluation(World& w) {
    store::Evaluation ev;
    ev.id = core::new_id();
    ev.assignment_id = w.assignment.id;
    ev.student_id = w.student.id;
    ev.job_id = core::new_id();
    ev.created_at = core::unix_now();
    return w.store->create_evaluation(ev);
}

// A local TCP port that was free a moment ago (connecting to it is refused).
std::uint16_t closed_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    return acceptor.local_endpoint().port();
}

void running_lab(World& w, lab::Inventory inventory) {
    w.fake->set(w.lab(), EnvState::running);
    w.fake->labs[w.lab()].inventory = std::move(inventory);
    w.record("running", "running");
}

}  // namespace

TEST(WorkflowsEvaluate, GradesARunningLabStoresTheReportOnceAndPublishesItsStates) {
    World w;
    running_lab(w, {shell_device("h1")});
    auto ev = queue_evaluation(w);
    auto job = w.run("evaluation.run", {{"evaluation_id", ev.id}, {"assignment_id", w.assignment.id}});
    EXPECT_EQ(job.state, "succeeded") << job.error << " " << job.result;
    auto row = *w.store->get_evaluation(ev.id);
    EXPECT_EQ(row.status, "done") << row.error;
    EXPECT_EQ(row.score, 2);
    EXPECT_EQ(row.max_score, 2);
    EXPECT_EQ(row.error, "");
    EXPECT_GT(row.finished_at, 0);
    auto checks = json::parse(row.results).as_array();
    ASSERT_EQ(checks.size(), 1u) << row.results;  // one entry per check: stored once, not appended
    EXPECT_EQ(str(checks[0].as_object().at("id")), "greets");
    EXPECT_NE(row.transcript.find("hello"), std::string::npos) << row.transcript;
    auto result = json::parse(job.result).as_object();
    EXPECT_EQ(result.at("score").to_number<double>(), 2);
    auto states = w.events("evaluation.state");
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(str(states[0].at("status")), "running");
    EXPECT_EQ(str(states[1].at("status")), "done");
    EXPECT_EQ(states[1].at("score").to_number<double>(), 2);
    EXPECT_EQ(w.store->count_evaluations(w.assignment.id), 1);
}

TEST(WorkflowsEvaluate, AnUnreachableDeviceIsAnErrorThatUsesNoAttempt) {
    World w;
    auto h1 = shell_device("h1");
    h1.transport = "telnet";  // a console port nothing listens on
    h1.host = "127.0.0.1";
    h1.port = closed_port();
    running_lab(w, {h1});
    auto ev = queue_evaluation(w);
    auto job = w.run("evaluation.run", {{"evaluation_id", ev.id}, {"assignment_id", w.assignment.id}});
    EXPECT_EQ(job.state, "failed");
    auto row = *w.store->get_evaluation(ev.id);
    EXPECT_EQ(row.status, "error");
    EXPECT_NE(row.error.find("device h1 unreachable"), std::string::npos) << row.error;
    EXPECT_EQ(row.score, 0);
    EXPECT_EQ(w.store->count_evaluations(w.assignment.id), 0) << "an infrastructure error is no attempt";
    // A reason meant for the student (unavailable): the job shows it as it is, with where it tried.
    EXPECT_NE(job.error.find("127.0.0.1:" + std::to_string(h1.port)), std::string::npos) << job.error;
    auto states = w.events("evaluation.state");
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(str(states[1].at("status")), "error");
}

TEST(WorkflowsEvaluate, ALabThatIsNotRunningIsNotGraded) {
    World w;
    w.fake->set(w.lab(), EnvState::stopped);
    w.record("stopped", "stopped");
    auto ev = queue_evaluation(w);
    auto job = w.run("evaluation.run", {{"evaluation_id", ev.id}, {"assignment_id", w.assignment.id}});
    EXPECT_EQ(job.state, "failed");
    auto row = *w.store->get_evaluation(ev.id);
    EXPECT_EQ(row.status, "error");
    EXPECT_NE(row.error.find("not running"), std::string::npos) << row.error;
    EXPECT_EQ(w.store->count_evaluations(w.assignment.id), 0);
    EXPECT_TRUE(w.fake->calls.empty());
}

// A student of a `proxmox` realm is named to the provider as their Proxmox user; the provider's steps show
// on the job and its facts (orphaned volumes a destroy cleaned) on the environment and the job's result.
TEST(WorkflowsReconcile, TheProviderLearnsTheOwnerAndReportsStepsAndFacts) {
    World w(kTopology, "local",
            "auth:\n  realms:\n    - {name: local, kind: local}\n"
            "    - {name: students, kind: proxmox, role: student, pve_realm: ldap-students}\n");
    auto u = w.student;
    u.realm = "students";
    w.store->update_user(u);
    w.fake->create_steps = {"cloning base VM", "converting to template"};
    w.fake->destroy_facts = {{"orphaned_volumes_cleaned", 2}};
    w.record("running");
    auto job = w.reconcile();
    EXPECT_EQ(job.state, "succeeded") << job.error;
    EXPECT_EQ(w.fake->owners[w.lab()].realm_kind, "proxmox");
    EXPECT_EQ(w.fake->owners[w.lab()].userid, "s1@ldap-students");
    std::vector<std::string> messages;
    for (const auto& e : w.events("job.progress"))
        if (e.contains("message")) messages.push_back(str(e.at("message")));
    for (const char* step : {"driving the lab: cloning base VM", "driving the lab: converting to template"})
        EXPECT_NE(std::find(messages.begin(), messages.end(), step), messages.end()) << step;

    w.record("absent", "running");
    job = w.reconcile();
    EXPECT_EQ(job.state, "succeeded") << job.error;
    auto ids = json::parse(w.environment().provider_ids).as_object();
    EXPECT_EQ(ids.at("orphaned_volumes_cleaned").as_int64(), 2);
    EXPECT_EQ(json::parse(job.result).as_object().at("orphaned_volumes_cleaned").as_int64(), 2);
}

TEST(WorkflowsReconcile, AStudentOfAnotherRealmIsNamedWithThatRealmsKind) {
    World w;
    w.record("running");
    EXPECT_EQ(w.reconcile().state, "succeeded");
    EXPECT_EQ(w.fake->owners[w.lab()].realm_kind, "local");
    EXPECT_EQ(w.fake->owners[w.lab()].userid, "s1");
}
