// lab::BatchProvider: what a provider whose labs are built by a shared cluster (proxmox) offers beyond
// lab::Provider, so a class is handled as one workload instead of N jobs racing the cluster's throttle:
// create a class's labs as one batch, and start a class (creating what is missing) bounded by the cluster's
// capacity.
// A provider implements it next to lab::Provider; app finds it with dynamic_cast (the local provider does
// not: its labs are made one by one, as before).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "lab/provider.hpp"

namespace np::lab {

// The outcome of one environment of a batch.
struct BatchItem {
    std::string env;
    bool ok = false;
    std::string error;  // why it failed (ok == false)
};

// Called as items progress: (env or VM name, what happened, items done, total). Runs on the caller's
// executor, never concurrently.
using BatchProgress =
    std::function<void(const std::string& env, const std::string& what, std::size_t done, std::size_t total)>;

class BatchProvider {
 public:
    virtual ~BatchProvider() = default;
    // Makes sure the templates exist and creates every request's lab (not started) as one workload.
    // Idempotent: labs that exist count as done. One item per request, in order.
    virtual boost::asio::awaitable<std::vector<BatchItem>> create_batch(
        const std::vector<LabRequest>& requests, BatchProgress progress) = 0;
    // Starts the labs of `requests`, never more at once than the cluster can take (and the configured cap).
    // A lab that does not exist yet is created first (as create_batch does, the owner's rights included)
    // and started as soon as it exists, while the others are still being created. One item per request,
    // in order.
    virtual boost::asio::awaitable<std::vector<BatchItem>> start_batch(
        const std::vector<LabRequest>& requests, BatchProgress progress) = 0;
};

}  // namespace np::lab
