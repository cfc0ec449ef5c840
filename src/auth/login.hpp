// auth::LoginService: tries the configured realms in order (teacher realms first, then student realms),
// rate-limits attempts per username and per client address, and tells apart "wrong credentials" (401,
// the same answer for unknown users and wrong passwords) from "the login service is unreachable" (503).
// Runs on the event loop; realm checks that block go through the worker pool.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/realm.hpp"

namespace np::core {
class Clock;
}

namespace np::auth {

// Sliding-window limiter: at most `max` events per `window` per key.
class RateLimiter {
 public:
    RateLimiter(int max, std::chrono::seconds window, const core::Clock& clock);
    // Records an attempt; returns 0 when allowed, else the seconds until the next attempt is allowed.
    int attempt(const std::string& key);
    // Takes back the latest attempt of `key`: a login that succeeded does not count. (Recording first and
    // refunding on success keeps a burst of concurrent guesses bounded, which counting failures only after
    // the fact would not.)
    void refund(const std::string& key);
    void reset(const std::string& key);

 private:
    int max_;
    std::chrono::seconds window_;
    const core::Clock& clock_;
    std::unordered_map<std::string, std::deque<std::chrono::steady_clock::time_point>> events_;
};

class LoginService {
 public:
    LoginService(std::vector<std::unique_ptr<Realm>> realms, const core::Clock& clock,
                 int per_user_per_minute = 10, int per_address_per_minute = 30);

    // The accepted identity; throws core::Error unauthenticated (bad credentials), rate_limited (with the
    // wait in the message) or unavailable (every realm that could have answered was unreachable).
    // Only failed logins count toward the limits, per address and per user: a class behind one NAT
    // address logging in together is never locked out.
    // `realm` non-empty: only that realm is tried (the login page's picker); an unknown name is invalid.
    boost::asio::awaitable<Identity> login(std::string username, std::string password, std::string address,
                                           std::string realm = {});

    const std::vector<std::unique_ptr<Realm>>& realms() const { return realms_; }

 private:
    std::vector<std::unique_ptr<Realm>> realms_;
    RateLimiter per_user_;
    RateLimiter per_address_;
};

}  // namespace np::auth
