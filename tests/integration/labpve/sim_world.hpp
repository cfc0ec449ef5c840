// The proxmox provider's test world: an in-process pve-sim (profile "fast", or the one given) on a loopback
// port chosen at run time, optionally with GNS3 guests (pvesim::Gns3Guests) in a temp dir, and the
// provider options pointing at it. The test body is a coroutine; the guests and the server are stopped
// afterwards even on failure.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "core/ids.hpp"
#include "labpve/proxmox_provider.hpp"
#include "pvesim/gns3_guests.hpp"
#include "pvesim/simulator.hpp"

namespace np::labpve::testing {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;

struct World {
    fs::path dir = fs::temp_directory_path() / ("np-labpve-" + core::random_hex(4));
    asio::io_context io;
    std::unique_ptr<pvesim::Simulator> sim;
    std::unique_ptr<pvesim::SimServer> server;
    std::shared_ptr<pvesim::Gns3Guests> guests;
    std::uint16_t port = 0;

    explicit World(bool with_guests, pvesim::Profile profile = pvesim::load_profile("fast")) {
        sim = std::make_unique<pvesim::Simulator>(io.get_executor(), std::move(profile), 1);
        if (with_guests) {
            pvesim::Gns3GuestOptions g;
            g.address_octet = 70;  // lab prefix "qy": apart from the API end-to-end test's "qz" (71)
            g.state_dir = dir / "guests";
            std::mt19937 rng(std::random_device{}());
            g.lab_port_base = static_cast<std::uint16_t>(30000 + (rng() % 60) * 100);
            // node consoles apart from the local labs' VPCS (5000 up, every address) of other tests
            g.console_port_min = 12500;
            g.console_port_max = 12999;
            g.helper_binary = NETPRAXIS_BINARY;
            guests = std::make_shared<pvesim::Gns3Guests>(io.get_executor(), g);
            sim->attach_gns3_guests(guests);
        }
        server = std::make_unique<pvesim::SimServer>(io.get_executor(), *sim,
                                                     pvesim::SimServerOptions{"127.0.0.1", 0, false});
        port = server->start();
    }
    ~World() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    labpve::ProxmoxOptions options(std::string password = "rootpass") const {
        labpve::ProxmoxOptions o;
        o.client.url = "http://127.0.0.1:" + std::to_string(port);
        o.client.credentials.user = "root@pam";
        o.client.credentials.password = std::move(password);
        o.client.retry = {Ms(5), Ms(50), 3};
        o.base_vmid = 100;
        o.vmid_low = 20000;
        o.vmid_high = 20999;
        o.projects_dir = std::string(NETPRAXIS_SOURCE_DIR) + "/examples";
        o.poll_interval = Ms(50);
        o.boot_timeout = Ms(60'000);
        o.nodes_timeout = Ms(60'000);
        return o;
    }
    boost::json::object stats() const { return boost::json::parse(sim->stats_json()).as_object(); }

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
                if (guests) co_await guests->shutdown();
                co_await server->stop();
                if (failure) std::rethrow_exception(failure);
            },
            asio::use_future);
        io.run();
        fut.get();
    }
};

// The example exercise's request: PC1, PC2 (VPCS) and R1 (FRR) of examples/gns3-vpcs-router.
inline lab::LabRequest request(const std::string& env) {
    lab::LabRequest r;
    r.env = env;
    r.gns3_project = "gns3-vpcs-router/gns3-vpcs-router.gns3project";
    r.devices = {{"PC1", "vpcs"}, {"PC2", "vpcs"}, {"R1", "frr"}};
    return r;
}

}  // namespace np::labpve::testing
