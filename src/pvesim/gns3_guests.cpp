#include "pvesim/gns3_guests.hpp"

#include <unistd.h>

#include <random>
#include <set>
#include <system_error>

#include "core/error.hpp"
#include "core/log.hpp"
#include "gns3sim/simulator.hpp"
#include "http/server.hpp"

namespace np::pvesim {

namespace asio = boost::asio;
namespace fs = std::filesystem;

// guest_reaper.cpp
int start_gns3_guest_reaper(const Gns3GuestOptions& o);

namespace {

// "q" + 7 base-36 digits of the VMID: the lab prefix of one VM's GNS3 server (namespaces
// <prefix><8 hex>_<node>), unique per VM and per simulator run (the second letter varies with R).
std::string lab_prefix(int address_octet, int vmid) {
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string out;
    auto v = static_cast<unsigned>(vmid);
    do {
        out.insert(out.begin(), digits[v % 36]);
        v /= 36;
    } while (v != 0 && out.size() < 6);
    return guest_namespace_prefix(address_octet) + out;
}

}  // namespace

struct Running {
    std::unique_ptr<gns3sim::Simulator> sim;
    std::unique_ptr<http::Server> server;
    int slot = 0;
};

struct Gns3Guests::Impl {
    asio::any_io_executor executor;
    Gns3GuestOptions options;
    std::map<int, Running> running;  // by VMID
    std::set<int> slots;             // port slots in use

    fs::path vm_dir(int vmid) const { return options.state_dir / std::to_string(vmid); }

    std::string address_of(int vmid) const {
        return "127." + std::to_string(options.address_octet) + "." + std::to_string((vmid >> 8) & 255) +
               "." + std::to_string(vmid & 255);
    }

    int take_slot() {
        int slot = 0;
        while (slots.count(slot)) ++slot;
        slots.insert(slot);
        return slot;
    }

    gns3sim::SimOptions sim_options(int vmid, int slot) const {
        gns3sim::SimOptions o;
        o.console_host = address_of(vmid);
        o.console_port_min = options.console_port_min;
        o.console_port_max = options.console_port_max;
        o.node_start_delay = options.node_start_delay;
        o.node_stop_delay = options.node_stop_delay;
        o.project_open_delay = options.project_open_delay;
        o.env_prefix = lab_prefix(options.address_octet, vmid);
        o.projects_dir = vm_dir(vmid) / "projects";
        o.runtime.state_dir = vm_dir(vmid) / "labs";
        o.runtime.helper_binary = options.helper_binary;
        int span = options.ports_per_vm;
        int base = options.lab_port_base + slot * 2 * span;
        if (base + 2 * span > 65535) throw core::unavailable("pve-sim: no more port slots for GNS3 guests");
        o.runtime.console_port_min = static_cast<std::uint16_t>(base);
        o.runtime.console_port_max = static_cast<std::uint16_t>(base + span - 1);
        o.runtime.tunnel_port_min = static_cast<std::uint16_t>(base + span);
        o.runtime.tunnel_port_max = static_cast<std::uint16_t>(base + 2 * span - 1);
        return o;
    }

    asio::awaitable<void> stop(int vmid, bool remove_labs) {
        auto it = running.find(vmid);
        if (it == running.end()) co_return;
        auto r = std::move(it->second);
        running.erase(it);
        try {
            if (remove_labs)
                co_await r.sim->shutdown();
            else
                co_await r.sim->power_off();
        } catch (const std::exception& e) {
            log::warn("pvesim.gns3_guest_stop", {{"vmid", std::to_string(vmid)}, {"error", e.what()}});
        }
        co_await r.server->shutdown();
        slots.erase(r.slot);
    }
};

Gns3Guests::Gns3Guests(asio::any_io_executor executor, Gns3GuestOptions options)
    : impl_(std::make_shared<Impl>()) {
    impl_->executor = std::move(executor);
    fs::create_directories(options.state_dir);
    if (options.address_octet <= 0 || options.address_octet > 254) {
        std::random_device random;
        options.address_octet = std::uniform_int_distribution<int>(64, 250)(random);
    }
    // No sweep here of what an earlier simulator with this octet left: another one may be running with it now
    // (the suite's tests run several at once), and its reaper removes its labs when it ends.
    impl_->options = std::move(options);
    if (!impl_->options.reaper_binary.empty()) reaper_fd_ = start_gns3_guest_reaper(impl_->options);
}

Gns3Guests::~Gns3Guests() {
    if (reaper_fd_ >= 0) close(reaper_fd_);
}

void Gns3Guests::cloned(int from_vmid, int new_vmid) {
    auto from = impl_->vm_dir(from_vmid) / "projects";
    auto to = impl_->vm_dir(new_vmid) / "projects";
    std::error_code ec;
    fs::remove_all(impl_->vm_dir(new_vmid), ec);
    fs::create_directories(to);
    if (fs::is_directory(from))
        fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

void Gns3Guests::started(int vmid) {
    auto& d = *impl_;
    if (d.running.count(vmid)) return;
    int slot = d.take_slot();
    try {
        Running r;
        r.slot = slot;
        r.sim = std::make_unique<gns3sim::Simulator>(d.executor, d.sim_options(vmid, slot));
        http::ServerOptions so;
        so.address = d.address_of(vmid);
        so.port = d.options.port;
        so.body_limit = 512u << 20;  // portable projects
        so.read_timeout = std::chrono::minutes(10);
        so.write_timeout = std::chrono::minutes(10);
        so.access_log = false;
        so.shutdown_grace = std::chrono::seconds(5);
        auto* sim = r.sim.get();
        r.server = std::make_unique<http::Server>(
            d.executor, so, [sim](http::Request& req) -> asio::awaitable<http::Response> {
                co_return co_await sim->handle(req);
            });
        r.server->listen();
        r.server->start();
        d.running.emplace(vmid, std::move(r));
        log::info("pvesim.gns3_guest_up", {{"vmid", std::to_string(vmid)}, {"address", so.address}});
    } catch (const std::exception& e) {
        // The VM runs without a GNS3 server (its guest agent reports the simulator's default address): the
        // provider sees GNS3 not answering, as with a broken base VM.
        d.slots.erase(slot);
        log::error("pvesim.gns3_guest_failed", {{"vmid", std::to_string(vmid)}, {"error", e.what()}});
    }
}

asio::awaitable<void> Gns3Guests::stopped(int vmid) {
    auto impl = impl_;
    co_await impl->stop(vmid, false);
}

asio::awaitable<void> Gns3Guests::destroyed(int vmid) {
    auto impl = impl_;
    co_await impl->stop(vmid, true);
    // Labs stopped with the VM are only records on disk: removing the VM's folder removes them.
    std::error_code ec;
    fs::remove_all(impl->vm_dir(vmid), ec);
}

std::optional<std::string> Gns3Guests::address(int vmid) const {
    if (!impl_->running.count(vmid)) return std::nullopt;
    return impl_->address_of(vmid);
}

std::string Gns3Guests::address_of(int vmid) const {
    return impl_->address_of(vmid);
}

asio::awaitable<void> Gns3Guests::shutdown() {
    auto impl = impl_;
    std::vector<int> ids;
    for (const auto& [id, r] : impl->running) ids.push_back(id);
    for (int id : ids) co_await impl->stop(id, true);
}

const fs::path& Gns3Guests::state_dir() const {
    return impl_->options.state_dir;
}

}  // namespace np::pvesim
