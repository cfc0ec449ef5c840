// gns3sim::Simulator: a GNS3 server (REST API v2 of gns3-server 2.2.59) for tests and for trying netpraxis
// without GNS3: the controller paths, fields, status codes and error messages of the reference
// (shared/reference/gns3/API.md), projects in memory (create, import and export of portable projects,
// open, close, duplicate, snapshots, delete), nodes and links from the project file. Its nodes are real
// devices: starting a project's nodes brings up a local lab (src/lab/local: network namespaces, VPCS, FRR)
// and each started node's console port is a telnet console to its device (VPCS, or vtysh of the FRR that
// stands in for a dynamips/iou/qemu router). Served by np::http::Server (`netpraxis gns3-sim`). Needs root
// for the devices; everything else works without.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "http/message.hpp"
#include "lab/local/runtime.hpp"

namespace np::gns3sim {

struct SimOptions {
    std::string version = "2.2.59";
    bool local = true;                       // GET /v2/version's `local`
    std::string user, password;              // HTTP Basic auth when user is set (the server's `auth = True`)
    std::string console_host = "127.0.0.1";  // where node consoles listen (and `console_host` of nodes)
    std::uint16_t console_port_min = 5000;   // node console ports (the server's console_start_port_range)
    std::uint16_t console_port_max = 5999;
    // Timings: added to each node start / stop and each project open (a real server takes seconds).
    std::chrono::milliseconds node_start_delay{0}, node_stop_delay{0}, project_open_delay{0};
    std::string env_prefix = "gs";
    // Where projects are kept as portable projects (<project_id>.gns3project) so that they survive a restart
    // of the simulator, closed as after a real server's restart; empty: in memory only. Snapshots are not
    // kept.
    std::filesystem::path projects_dir;  // local labs are named <prefix><8 hex of the project id>
    // The local lab runtime: state_dir, its own VPCS console and tunnel port ranges (keep them apart from
    // console_port_min/max), helper_binary.
    lab::RuntimeOptions runtime;
};

class Simulator {
 public:
    Simulator(boost::asio::any_io_executor executor, SimOptions options);
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    boost::asio::awaitable<http::Response> handle(http::Request& request);
    // Stops every node and removes every lab it made (call before the process exits).
    boost::asio::awaitable<void> shutdown();
    // Stops every node keeping what the devices saved (their labs stay defined, stopped), as a machine
    // powering off: a new Simulator on the same projects_dir and lab state_dir starts them again with it.
    boost::asio::awaitable<void> power_off();

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace np::gns3sim
