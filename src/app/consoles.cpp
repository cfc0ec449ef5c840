#include "app/consoles.hpp"

#include <optional>

#include "app/remote_console.hpp"
#include "app/workflows.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/offload.hpp"
#include "lab/registry.hpp"
#include "store/store.hpp"

namespace np::app {

Consoles::Consoles(lab::ProviderRegistry& providers, ConsoleOptions options)
    : providers_(providers), options_(options), open_(std::make_shared<std::map<std::string, int>>()) {}

Consoles::~Consoles() = default;

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
    if (environment.observed_state != "running")
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
        auto& provider = providers_.get(environment.provider);
        session.stream = co_await provider.console(Workflows::lab_name(environment.id), node);
    }
    session.slot = std::move(slot);
    co_return session;
}

}  // namespace np::app
