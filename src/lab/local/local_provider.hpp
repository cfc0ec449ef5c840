// lab::LocalProvider: the `local` provider (DESIGN.md): environments are local labs run by LocalRuntime
// on this host. Runs on the event loop; every runtime call is offloaded to the worker pool.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "core/offload.hpp"
#include "lab/local/runtime.hpp"
#include "lab/provider.hpp"

namespace np::lab {

class LocalProvider final : public Provider {
 public:
    LocalProvider(boost::asio::any_io_executor executor, core::WorkerPool& pool, RuntimeOptions options);

    std::string_view name() const override { return "local"; }
    void check_request(const LabRequest& request) const override;
    boost::asio::awaitable<void> ensure_template(const LabRequest& request) override;
    boost::asio::awaitable<void> create(const LabRequest& request) override;
    boost::asio::awaitable<void> start(const std::string& env) override;
    boost::asio::awaitable<void> stop(const std::string& env) override;
    boost::asio::awaitable<void> reset(const std::string& env) override;
    boost::asio::awaitable<void> destroy(const std::string& env) override;
    boost::asio::awaitable<Observed> observe(const std::string& env) override;
    boost::asio::awaitable<Inventory> inventory(const std::string& env) override;
    boost::asio::awaitable<std::unique_ptr<ConsoleStream>> console(const std::string& env,
                                                                   const std::string& node) override;

    // Cleans labs interrupted by a crash (see LocalRuntime::reconcile); `netpraxis serve` calls it at start.
    boost::asio::awaitable<std::vector<std::string>> recover() override;

    LocalRuntime& runtime() { return runtime_; }

 private:
    Topology topology_of(const LabRequest& request) const;

    boost::asio::any_io_executor executor_;
    core::WorkerPool& pool_;
    LocalRuntime runtime_;
};

// The tools a topology needs on this host ("ip", "vpcs", FRR's frrinit.sh); the missing ones, with the
// Debian package to install.
std::vector<std::string> missing_tools(const Topology& topology, const RuntimeOptions& options);

}  // namespace np::lab
