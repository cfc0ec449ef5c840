#include "lab/local/local_provider.hpp"

#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "lab/local/console.hpp"
#include "lab/local/local_inventory.hpp"
#include "lab/telnet_console.hpp"

namespace np::lab {
namespace fs = std::filesystem;

namespace {

bool in_path(const std::string& tool) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
    std::size_t start = 0;
    while (start <= p.size()) {
        auto end = p.find(':', start);
        auto dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!dir.empty() && access((fs::path(dir) / tool).c_str(), X_OK) == 0) return true;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return false;
}

}  // namespace

std::vector<std::string> missing_tools(const Topology& topology, const RuntimeOptions& options) {
    std::vector<std::string> missing;
    if (!in_path("ip")) missing.push_back("ip (Debian package iproute2)");
    bool frr = false;
    bool vpcs = false;
    for (const auto& n : topology.nodes) {
        frr = frr || n.kind == NodeKind::frr;
        vpcs = vpcs || n.kind == NodeKind::vpcs;
    }
    if (frr && access(options.frrinit.c_str(), X_OK) != 0)
        missing.push_back(options.frrinit + " (Debian package frr)");
    if (frr && !in_path("vtysh")) missing.push_back("vtysh (Debian package frr)");
    if (vpcs && !in_path("vpcs")) missing.push_back("vpcs (Debian package vpcs)");
    if (vpcs && access("/dev/net/tun", R_OK | W_OK) != 0)
        missing.push_back("/dev/net/tun (the tun kernel module)");
    return missing;
}

LocalProvider::LocalProvider(boost::asio::any_io_executor executor, core::WorkerPool& pool,
                             RuntimeOptions options)
    : executor_(std::move(executor)), pool_(pool), runtime_(std::move(options)) {}

void LocalProvider::check_request(const LabRequest& request) const {
    if (request.topology.empty()) throw core::invalid("this exercise version has no local topology");
}

Topology LocalProvider::topology_of(const LabRequest& request) const {
    check_request(request);
    return parse_topology(request.topology, request.env + "/topology.yaml");
}

boost::asio::awaitable<void> LocalProvider::ensure_template(const LabRequest& request) {
    auto work = [this, request] {
        auto topology = topology_of(request);
        auto missing = missing_tools(topology, runtime_.options());
        if (!missing.empty()) {
            std::string list;
            for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
            throw core::unavailable("local labs cannot run topology '" + topology.name + "' here: missing " +
                                    list);
        }
        if (geteuid() != 0)
            throw core::unavailable("local labs need root (network namespaces, FRR, TAP devices)");
    };
    co_await pool_.run(std::move(work));
}

boost::asio::awaitable<void> LocalProvider::create(const LabRequest& request) {
    auto work = [this, request] { runtime_.define(topology_of(request), request.env); };
    co_await pool_.run(std::move(work));
}

boost::asio::awaitable<void> LocalProvider::start(const std::string& env) {
    auto work = [this, env] {
        auto record = runtime_.read(env);
        if (!record) throw core::not_found("no local environment '" + env + "'; create it first");
        runtime_.up(parse_topology(record->topology_yaml, env + "/state.json"), env);
    };
    co_await pool_.run(std::move(work));
}

boost::asio::awaitable<void> LocalProvider::stop(const std::string& env) {
    auto work = [this, env] { runtime_.stop(env); };
    co_await pool_.run(std::move(work));
}

boost::asio::awaitable<void> LocalProvider::reset(const std::string& env) {
    co_await stop(env);
    auto forget = [this, env] { runtime_.forget_saved(env); };
    co_await pool_.run(std::move(forget));
    co_await start(env);
}

boost::asio::awaitable<void> LocalProvider::destroy(const std::string& env) {
    auto work = [this, env] {
        try {
            runtime_.down(env);
        } catch (const core::Error& e) {
            if (e.code() != core::Code::not_found) throw;
        }
        auto obs = runtime_.observe(env);
        if (obs.state != EnvState::absent)
            throw core::internal("local environment '" + env + "' still has leftovers after destroy");
    };
    co_await pool_.run(std::move(work));
}

boost::asio::awaitable<Observed> LocalProvider::observe(const std::string& env) {
    auto work = [this, env] { return runtime_.observe(env); };
    auto result = co_await pool_.run(std::move(work));
    co_return result;
}

boost::asio::awaitable<Inventory> LocalProvider::inventory(const std::string& env) {
    auto dir = runtime_.options().state_dir.string();
    auto work = [dir, env] { return read_local_inventory(dir, env); };
    auto result = co_await pool_.run(std::move(work));
    co_return result;
}

boost::asio::awaitable<std::unique_ptr<ConsoleStream>> LocalProvider::console(const std::string& env,
                                                                              const std::string& node) {
    auto inventory_list = co_await inventory(env);
    for (const auto& d : inventory_list) {
        if (d.node != node) continue;
        if (d.transport == "telnet")
            co_return telnet_console(executor_, co_await open_tcp_console(executor_, d.host, d.port));
        if (!d.frr_pathspace.empty()) co_return open_pty_console(executor_, {"vtysh", "-N", d.frr_pathspace});
        co_return open_pty_console(executor_, {"ip", "netns", "exec", d.netns, "bash", "-i"});
    }
    throw core::not_found("local lab '" + env + "' has no node '" + node + "'");
}

boost::asio::awaitable<std::vector<std::string>> LocalProvider::recover() {
    auto work = [this] { return runtime_.reconcile(); };
    auto result = co_await pool_.run(std::move(work));
    co_return result;
}

}  // namespace np::lab
