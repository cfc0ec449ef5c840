#include "app/instances.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "app/events.hpp"
#include "app/jobs.hpp"
#include "app/workflows.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "store/states.hpp"
#include "store/store.hpp"

namespace np::app {
namespace asio = boost::asio;
namespace json = boost::json;

std::string default_instance_id() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "netpraxis";
    return host;
}

std::int64_t available_memory() {
    std::ifstream in("/proc/meminfo");
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string key;
        std::int64_t kib = 0;
        if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
    }
    return 0;
}

struct Instances::Impl {
    explicit Impl(asio::any_io_executor ex) : executor(ex), timer(ex) {}
    asio::any_io_executor executor;
    asio::steady_timer timer;
};

Instances::Instances(asio::any_io_executor executor, store::Store& store, core::WorkerPool& pool,
                     EventBus& bus, JobRunner& jobs, Workflows& workflows, InstanceOptions options)
    : impl_(std::make_unique<Impl>(executor)),
      store_(store),
      pool_(pool),
      bus_(bus),
      jobs_(jobs),
      workflows_(workflows),
      options_(std::move(options)) {
    if (options_.id.empty()) throw core::invalid("an instance needs an id (server.instance_id)");
    if (options_.heartbeat.count() <= 0) throw core::invalid("instances.heartbeat must be positive");
    started_at_ = options_.clock->unix_now();
}

Instances::~Instances() = default;

void Instances::register_now() {
    const auto now = options_.clock->unix_now();
    if (!registered_) {
        // A restart (after a crash too) takes its row over. Another live process at another address under
        // this id shares this instance's labs and jobs: said loudly (not refused: a restart on another
        // port within the old lease looks the same).
        auto held = store_.get_instance(options_.id);
        if (held && held->lease_expires > now && !held->address.empty() && held->address != options_.address)
            log::error("instances.id_in_use",
                       {{"instance", options_.id},
                        {"held_by", held->address},
                        {"lease_ends_in_s", held->lease_expires - now},
                        {"hint", "give each instance on one host its own server.instance_id"}});
        registered_ = true;
    }
    store::Instance row;
    row.id = options_.id;
    row.providers = options_.providers;
    row.max_labs = options_.max_labs;
    row.free_memory = available_memory();
    row.memory_reserve = options_.memory_reserve;
    row.address = options_.address;
    row.started_at = started_at_;
    row.heartbeat_at = now;
    row.lease_expires = row.heartbeat_at + 3 * options_.heartbeat.count();
    store_.register_instance(row);
}

void Instances::start() {
    asio::co_spawn(impl_->executor, loop(), asio::detached);
}

void Instances::stop() {
    stopping_ = true;
    impl_->timer.cancel();
}

asio::awaitable<void> Instances::loop() {
    while (!stopping_) {
        try {
            co_await tick();
        } catch (const std::exception& e) {
            log::warn("instances.heartbeat_failed", {{"instance", options_.id}, {"error", e.what()}});
        }
        impl_->timer.expires_after(options_.heartbeat);
        co_await impl_->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

asio::awaitable<void> Instances::tick() {
    co_await pool_.run([this] { register_now(); });
    co_await sweep(options_.clock->unix_now());
}

asio::awaitable<void> Instances::sweep(std::int64_t now) {
    auto all = co_await pool_.run([this] { return store_.list_instances(); });
    for (const auto& other : all) {
        const std::int64_t gone_for = now - other.lease_expires;
        if (other.id == options_.id || gone_for < options_.gone_after.count()) continue;
        const std::string reason = "the netpraxis instance '" + other.id +
                                   "' this lab lives on has not been seen since " +
                                   core::rfc3339(other.heartbeat_at);
        auto envs = co_await pool_.run([&] { return store_.environments_of_instance(other.id); });
        for (const auto& env : envs) {
            if (store::is(env.observed_state, store::ObservedState::unavailable)) continue;
            bool set = co_await pool_.run([&] {
                return store_.set_observed_state(env.id, env.observed_state,
                                                 store::str(store::ObservedState::unavailable), reason, now);
            });
            if (!set) continue;
            log::warn("lab.unavailable", {{"environment", env.id}, {"instance", other.id}});
            Event e;
            e.type = "environment.state";
            e.environment_id = env.id;
            e.owner_id = env.student_id;
            e.data = json::serialize(json::object{{"id", env.id},
                                                  {"desired", env.desired_state},
                                                  {"observed", "unavailable"},
                                                  {"error", reason}});
            bus_.publish(std::move(e));
        }
        if (options_.fail_jobs_after.count() <= 0 || gone_for < options_.fail_jobs_after.count()) continue;
        auto jobs = co_await pool_.run([&] { return store_.unfinished_jobs_of_instance(other.id); });
        for (const auto& job : jobs) {
            if (co_await jobs_.fail_abandoned(job.id, reason + "; the job was not run elsewhere"))
                co_await workflows_.job_abandoned(job, reason);
        }
    }
    // Back after an absence others noticed (a restart, a network cut): look at what is ours again.
    auto mine = co_await pool_.run([this] { return store_.environments_of_instance(options_.id); });
    for (const auto& env : mine) {
        if (!store::is(env.observed_state, store::ObservedState::unavailable)) continue;
        co_await workflows_.reconcile_owned(options_.id);
        break;
    }
}

}  // namespace np::app
