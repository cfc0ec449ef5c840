// Test helper for Proxmox labs (end-to-end tests and bench_pve_class): `netpraxis pve-sim --gns3-guests` in a
// child process on a free port (started VMs run a GNS3 simulator whose nodes are real devices), and the
// one-PC exercise project those labs are built from.
#pragma once

#include <sys/types.h>

#include <boost/json.hpp>
#include <filesystem>
#include <string>

namespace np::testkit {

struct PveSimOptions {
    std::string profile = "fast";  // fast, realistic, faulty or a JSON file
    int seed = 0;                  // --seed (0: not given)
    // --gns3-address-octet: the guests' addresses 127.<octet>.x.y and their namespaces' prefix; tests that
    // may run at the same time take different octets.
    int address_octet = 71;
    std::string console_ports;  // --gns3-console-ports MIN-MAX (empty: pve-sim's 5000-5999)
    std::string lab_ports;      // --gns3-lab-ports FIRST (empty: one of 30000, 30100 ... 35900 at random)
};

class PveSimProcess {
 public:
    // Starts it with its guests' state under `state_dir`; port() is 0 when it did not start.
    PveSimProcess(const std::filesystem::path& state_dir, const PveSimOptions& options);
    // SIGTERM (it stops the guests' devices and removes their labs), waited for at most 60 s, then SIGKILL.
    ~PveSimProcess();
    PveSimProcess(const PveSimProcess&) = delete;
    PveSimProcess& operator=(const PveSimProcess&) = delete;

    int port() const { return port_; }
    pid_t pid() const { return pid_; }
    // SIGKILL (as a crash would end it) and waited for; the destructor then has nothing to do.
    void kill_hard();
    // GET /sim/stats: VMs, names created twice, orphaned volumes, faults...
    boost::json::object stats() const;

 private:
    pid_t pid_ = -1;
    int port_ = 0;
};

// examples/gns3-vpcs-router reduced to PC1 (no links), written as one-pc.gns3project into `dir`.
void write_one_pc_project(const std::filesystem::path& dir);

}  // namespace np::testkit
