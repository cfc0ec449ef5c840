// A lab provider for tests (no root, no host state): labs are entries in a map that move the way a real
// provider's labs do (create -> stopped, start -> running, stop -> stopped, reset -> running, destroy ->
// absent). Tests set a lab's state (degraded, creating) or keep it there (stuck), make one call fail, give
// each lab an inventory, and read back the calls made in order.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "lab/provider.hpp"

namespace np::testkit {

class FakeProvider final : public lab::Provider {
 public:
    struct Lab {
        lab::EnvState state = lab::EnvState::absent;
        std::vector<std::string> problems;
        std::string topology;  // from the request that created it
        lab::Inventory inventory;
    };

    explicit FakeProvider(std::string name = "fake") : name_(std::move(name)) {}

    // --- what tests set and read
    std::map<std::string, Lab> labs;
    std::map<std::string, core::Error> failures;  // call name ("start") -> what it throws
    std::vector<std::string> calls;               // "create np1", "start np1", ... (not observe/inventory)
    std::vector<std::string> recovered;           // what recover() reports as cleaned
    lab::Inventory inventory_of_new_labs;         // given to labs made by create
    std::optional<lab::Observed> stuck;           // what observe() answers whatever the calls did
    std::map<std::string, lab::LabOwner> owners;  // env -> the owner its create request named
    std::vector<std::string> create_steps;        // reported on the attached progress sink by create
    std::map<std::string, std::int64_t> destroy_facts;  // reported by destroy
    std::vector<lab::ProviderCounter> counter_values;   // what counters() answers

    void set(const std::string& env, lab::EnvState state, std::vector<std::string> problems = {}) {
        labs[env].state = state;
        labs[env].problems = std::move(problems);
    }
    lab::EnvState state(const std::string& env) const {
        auto it = labs.find(env);
        return it == labs.end() ? lab::EnvState::absent : it->second.state;
    }

    // --- lab::Provider
    std::string_view name() const override { return name_; }
    void check_request(const lab::LabRequest& request) const override {
        if (request.topology.empty()) throw core::invalid("this exercise version has no fake topology");
    }
    boost::asio::awaitable<void> ensure_template(const lab::LabRequest& request) override {
        call("ensure_template", request.env);
        co_return;
    }
    boost::asio::awaitable<void> create(const lab::LabRequest& request) override {
        call("create", request.env);
        owners[request.env] = request.owner;
        for (const auto& s : create_steps) co_await progress(request.env).step(s);
        auto& l = labs[request.env];
        if (l.state == lab::EnvState::absent) {
            l.state = lab::EnvState::stopped;
            l.topology = request.topology;
            l.inventory = inventory_of_new_labs;
        }
        co_return;
    }
    boost::asio::awaitable<void> start(const std::string& env) override {
        call("start", env);
        existing(env) = running(existing(env));
        co_return;
    }
    boost::asio::awaitable<void> stop(const std::string& env) override {
        call("stop", env);
        auto it = labs.find(env);
        if (it != labs.end() && it->second.state != lab::EnvState::absent) {
            it->second.state = lab::EnvState::stopped;
            it->second.problems.clear();
        }
        co_return;
    }
    boost::asio::awaitable<void> reset(const std::string& env) override {
        call("reset", env);
        existing(env) = running(existing(env));
        co_return;
    }
    boost::asio::awaitable<void> destroy(const std::string& env) override {
        call("destroy", env);
        labs.erase(env);
        for (const auto& [key, value] : destroy_facts) progress(env).fact(key, value);
        co_return;
    }
    boost::asio::awaitable<lab::Observed> observe(const std::string& env) override {
        fail_if("observe");
        if (stuck) co_return *stuck;
        lab::Observed o;
        if (auto it = labs.find(env); it != labs.end()) o = {it->second.state, it->second.problems};
        co_return o;
    }
    boost::asio::awaitable<lab::Inventory> inventory(const std::string& env) override {
        fail_if("inventory");
        auto it = labs.find(env);
        co_return it == labs.end() ? lab::Inventory{} : it->second.inventory;
    }
    boost::asio::awaitable<std::unique_ptr<lab::ConsoleStream>> console(const std::string& env,
                                                                        const std::string& node) override {
        throw core::not_found("fake lab '" + env + "' has no console for '" + node + "'");
        co_return nullptr;
    }
    std::vector<lab::ProviderCounter> counters() const override { return counter_values; }
    boost::asio::awaitable<std::vector<std::string>> recover() override {
        call("recover", "");
        co_return recovered;
    }

 private:
    void fail_if(const std::string& what) {
        if (auto it = failures.find(what); it != failures.end()) throw it->second;
    }
    void call(const std::string& what, const std::string& env) {
        calls.push_back(env.empty() ? what : what + " " + env);
        fail_if(what);
    }
    static Lab running(Lab l) {
        l.state = lab::EnvState::running;
        l.problems.clear();
        return l;
    }
    Lab& existing(const std::string& env) {
        auto it = labs.find(env);
        if (it == labs.end() || it->second.state == lab::EnvState::absent)
            throw core::not_found("no fake lab '" + env + "'");
        return it->second;
    }

    std::string name_;
};

}  // namespace np::testkit
