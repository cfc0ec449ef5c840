// app::Instances and the instance side of app::Workflows (issue 13) without root: a SQLite store, a
// FakeProvider registered as "local", real JobRunner and Workflows.
//  - a gone instance's environments are shown unavailable with the reason; its jobs wait, then (with
//    fail_jobs_after) fail with a clear message, never run here, and the evaluation they were for ends in
//    error;
//  - an instance that finds its own environments unavailable looks at its labs again; it adopts a local
//    lab made before placement existed that is on its host;
//  - a job about an unplaced local environment is pinned to the instance placement chooses.
#include "app/instances.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "app/events.hpp"
#include "app/jobs.hpp"
#include "app/workflows.hpp"
#include "core/config.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "fake_provider.hpp"
#include "lab/registry.hpp"
#include "store/store.hpp"

using namespace np;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

struct World {
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("np-instances-" + core::random_hex(4));
    asio::io_context io;
    std::unique_ptr<store::Store> store;
    core::WorkerPool pool{2};
    app::EventBus bus{io.get_executor(), 4096};
    lab::ProviderRegistry providers;
    testkit::FakeProvider* fake = nullptr;
    core::Config config = core::Config::from_string("{}");
    std::unique_ptr<app::Workflows> workflows;
    std::unique_ptr<app::JobRunner> runner;
    std::thread loop;
    int seq = 0;

    World() {
        std::filesystem::create_directories(dir);
        store = store::open_store("sqlite:" + (dir / "np.db").string());
        store->migrate();
        fake = &static_cast<testkit::FakeProvider&>(
            providers.add(std::make_unique<testkit::FakeProvider>("local")));
        workflows = std::make_unique<app::Workflows>(io.get_executor(), config, *store, pool, bus, providers);
        app::JobRunnerOptions o;
        o.instance_id = "here";
        o.max_concurrency = 0;  // claims nothing: these tests look at the queue
        runner = std::make_unique<app::JobRunner>(io.get_executor(), *store, pool, bus, o);
        workflows->register_with(*runner);
        loop = std::thread([this] {
            auto guard = asio::make_work_guard(io);
            io.run();
        });
    }
    ~World() {
        io.stop();
        loop.join();
        std::filesystem::remove_all(dir);
    }

    template <class A>
    auto wait(A awaitable) {
        return asio::co_spawn(io, std::move(awaitable), asio::use_future).get();
    }

    void register_instance(const std::string& id, std::int64_t lease_expires) {
        store::Instance i;
        i.id = id;
        i.providers = {"local"};
        i.max_labs = 8;
        i.heartbeat_at = lease_expires - 30;
        i.lease_expires = lease_expires;
        store->register_instance(i);
    }

    // An environment (with its assignment, student and exercise) on `instance`, observed `observed`.
    store::Environment environment(const std::string& instance, const std::string& observed) {
        auto tag = std::to_string(++seq);
        auto now = core::unix_now();
        store::User u{core::new_id(), "s" + tag, "local", "student", "", "", false, now, 1, false};
        store->create_user(u);
        store::Exercise ex{core::new_id(), "ex" + tag, "Ex", u.id, now};
        store->create_exercise(ex);
        store::ExerciseVersion v;
        v.exercise_id = ex.id;
        v = store->add_version(v);
        store::Assignment a;
        a.id = core::new_id();
        a.exercise_id = ex.id;
        a.exercise_version_id = v.id;
        a.student_id = u.id;
        store->create_assignment(a);
        store::Environment e;
        e.id = core::new_id();
        e.assignment_id = a.id;
        e.provider = "local";
        e.desired_state = "running";
        e.observed_state = observed;
        e.instance_id = instance;
        store->create_environment(e);
        return *store->get_environment(e.id);
    }

    app::Instances instances(std::chrono::seconds fail_jobs_after) {
        app::InstanceOptions o;
        o.id = "here";
        o.providers = {"local"};
        o.max_labs = 8;
        o.gone_after = std::chrono::seconds(10);
        o.fail_jobs_after = fail_jobs_after;
        return app::Instances(io.get_executor(), *store, pool, bus, *runner, *workflows, o);
    }
};

TEST(Instances, AGoneInstancesLabsAreUnavailableAndItsJobsWaitThenFailWithoutRunningHere) {
    World w;
    const auto now = core::unix_now();
    w.register_instance("there", now - 15);  // lease expired 15 s ago: gone (gone_after 10 s)
    w.register_instance("late", now - 5);    // expired 5 s ago: not yet
    auto env = w.environment("there", "running");
    auto other = w.environment("late", "running");
    store::Evaluation ev;
    ev.assignment_id = env.assignment_id;
    ev.job_id = core::new_id();
    ev = w.store->create_evaluation(ev);
    store::Job job;
    job.id = ev.job_id;
    job.kind = "evaluation.run";
    job.params = json::serialize(json::object{{"evaluation_id", ev.id}});
    job.owner_id = ev.student_id;
    job = w.wait(w.runner->submit(job));
    EXPECT_EQ(job.instance_id, "there") << "pinned to the instance its lab lives on";

    auto waiting = w.instances(std::chrono::seconds(0));
    w.wait(waiting.tick());
    auto e = *w.store->get_environment(env.id);
    EXPECT_EQ(e.observed_state, "unavailable");
    EXPECT_NE(e.last_error.find("instance 'there'"), std::string::npos) << e.last_error;
    EXPECT_EQ(e.desired_state, "running") << "what the student asked for is kept";
    EXPECT_EQ(w.store->get_environment(other.id)->observed_state, "running");
    EXPECT_EQ(w.store->get_job(job.id)->state, "queued") << "fail_jobs_after 0: the job waits";
    EXPECT_FALSE(w.store->claim_job("here", now, 30, store::ClaimFilter{"", false, "here"}));

    auto failing = w.instances(std::chrono::seconds(12));
    w.wait(failing.tick());
    auto failed = *w.store->get_job(job.id);
    EXPECT_EQ(failed.state, "failed");
    EXPECT_NE(failed.error.find("not run elsewhere"), std::string::npos) << failed.error;
    EXPECT_EQ(failed.lease_owner, "") << "never claimed here";
    auto after = *w.store->get_evaluation(ev.id);
    EXPECT_EQ(after.status, "error");
    EXPECT_NE(after.error.find("instance 'there'"), std::string::npos) << after.error;
    EXPECT_EQ(w.store->count_evaluations(env.assignment_id), 0) << "uses no attempt";
}

TEST(Instances, BackItLooksAtItsLabsAgainAndAdoptsALabMadeBeforePlacement) {
    World w;
    auto mine = w.environment("here", "unavailable");
    auto gone_lab = w.environment("here", "unavailable");
    auto legacy = w.environment("", "running");
    auto elsewhere = w.environment("", "absent");
    w.fake->set(app::Workflows::lab_name(mine.id), lab::EnvState::running);
    w.fake->set(app::Workflows::lab_name(legacy.id), lab::EnvState::running);

    auto instances = w.instances(std::chrono::seconds(0));
    w.wait(instances.tick());
    EXPECT_EQ(w.store->get_environment(mine.id)->observed_state, "running");
    EXPECT_EQ(w.store->get_environment(gone_lab.id)->observed_state, "absent") << "its lab did not survive";
    EXPECT_EQ(w.store->get_environment(legacy.id)->instance_id, "here") << "its lab is on this host";
    EXPECT_EQ(w.store->get_environment(elsewhere.id)->instance_id, "") << "no lab here: placed when used";
    auto row = w.store->get_instance("here");
    ASSERT_TRUE(row);
    EXPECT_GT(row->lease_expires, core::unix_now());
    EXPECT_EQ(row->providers, std::vector<std::string>{"local"});

    // The next job about the unplaced one places it (this instance is the only one with room).
    store::Job job;
    job.kind = "environment.reconcile";
    job.params = json::serialize(json::object{{"environment_id", elsewhere.id}});
    job = w.wait(w.runner->submit(job));
    EXPECT_EQ(job.instance_id, "here");
    EXPECT_EQ(w.store->get_environment(elsewhere.id)->instance_id, "here");
}

TEST(Instances, TheDefaultIdIsTheHostNameAndARestartTakesItsRowOver) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    EXPECT_EQ(app::default_instance_id(), std::string(host));
    EXPECT_GT(app::available_memory(), 0);

    World w;
    auto first = w.instances(std::chrono::seconds(0));
    first.set_address("http://10.0.0.1:8080");
    first.register_now();
    auto restart = w.instances(std::chrono::seconds(0));
    restart.set_address("http://10.0.0.1:9090");
    restart.register_now();
    auto rows = w.store->list_instances();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].address, "http://10.0.0.1:9090");
    EXPECT_GT(rows[0].free_memory, 0);
}

}  // namespace
