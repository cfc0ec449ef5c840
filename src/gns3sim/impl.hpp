// Simulator::Impl, shared by simulator.cpp (routes, projects) and nodes.cpp (devices). Internal.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/offload.hpp"
#include "gns3sim/devices.hpp"
#include "gns3sim/model.hpp"
#include "gns3sim/simulator.hpp"

namespace np::gns3sim {

using ProjectPtr = std::shared_ptr<SimProject>;

struct Simulator::Impl : std::enable_shared_from_this<Simulator::Impl> {
    boost::asio::any_io_executor executor;
    SimOptions options;
    lab::LocalRuntime runtime;
    core::WorkerPool pool{2};
    std::map<std::string, ProjectPtr> projects;  // by project_id
    std::set<std::uint16_t> consoles;            // console ports given to nodes

    Impl(boost::asio::any_io_executor ex, SimOptions o)
        : executor(ex), options(std::move(o)), runtime(options.runtime) {}

    ProjectPtr get(const std::string& id) const;  // 404 "Project ID ... doesn't exist"
    std::string free_name(const std::string& name) const;
    void assign_consoles(SimProject& p);
    void release_consoles(const SimProject& p);
    std::string env_of(const std::string& project_id) const;
    // options.projects_dir: keeps a project (or drops it) on disk; load() reads them all back, closed.
    void save(const SimProject& p) const;
    void forget(const std::string& project_id) const;
    void load();

    // nodes.cpp
    boost::asio::awaitable<void> start(ProjectPtr p, std::vector<std::string> node_ids);
    boost::asio::awaitable<void> stop(ProjectPtr p, std::vector<std::string> node_ids);
    boost::asio::awaitable<void> stop_all_and_remove(ProjectPtr p, bool remove_lab);
    boost::asio::awaitable<void> sleep(std::chrono::milliseconds d) const;
};

std::vector<std::string> all_node_ids(const SimProject& p);

}  // namespace np::gns3sim
