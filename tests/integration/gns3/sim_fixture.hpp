// A GNS3 simulator in this process (np::http::Server on a free port) with its own port ranges, lab state
// folder and lab name prefix, and a gns3::Client to it; everything the labs made is removed at the end.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/ids.hpp"
#include "gns3/client.hpp"
#include "gns3sim/simulator.hpp"
#include "http/server.hpp"
#include "lab/local/runtime.hpp"

namespace np::gns3 {

namespace asio = boost::asio;
namespace fs = std::filesystem;

inline std::string example_zip() {
    std::ifstream in(
        std::string(NETPRAXIS_SOURCE_DIR) + "/examples/gns3-vpcs-router/gns3-vpcs-router.gns3project",
        std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline bool have_devices() {
    return geteuid() == 0 && access("/usr/lib/frr/frrinit.sh", X_OK) == 0 &&
           access("/usr/bin/vpcs", X_OK) == 0;
}

// Port ranges of one test: consoles, the VPCS processes' own consoles and their tunnels, apart from others'.
inline gns3sim::SimOptions sim_options(const fs::path& state_dir) {
    gns3sim::SimOptions o;
    std::mt19937 rng(std::random_device{}());
    auto base = static_cast<std::uint16_t>(20000 + (rng() % 90) * 100);
    o.console_port_min = base;
    o.console_port_max = static_cast<std::uint16_t>(base + 29);
    o.runtime.console_port_min = static_cast<std::uint16_t>(base + 30);
    o.runtime.console_port_max = static_cast<std::uint16_t>(base + 59);
    o.runtime.tunnel_port_min = static_cast<std::uint16_t>(base + 60);
    o.runtime.tunnel_port_max = static_cast<std::uint16_t>(base + 99);
    o.runtime.state_dir = state_dir;
    o.runtime.helper_binary = NETPRAXIS_BINARY;
    o.env_prefix = "t" + core::random_hex(2);
    return o;
}

// Removes every lab recorded under `state_dir` (namespaces, processes) and the folder.
inline void remove_labs(const fs::path& state_dir, const lab::RuntimeOptions& runtime_options) {
    if (!fs::exists(state_dir)) return;
    lab::LocalRuntime runtime(runtime_options);
    for (const auto& record : runtime.list()) {
        try {
            runtime.down(record.env);
        } catch (const std::exception&) {
        }
    }
    std::error_code ec;
    fs::remove_all(state_dir, ec);
}

class SimTest : public ::testing::Test {
 protected:
    void SetUp() override {
        state_dir_ = fs::temp_directory_path() / ("np-gns3-it-" + core::random_hex(4));
        options_ = sim_options(state_dir_);
    }
    void TearDown() override { remove_labs(state_dir_, options_.runtime); }

    // Runs `body(client)` against a simulator with `options_`; the simulator stops its labs afterwards.
    template <class F>
    void run(F body, ClientOptions client_options = {}) {
        asio::io_context io;
        gns3sim::Simulator sim(io.get_executor(), options_);
        http::ServerOptions so;
        so.port = 0;
        so.body_limit = 64u << 20;
        so.access_log = false;
        http::Server server(io.get_executor(), so,
                            [&sim](http::Request& r) -> asio::awaitable<http::Response> {
                                co_return co_await sim.handle(r);
                            });
        auto port = server.listen();
        server.start();
        client_options.url = "http://127.0.0.1:" + std::to_string(port);
        client_options.retry.max_attempts = 1;
        Client client(io.get_executor(), client_options);
        auto done = asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                std::exception_ptr error;
                try {
                    co_await body(client);
                } catch (...) {
                    error = std::current_exception();
                }
                co_await sim.shutdown();
                co_await server.shutdown();
                if (error) std::rethrow_exception(error);
            },
            asio::use_future);
        io.run();
        done.get();
    }

    fs::path state_dir_;
    gns3sim::SimOptions options_;
};

// ASSERT_* returns, which a coroutine cannot: this fails the test and co_returns.
#define CO_ASSERT(cond)                        \
    do {                                       \
        if (!(cond)) {                         \
            ADD_FAILURE() << "failed: " #cond; \
            co_return;                         \
        }                                      \
    } while (0)

// Inside a test coroutine: `expr` (an awaitable) fails with core::Error `want` whose message contains `text`.
#define EXPECT_GNS3_ERROR(expr, want, text)                                             \
    do {                                                                                \
        std::optional<core::Code> got_;                                                 \
        std::string message_;                                                           \
        try {                                                                           \
            co_await (expr);                                                            \
        } catch (const core::Error& e_) {                                               \
            got_ = e_.code();                                                           \
            message_ = e_.what();                                                       \
        }                                                                               \
        EXPECT_EQ(got_, std::optional<core::Code>(want)) << #expr << ": " << message_;  \
        EXPECT_NE(message_.find(text), std::string::npos) << #expr << ": " << message_; \
    } while (0)

}  // namespace np::gns3
