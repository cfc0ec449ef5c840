// labpve::ProxmoxProvider: the `proxmox` lab provider (DESIGN.md "Lab providers"). One Proxmox VM per
// environment, a linked clone (full optional) of the exercise's template VM, which runs a GNS3 server
// (2.2.x, port 3080) holding the exercise's project. The template is built once per project content (the
// seed's sequence: clone the base VM, boot, guest-agent IP, import the portable project, shut down, convert)
// and named np-tpl-<12 hex of its SHA-256>. An environment's VM is named after the environment, with a
// VMID from netpraxis's range, placed on the node with the most free memory (the template's node when its
// disk is on local storage). Start: VM start -> guest-agent IP -> GNS3 answers -> open project -> start
// nodes -> every console answers. Stop shuts the VM down (the disk keeps what the students saved); reset
// destroys and clones again under the same name; destroy is the verified delete of pve::delete_batch
// (leftover volumes removed and counted). Observe: VM status plus every GNS3 node's; a Proxmox that cannot
// be reached, refuses the credentials or shows another certificate makes the lab degraded with that reason.
// Lives above src/pve, src/gns3 and src/lab (its own component: lab may not link pve or gns3).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "lab/batch.hpp"
#include "lab/provider.hpp"
#include "pve/client.hpp"

namespace np::labpve {

class TemplateCopies;  // template_copy.hpp

struct ProxmoxOptions {
    pve::ClientOptions client;                // pve.url, pve.user/password or pve.token, pve.fingerprint ...
    int base_vmid = 0;                        // pve.base_vmid: the VM with GNS3 server and qemu-guest-agent
    int vmid_low = 10000, vmid_high = 99999;  // pve.vmid_range
    bool full_clone = false;                  // pve.full_clone
    std::string pool;                         // pve.pool: environments' VMs join it (must exist)
    std::vector<std::string> nodes;           // pve.nodes: where environments may go (empty: every node)
    std::filesystem::path projects_dir;       // pve.projects_dir: an exercise's lab.gns3 is a file in it
    std::uint16_t gns3_port = 3080;           // pve.gns3.port
    std::string gns3_user, gns3_password;     // pve.gns3.user / pve.gns3.password (auth = True)
    std::chrono::milliseconds boot_timeout{10 * 60 * 1000};  // pve.boot_timeout: agent IP + GNS3 answering
    std::chrono::milliseconds nodes_timeout{5 * 60 * 1000};  // pve.nodes_timeout: nodes up, consoles answer
    std::chrono::milliseconds task_timeout{15 * 60 * 1000};  // pve.task_timeout: one Proxmox task
    std::chrono::milliseconds poll_interval{500};
    // Class scale (batch.cpp): a class start runs in waves of at most start_wave VMs (pve.start_wave), each
    // also bounded by the nodes' free memory and vCPUs (pve.cpu_overcommit vCPUs per physical CPU).
    int start_wave = 20;
    double cpu_overcommit = 4.0;
    // Template on local storage (template_copy.hpp): a copy on each node the VMs are placed on
    // (pve.template_copies; false: every VM goes to the template's node).
    bool template_copies = true;

    // Reads the `pve:` section (the keys the `netpraxis pve` commands read, plus the provider's).
    static ProxmoxOptions from_config(const core::Config& config);
};

// Counters for /metrics and tests.
struct ProxmoxStats {
    std::uint64_t templates_built = 0, clones = 0, destroys = 0, orphans_cleaned = 0;
    std::uint64_t acl_grants = 0, acl_revokes = 0;  // student roles on /vms/{vmid} (student_access.hpp)
    std::uint64_t template_copies = 0, template_copies_resumed = 0, template_copies_failed = 0;
};

class ProxmoxProvider : public lab::Provider, public lab::BatchProvider {
 public:
    ProxmoxProvider(boost::asio::any_io_executor executor, ProxmoxOptions options);
    ~ProxmoxProvider() override;

    std::string_view name() const override { return "proxmox"; }
    void check_request(const lab::LabRequest& request) const override;
    boost::asio::awaitable<void> ensure_template(const lab::LabRequest& request) override;
    boost::asio::awaitable<void> create(const lab::LabRequest& request) override;
    boost::asio::awaitable<void> start(const std::string& env) override;
    boost::asio::awaitable<void> stop(const std::string& env) override;
    boost::asio::awaitable<void> reset(const std::string& env) override;
    boost::asio::awaitable<void> destroy(const std::string& env) override;
    boost::asio::awaitable<lab::Observed> observe(const std::string& env) override;
    boost::asio::awaitable<lab::Inventory> inventory(const std::string& env) override;
    boost::asio::awaitable<std::unique_ptr<lab::ConsoleStream>> console(const std::string& env,
                                                                        const std::string& node) override;
    boost::asio::awaitable<std::vector<std::string>> recover() override;

    ProxmoxStats stats() const;
    std::vector<lab::ProviderCounter> counters() const override;

    // Class scale (batch.cpp): a class's VMs as one pve::clone_batch; a class start bounded by capacity,
    // which clones the VMs that do not exist yet and starts each as soon as its clone is done.
    boost::asio::awaitable<std::vector<lab::BatchItem>> create_batch(
        const std::vector<lab::LabRequest>& requests, lab::BatchProgress progress) override;
    boost::asio::awaitable<std::vector<lab::BatchItem>> start_batch(
        const std::vector<lab::LabRequest>& requests, lab::BatchProgress progress) override;
    // For batch.cpp: the options, the client (its adaptive limits are shared by every workload) and the
    // name of the template a request's labs are cloned from.
    const ProxmoxOptions& options() const;
    pve::Client& client();
    TemplateCopies& template_copies();  // template_copy.cpp
    std::string template_for(const lab::LabRequest& request) const;
    // Template on local storage: a copy of template `tpl` on each node the VMs of `envs` are placed on
    // (template_copy.hpp); each step told to their progress sinks and to `batch`.
    boost::asio::awaitable<void> copy_template(const std::string& tpl, const std::vector<std::string>& envs,
                                               lab::BatchProgress batch = {});
    // Grants the request's owner, when a student of a Proxmox realm, their role on the environment's VM.
    boost::asio::awaitable<void> grant_owner(const lab::LabRequest& request);
    // A batch claims its environments while it clones them (each released once its VM exists): create and
    // start of one of them wait for it.
    boost::asio::awaitable<void> claim(const std::vector<std::string>& envs);
    void release(const std::vector<std::string>& envs);

    struct Impl;

 private:
    std::shared_ptr<Impl> impl_;
};

// The checks of check_request for one exercise version, usable at publish: the project file is in
// projects_dir, is a portable project, and its nodes and the spec's devices match. Throws core::invalid.
void check_gns3_exercise(const std::filesystem::path& projects_dir, const lab::LabRequest& request);

// Imports the portable project `zip` as the lab project of the GNS3 server of a VM at `ip` (port, auth and
// polling from `options`) once that server answers, polling until `deadline`. Template builds (the provider's
// and `netpraxis pve template --gns3-project`).
boost::asio::awaitable<void> import_lab_project(boost::asio::any_io_executor executor,
                                                const ProxmoxOptions& options, std::string ip,
                                                std::string zip,
                                                std::chrono::steady_clock::time_point deadline);

}  // namespace np::labpve
