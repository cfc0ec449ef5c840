#include "auth/login.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"

namespace np::auth {

RateLimiter::RateLimiter(int max, std::chrono::seconds window, const core::Clock& clock)
    : max_(max), window_(window), clock_(clock) {}

int RateLimiter::attempt(const std::string& key) {
    auto now = clock_.now();
    auto& q = events_[key];
    while (!q.empty() && q.front() + window_ <= now) q.pop_front();
    if (static_cast<int>(q.size()) >= max_) {
        auto wait = std::chrono::duration_cast<std::chrono::seconds>(q.front() + window_ - now).count();
        return static_cast<int>(std::max<long>(1, wait));
    }
    q.push_back(now);
    if (events_.size() > 100'000) {  // bound memory under a spray of usernames: drop idle keys
        std::erase_if(events_,
                      [&](auto& kv) { return kv.second.empty() || kv.second.back() + window_ <= now; });
    }
    return 0;
}

void RateLimiter::refund(const std::string& key) {
    auto it = events_.find(key);
    if (it == events_.end() || it->second.empty()) return;
    it->second.pop_back();
    if (it->second.empty()) events_.erase(it);
}

void RateLimiter::reset(const std::string& key) {
    events_.erase(key);
}

LoginService::LoginService(std::vector<std::unique_ptr<Realm>> realms, const core::Clock& clock,
                           int per_user_per_minute, int per_address_per_minute)
    : realms_(std::move(realms)),
      per_user_(per_user_per_minute, std::chrono::seconds(60), clock),
      per_address_(per_address_per_minute, std::chrono::seconds(60), clock) {}

boost::asio::awaitable<Identity> LoginService::login(std::string username, std::string password,
                                                     std::string address, std::string only_realm) {
    if (username.empty() || password.empty()) throw core::invalid("username and password are required");
    if (!only_realm.empty() &&
        std::none_of(realms_.begin(), realms_.end(), [&](const auto& r) { return r->name() == only_realm; }))
        throw core::invalid("unknown realm", {{"realm", "no realm '" + only_realm + "' is configured"}});
    if (username.size() > 128 || password.size() > 1024)
        throw core::unauthenticated("invalid username or password");
    if (int wait = per_address_.attempt("addr:" + address); wait > 0)
        throw core::Error(core::Code::rate_limited, "too many login attempts from this address; retry in " +
                                                        std::to_string(wait) + " s");
    if (int wait = per_user_.attempt("user:" + username); wait > 0) {
        per_address_.refund("addr:" + address);  // no password was tried
        throw core::Error(core::Code::rate_limited,
                          "too many login attempts for this user; retry in " + std::to_string(wait) + " s");
    }

    std::string unreachable;
    for (auto& realm : realms_) {
        if (!only_realm.empty() && realm->name() != only_realm) continue;
        std::optional<Identity> id;
        try {
            id = co_await realm->authenticate(username, password);
        } catch (const core::Error& e) {
            if (e.code() != core::Code::unavailable && e.code() != core::Code::upstream &&
                e.code() != core::Code::timeout)
                throw;
            log::warn("auth.realm_unreachable", {{"realm", realm->name()}, {"error", e.what()}});
            unreachable = realm->name();
            continue;
        }
        if (id) {
            id->realm = realm->name();
            per_user_.reset("user:" + username);
            per_address_.refund("addr:" + address);
            log::info("auth.login", {{"user", username}, {"realm", id->realm}, {"role", id->role}});
            co_return *id;
        }
    }
    log::info("auth.login_failed", {{"user", username}, {"remote", address}});
    if (!unreachable.empty())
        throw core::unavailable("the login service (realm '" + unreachable +
                                "') cannot be reached; try again later or ask your teacher");
    throw core::unauthenticated("invalid username or password");
}

}  // namespace np::auth
