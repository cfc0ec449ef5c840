// pvesim::Gns3Guests: the GNS3 servers inside the simulated VMs of `pve-sim --gns3-guests`. A started VM
// runs its own gns3sim server (src/gns3sim: real devices behind its node consoles) on its own loopback
// address 127.R.H.L (H.L: the VMID's two low bytes, R chosen at run time) and port 3080, which the guest
// agent reports as the VM's eth0 address; its projects live in the VM's folder, so a linked or full clone
// gets a copy of its source's projects, a stop/start keeps them (and what the devices saved: the nodes are
// stopped, not removed), and a destroy removes them. The simulator calls the hooks below (simulator.cpp,
// "GNS3 guests hook"); everything else lives here.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace np::pvesim {

struct Gns3GuestOptions {
    std::filesystem::path state_dir;  // <state_dir>/<vmid>/projects (kept) and /labs (device state)
    int address_octet = 0;            // R of 127.R.H.L; 0: chosen at random in 64..250
    std::uint16_t port = 3080;        // the GNS3 API port of every VM
    // Each running VM gets `ports_per_vm` VPCS console ports and as many UDP tunnel ports on 127.0.0.1,
    // from lab_port_base up (slot by slot); node consoles listen on the VM's own address, in
    // console_port_min..max (GNS3's console range; VPCS binds every address, so on a host shared with local
    // labs give the guests a range their consoles do not use).
    std::uint16_t lab_port_base = 20000;
    std::uint16_t console_port_min = 5000, console_port_max = 5999;
    std::uint16_t ports_per_vm = 16;
    std::chrono::milliseconds node_start_delay{0}, node_stop_delay{0}, project_open_delay{0};
    std::string helper_binary;  // the netpraxis binary for `lab _bridge`; empty: /proc/self/exe
    // The netpraxis binary that runs the guests' reaper (`netpraxis _pve-sim-reaper`, see reap_gns3_guests):
    // a process that outlives pve-sim by a moment and removes every device of its guests when pve-sim ends,
    // even by SIGKILL or a crash. Empty: no reaper (a simulator embedded in a test process).
    std::string reaper_binary;
    bool reaper_removes_state_dir = false;  // the state dir is pve-sim's temporary one: the reaper removes it
};

class Gns3Guests {
 public:
    Gns3Guests(boost::asio::any_io_executor executor, Gns3GuestOptions options);
    ~Gns3Guests();
    Gns3Guests(const Gns3Guests&) = delete;
    Gns3Guests& operator=(const Gns3Guests&) = delete;

    // Hooks (simulator.cpp). A clone copies the source's projects; start brings the VM's GNS3 server up
    // (its projects closed, as after a reboot); stop stops its nodes (keeping what they saved) and the
    // server; destroy removes everything of the VM. A server that cannot start is logged, never thrown.
    void cloned(int from_vmid, int new_vmid);
    void started(int vmid);
    boost::asio::awaitable<void> stopped(int vmid);
    boost::asio::awaitable<void> destroyed(int vmid);
    // The address the guest agent reports while the VM's GNS3 server runs.
    std::optional<std::string> address(int vmid) const;
    // The address a VM has (running or not): 127.R.H.L.
    std::string address_of(int vmid) const;
    // Stops every server and removes every lab (pve-sim exiting); projects stay on disk.
    boost::asio::awaitable<void> shutdown();
    const std::filesystem::path& state_dir() const;

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
    int reaper_fd_ = -1;  // the write end of the reaper's pipe: its EOF tells the reaper we are gone
};

// The namespace prefix of every lab of the guests of a pve-sim with this address octet ("q" + one base-36
// digit: octets equal modulo 36 share it, so pve-sims running at once take octets that differ modulo 36).
std::string guest_namespace_prefix(int address_octet);

// Removes what guests of a pve-sim left behind: every lab recorded under `state_dir` (its VPCS, bridges, FRR
// daemons, namespaces: a lab is recorded before anything of it is made). Blocking; what cannot be removed is
// logged. Returns the labs removed.
int reap_gns3_guests(const std::filesystem::path& state_dir);

// `netpraxis _pve-sim-reaper`: waits until `watch_fd` reads EOF (pve-sim, which holds its other end, is gone,
// however it ended), then reap_gns3_guests and, if asked, removes `state_dir`.
int run_gns3_guest_reaper(int watch_fd, const std::filesystem::path& state_dir, bool remove_state_dir);

}  // namespace np::pvesim
