// The Proxmox VE simulator behind `netpraxis pve-sim`: the /api2/json paths and reply shapes netpraxis
// uses (reference: shared/reference/proxmox/API.md), with tickets, CSRF and API tokens enforced, async
// tasks with real UPIDs, per-storage locks that admit K disk operations (others wait, then fail with the
// real lock-timeout message), per-VM config locks, the real VMID collision errors, refusal of cross-node
// clones from local storage, offline and live migration (local disks copied, the VM locked `migrate`),
// request latency with a pveproxy-like limit on requests in flight, fault
// injection, and Proxmox's privileges (users, roles, ACLs) enforced for every user but root@pam. /sim/stats
// (not PVE) reports what happened. Runs on one event-loop thread. Inside: src/pvesim/impl.hpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "http/message.hpp"
#include "pvesim/profile.hpp"

namespace np::pvesim {

class Gns3Guests;  // gns3_guests.hpp

class Simulator {
 public:
    Simulator(boost::asio::any_io_executor executor, Profile profile, std::uint64_t seed);
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    // The request handler (for np::http::Server). A response with `drop` set is not sent: the connection is
    // dropped instead (np::http::Server does so); PVE's error line is in the response's `reason`.
    boost::asio::awaitable<http::Response> handle(http::Request& request);
    http::Handler handler();

    // /sim/stats as JSON.
    std::string stats_json() const;
    const Profile& profile() const;
    // Started qemu VMs run a GNS3 server of `guests` (pve-sim --gns3-guests); see gns3_guests.hpp.
    void attach_gns3_guests(std::shared_ptr<Gns3Guests> guests);

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

struct SimServerOptions {
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;
    bool tls = false;
};

// Serves a simulator through np::http::Server, over plain HTTP or TLS (a self-signed certificate made at
// start).
class SimServer {
 public:
    SimServer(boost::asio::any_io_executor executor, Simulator& sim, SimServerOptions options);
    ~SimServer();
    // Binds; returns the port.
    std::uint16_t start();
    boost::asio::awaitable<void> stop();
    // SHA-256 fingerprint of the TLS certificate ("AB:CD:..."), empty without TLS.
    std::string fingerprint() const;
    // PEM of the certificate (to use as a CA file in tests).
    std::string certificate_pem() const;

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace np::pvesim
