// An in-process Proxmox simulator on a loopback port chosen at run time, and a client pointed at it. The
// test body is a coroutine run on the same event loop; the server is stopped afterwards even on failure.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <exception>
#include <memory>

#include "pve/client.hpp"
#include "pvesim/simulator.hpp"

namespace np::testing {

namespace asio = boost::asio;

class SimFixture {
 public:
    explicit SimFixture(pvesim::Profile profile, bool tls = false, std::uint64_t seed = 1) {
        sim = std::make_unique<pvesim::Simulator>(io.get_executor(), std::move(profile), seed);
        server = std::make_unique<pvesim::SimServer>(io.get_executor(), *sim,
                                                     pvesim::SimServerOptions{"127.0.0.1", 0, tls});
        port = server->start();
    }

    std::string url() const {
        return std::string(server->fingerprint().empty() ? "http" : "https") +
               "://127.0.0.1:" + std::to_string(port);
    }

    pve::ClientOptions options(std::string user = "root@pam", std::string password = "rootpass") const {
        pve::ClientOptions o;
        o.url = url();
        o.credentials.user = std::move(user);
        o.credentials.password = std::move(password);
        o.retry = {std::chrono::milliseconds(5), std::chrono::milliseconds(50), 8};
        o.request_timeout = std::chrono::milliseconds(5000);
        return o;
    }

    boost::json::object stats() const { return boost::json::parse(sim->stats_json()).as_object(); }
    std::int64_t stat(const char* key) const { return stats().at(key).to_number<std::int64_t>(); }
    std::int64_t fault(const char* key) const {
        return stats().at("faults").at(key).to_number<std::int64_t>();
    }

    // Runs `body` (a callable returning awaitable<void>) to completion, then stops the server.
    template <class Body>
    void run(Body body) {
        auto fut = asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                std::exception_ptr failure;
                try {
                    co_await body();
                } catch (...) {
                    failure = std::current_exception();
                }
                co_await server->stop();
                if (failure) std::rethrow_exception(failure);
            },
            asio::use_future);
        io.run();
        fut.get();
    }

    asio::io_context io;
    std::unique_ptr<pvesim::Simulator> sim;
    std::unique_ptr<pvesim::SimServer> server;
    std::uint16_t port = 0;
};

}  // namespace np::testing
