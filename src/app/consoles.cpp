#include "app/consoles.hpp"

#include "app/workflows.hpp"
#include "core/error.hpp"
#include "lab/registry.hpp"
#include "store/store.hpp"

namespace np::app {

Consoles::Consoles(lab::ProviderRegistry& providers, ConsoleOptions options)
    : providers_(providers), options_(options), open_(std::make_shared<std::map<std::string, int>>()) {}

Consoles::~Consoles() = default;

int Consoles::open_count(const std::string& user_id) const {
    auto it = open_->find(user_id);
    return it == open_->end() ? 0 : it->second;
}

boost::asio::awaitable<Consoles::Session> Consoles::open(const store::Environment& environment,
                                                         const std::string& node,
                                                         const std::string& user_id) {
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
    auto& provider = providers_.get(environment.provider);
    Session session;
    session.stream = co_await provider.console(Workflows::lab_name(environment.id), node);
    session.slot = std::move(slot);
    co_return session;
}

}  // namespace np::app
