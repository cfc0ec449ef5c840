#include "app/consoles.hpp"

#include <boost/asio/this_coro.hpp>
#include <optional>

#include "app/console_hub.hpp"
#include "app/remote_console.hpp"
#include "app/workflows.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "lab/registry.hpp"
#include "store/states.hpp"
#include "store/store.hpp"

namespace np::app {

namespace {
const std::string kPaused =
    "\r\n[netpraxis] grading in progress: the console is paused until it ends (what you type is sent "
    "then)\r\n";
const std::string kResumed = "\r\n[netpraxis] grading done: the console is back\r\n";
}  // namespace

struct Consoles::Hubs {
    std::map<std::string, std::shared_ptr<ConsoleHub>> by_key;  // "environment/node"
    std::map<std::string, int> paused;                          // "environment/node" -> gradings holding it
};

Consoles::Consoles(lab::ProviderRegistry& providers, ConsoleOptions options)
    : providers_(providers),
      options_(options),
      open_(std::make_shared<std::map<std::string, int>>()),
      hubs_(std::make_shared<Hubs>()) {}

Consoles::~Consoles() {
    auto hubs = std::move(hubs_->by_key);  // each hub closes its device connection and its viewers
    hubs.clear();
}

std::size_t Consoles::device_connections() const {
    return hubs_->by_key.size();
}

std::shared_ptr<void> Consoles::pause_for_grading(const std::string& environment_id,
                                                  const std::vector<std::string>& nodes) {
    std::vector<std::string> keys;
    for (const auto& node : nodes) {
        auto key = environment_id + "/" + node;
        ++hubs_->paused[key];
        if (auto it = hubs_->by_key.find(key); it != hubs_->by_key.end()) it->second->pause(kPaused);
        keys.push_back(std::move(key));
    }
    return std::shared_ptr<void>(nullptr, [weak = std::weak_ptr<Hubs>(hubs_), keys](void*) {
        auto hubs = weak.lock();
        if (!hubs) return;
        for (const auto& key : keys) {
            if (auto it = hubs->paused.find(key); it != hubs->paused.end() && --it->second <= 0)
                hubs->paused.erase(it);
            if (auto it = hubs->by_key.find(key); it != hubs->by_key.end()) {
                auto hub = it->second;  // resume() may end it, which removes it from the map
                hub->resume(kResumed);
            }
        }
    });
}

boost::asio::awaitable<std::shared_ptr<ConsoleHub>> Consoles::hub_of(const store::Environment& environment,
                                                                     const std::string& node) {
    auto key = environment.id + "/" + node;
    auto it = hubs_->by_key.find(key);
    if (it != hubs_->by_key.end() && !it->second->ended()) co_return it->second;
    auto& provider = providers_.get(environment.provider);
    auto opener = [&provider, lab = Workflows::lab_name(environment.id), node] {
        return provider.console(lab, node);
    };
    std::weak_ptr<Hubs> weak = hubs_;
    auto hub = std::make_shared<ConsoleHub>(co_await boost::asio::this_coro::executor, opener);
    hub->on_ended([weak, key, raw = hub.get()] {
        auto hubs = weak.lock();
        if (!hubs) return;
        if (auto at = hubs->by_key.find(key); at != hubs->by_key.end() && at->second.get() == raw)
            hubs->by_key.erase(at);
    });
    hubs_->by_key[key] = hub;
    if (auto p = hubs_->paused.find(key); p != hubs_->paused.end())
        for (int i = 0; i < p->second; ++i) hub->pause(kPaused);
    co_return hub;
}

void Consoles::route_through_owners(store::Store& store, core::WorkerPool& pool, std::string instance_id) {
    store_ = &store;
    pool_ = &pool;
    instance_id_ = std::move(instance_id);
}

int Consoles::open_count(const std::string& user_id) const {
    auto it = open_->find(user_id);
    return it == open_->end() ? 0 : it->second;
}

boost::asio::awaitable<Consoles::Session> Consoles::open(const store::Environment& environment,
                                                         const std::string& node, const std::string& user_id,
                                                         const Forward& forward) {
    // A local lab of another instance: that instance answers, when it is alive (before the lab's state,
    // which shows 'unavailable' once it is gone).
    std::optional<store::Instance> owner;
    if (store_ && store::lives_on_one_host(environment.provider) && !environment.instance_id.empty() &&
        environment.instance_id != instance_id_) {
        owner = co_await pool_->run([&] { return store_->get_instance(environment.instance_id); });
        const std::string name = "instance '" + environment.instance_id + "'";
        if (!owner || owner->lease_expires <= core::unix_now())
            throw core::unavailable("the lab lives on " + name +
                                    ", which is not answering (its lease expired)");
        if (owner->address.empty())
            throw core::unavailable("the lab lives on " + name + ", whose address is not known");
    }
    if (!store::is(environment.observed_state, store::ObservedState::running))
        throw core::conflict("the lab is " + environment.observed_state + ", not running: start it first");
    // The slot is taken before the (slow) connection, so a burst of requests cannot pass the limit.
    if (options_.max_per_user > 0 && open_count(user_id) >= options_.max_per_user)
        throw core::Error(core::Code::rate_limited, "at most " + std::to_string(options_.max_per_user) +
                                                        " consoles may be open at once: close one first");
    ++(*open_)[user_id];
    std::shared_ptr<void> slot(nullptr, [counts = open_, user_id](void*) {
        if (auto it = counts->find(user_id); it != counts->end() && --it->second <= 0) counts->erase(it);
    });
    Session session;
    if (owner) {
        // Node names are plain words (the topology's keys): anything else cannot be a node of the lab.
        if (node.empty() ||
            node.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                std::string::npos)
            throw core::not_found("no node '" + node + "' in this lab");
        auto target =
            "/api/v1/environments/" + environment.id + "/nodes/" + node + "/console?mode=" + forward.mode;
        session.stream = co_await open_remote_console(owner->address, target, forward.token,
                                                      "instance '" + environment.instance_id + "'");
    } else {
        // The node's shared device connection: made by the first console, kept while one is open.
        auto hub = co_await hub_of(environment, node);
        co_await hub->start();
        session.stream = hub->attach(forward.mode != "watch");
    }
    session.slot = std::move(slot);
    co_return session;
}

}  // namespace np::app
