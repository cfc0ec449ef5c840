#include "labpve/proxmox_provider.hpp"

#include <map>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/log.hpp"
#include "gns3/client.hpp"
#include "lab/local/console.hpp"
#include "lab/telnet_console.hpp"
#include "labpve/gns3_guest.hpp"
#include "labpve/project_check.hpp"
#include "labpve/student_access.hpp"
#include "labpve/template_copy.hpp"
#include "pve/access.hpp"
#include "pve/tasks.hpp"
#include "pve/workloads.hpp"

namespace np::labpve {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

namespace {

std::optional<pve::Resource> find_guest(const std::vector<pve::Resource>& rows, const std::string& name,
                                        bool is_template) {
    for (const auto& r : rows)
        if (r.type == "qemu" && r.name == name && r.is_template == is_template) return r;
    return std::nullopt;
}

// The template a linked clone was made from: its disk is "<storage>:base-<N>-disk-0/vm-<id>-disk-0".
int linked_base(const pve::GuestConfig& config) {
    for (const auto& d : pve::config_disks(config)) {
        auto pos = d.volume.find("base-");
        if (pos == std::string::npos) continue;
        try {
            return std::stoi(d.volume.substr(pos + 5));
        } catch (const std::exception&) {
        }
    }
    return 0;
}

}  // namespace

struct ProxmoxProvider::Impl {
    asio::any_io_executor executor;
    ProxmoxOptions options;
    pve::Client client;
    ProxmoxStats stats;
    StudentAccess access{client};
    TemplateCopies copies;  // local storage: the template on every node (template_copy.hpp)
    std::map<std::string, std::string> env_template;  // env -> template name (reset clones it again)
    std::set<std::string> building;                   // templates being built by this process
    std::set<std::string> claimed;  // environments a batch (batch.cpp) or create is cloning now

    // Waits until none of `names` is claimed (a batch of this process clones them), then claims them all.
    asio::awaitable<void> claim(const std::vector<std::string>& names) {
        auto busy = [&] {
            for (const auto& n : names)
                if (claimed.count(n)) return true;
            return false;
        };
        while (busy()) co_await sleep_for(Ms(50));
        claimed.insert(names.begin(), names.end());
    }
    void release(const std::vector<std::string>& names) {
        for (const auto& n : names) claimed.erase(n);
    }

    Impl(asio::any_io_executor ex, ProxmoxOptions o)
        : executor(ex), options(std::move(o)), client(ex, options.client), copies(client, copy_options()) {}

    pve::WorkloadLimits limits() const {
        pve::WorkloadLimits l;
        l.task_timeout = options.task_timeout;
        l.agent_timeout = options.boot_timeout;
        return l;
    }
    CopyOptions copy_options() const {
        return {options.nodes, options.vmid_low, options.vmid_high, limits(), options.poll_interval};
    }

    gns3::Client gns3_at(const std::string& ip) const { return gns3_client(executor, options, ip); }

    asio::awaitable<std::optional<pve::Resource>> find_vm(const std::string& env) {
        co_return find_guest(co_await client.cluster_resources("vm"), env, false);
    }
    asio::awaitable<pve::Resource> require_vm(const std::string& env) {
        auto vm = co_await find_vm(env);
        if (!vm) throw core::not_found("environment " + env + " has no VM on Proxmox");
        co_return *vm;
    }

    asio::awaitable<void> wait_task(const std::string& upid) {
        if (upid.empty()) co_return;
        pve::TaskWaiter waiter(client);
        co_await waiter.wait_ok(upid, options.task_timeout);
    }

    // The VM's guest-agent IPv4 address, polled until `deadline` (the agent answers only after boot).
    asio::awaitable<std::string> wait_ip(const pve::Resource& vm, Clock::time_point deadline) {
        std::string last = "no address yet";
        while (true) {
            try {
                if (auto ip = pve::first_ipv4(co_await client.agent_interfaces(vm.node, vm.vmid)))
                    co_return *ip;
            } catch (const core::Error& e) {
                if (e.code() == core::Code::unauthenticated || e.code() == core::Code::forbidden) throw;
                last = e.what();
            }
            if (Clock::now() >= deadline)
                throw core::timeout("VM " + std::to_string(vm.vmid) +
                                    " reported no IPv4 address via its guest " + "agent: " + last);
            co_await sleep_for(options.poll_interval);
        }
    }

    asio::awaitable<void> wait_gns3(gns3::Client& g, Clock::time_point deadline) {
        co_await wait_gns3_server(g, options, deadline);
    }

    // The VM's lab project (the one named kProjectName, else the only one).
    asio::awaitable<gns3::Project> lab_project(gns3::Client& g) {
        auto projects = co_await g.projects();
        for (const auto& p : projects)
            if (p.name == kProjectName) co_return p;
        if (projects.size() == 1) co_return projects.front();
        throw core::not_found("the VM's GNS3 server holds no project '" + std::string(kProjectName) + "'");
    }

    // Every graded node started and its console accepting a connection.
    asio::awaitable<void> wait_consoles(gns3::Client& g, const std::string& project_id,
                                        Clock::time_point deadline) {
        while (true) {
            std::string missing;
            for (const auto& n : co_await g.nodes(project_id)) {
                if (!graded(n)) continue;
                if (n.status != "started") {
                    missing = "node " + n.name + " is " + n.status;
                    break;
                }
                try {
                    auto host = gns3::console_address(n, g.host());
                    auto stream = co_await lab::open_tcp_console(executor, host,
                                                                 static_cast<std::uint16_t>(*n.console));
                    stream->close();
                } catch (const std::exception& e) {
                    missing = "console of " + n.name + " does not answer: " + e.what();
                    break;
                }
            }
            if (missing.empty()) co_return;
            if (Clock::now() >= deadline) throw core::timeout("the lab did not come up: " + missing);
            co_await sleep_for(options.poll_interval);
        }
    }

    asio::awaitable<void> build(const std::string& name, std::string zip, lab::ProgressSink& sink) {
        pve::TemplateBuild b;
        b.base_vmid = options.base_vmid;
        b.name = name;
        b.vmid_low = options.vmid_low;
        b.vmid_high = options.vmid_high;
        b.limits = limits();
        auto deadline = Clock::now() + options.boot_timeout;
        b.import_project = [this, &zip, deadline](const std::string& ip, int vmid) -> asio::awaitable<void> {
            log::info("labpve.template_import", {{"vmid", vmid}, {"address", ip}});
            co_await import_lab_project(executor, options, ip, zip, deadline);
        };
        b.on_step = [&sink](std::string step) -> asio::awaitable<void> {
            co_await sink.step(std::move(step));
        };
        auto summary = co_await pve::build_template(client, b, {});
        if (summary.failed || summary.vmid == 0) {
            std::string why;
            for (const auto& e : summary.errors) why += (why.empty() ? "" : "; ") + e;
            throw core::upstream("building template " + name + " failed: " + why);
        }
        ++stats.templates_built;
        log::info("labpve.template_built", {{"name", name}, {"vmid", summary.vmid}, {"node", summary.node}});
    }

    asio::awaitable<void> clone(const std::string& env, const std::string& tpl_name) {
        auto rows = co_await client.cluster_resources();
        auto tpl = find_guest(rows, tpl_name, true);
        if (!tpl) throw core::conflict("template " + tpl_name + " is missing on Proxmox (build it first)");
        pve::CloneBatch b;
        b.template_vmid = tpl->vmid;
        b.count = 1;
        b.exact_name = env;
        b.full = options.full_clone;
        b.nodes = options.nodes;
        b.pool = options.pool;
        b.vmid_low = options.vmid_low;
        b.vmid_high = options.vmid_high;
        b.limits = limits();
        auto summary = co_await pve::clone_batch(client, b, {});
        if (summary.failed || summary.vmids.empty()) {
            std::string why;
            for (const auto& e : summary.errors) why += (why.empty() ? "" : "; ") + e;
            throw core::upstream("cloning " + tpl_name + " for " + env + " failed: " + why);
        }
        ++stats.clones;
        env_template[env] = tpl_name;
    }

    // The template an environment was cloned from: remembered by create, else read from its linked disk.
    asio::awaitable<std::string> template_of(const pve::Resource& vm) {
        if (auto it = env_template.find(vm.name); it != env_template.end()) co_return it->second;
        int base = linked_base(co_await client.guest_config(pve::GuestKind::qemu, vm.node, vm.vmid));
        for (const auto& r : co_await client.cluster_resources("vm"))
            if (base && r.vmid == base && r.is_template) co_return r.name;
        throw core::conflict("cannot tell which template environment " + vm.name +
                             " was made from (a full clone made before this server started): destroy and "
                             "start it again");
    }

    asio::awaitable<void> power_off(const pve::Resource& vm) {
        if (vm.status != "running") co_return;
        try {  // stop the nodes first (a real GNS3 server saves their state on the VM's disk)
            auto ip = co_await wait_ip(vm, Clock::now());
            auto g = gns3_at(ip);
            auto p = co_await lab_project(g);
            if (p.status == "opened") co_await g.stop_nodes(p.project_id);
        } catch (const std::exception& e) {
            log::info("labpve.stop_nodes_skipped", {{"vm", vm.name}, {"why", e.what()}});
        }
        co_await wait_task(co_await client.shutdown(pve::GuestKind::qemu, vm.node, vm.vmid, 60, true));
    }

    // Starts `vm`. A start whose outcome is unknown (its reply lost: pve::OutcomeUnknown) or that failed is
    // judged by the VM's live status (status/current, not the cluster listing, which lags): running means
    // started — sending it again would only answer "already running" — otherwise it is tried again, three
    // times at most.
    asio::awaitable<void> power_on(const pve::Resource& vm) {
        std::string last;
        for (int attempt = 0; attempt < 3; ++attempt) {
            try {
                co_await wait_task(co_await client.start(pve::GuestKind::qemu, vm.node, vm.vmid));
                co_return;
            } catch (const core::Error& e) {
                if (e.code() == core::Code::unauthenticated || e.code() == core::Code::forbidden) throw;
                last = e.what();
            }
            try {
                auto now = co_await client.guest_status(pve::GuestKind::qemu, vm.node, vm.vmid);
                if (now.status == "running") co_return;
            } catch (const core::Error& e) {
                last += "; then its status could not be read: " + std::string(e.what());
            }
            co_await sleep_for(options.poll_interval);
        }
        throw core::upstream("VM " + std::to_string(vm.vmid) + " (" + vm.name + ") did not start: " + last);
    }

    asio::awaitable<void> ensure_built(const std::string& name, std::string zip, lab::ProgressSink& sink) {
        auto rows = co_await client.cluster_resources("vm");
        if (find_guest(rows, name, true)) co_return;
        if (options.base_vmid <= 0)
            throw core::invalid("the proxmox provider needs pve.base_vmid: the VM templates are built from");
        // A build interrupted earlier left a VM of that name that is no template: remove it first.
        if (auto half = find_guest(rows, name, false)) {
            co_await power_off(*half);
            pve::DeleteBatch d;
            d.vmids = {half->vmid};
            d.limits = limits();
            co_await pve::delete_batch(client, d, {});
        }
        co_await build(name, std::move(zip), sink);
    }

    // Gives each of `students` the student role on the VM of `env`; when Proxmox refuses, the VM goes
    // (nothing left behind that its student cannot use) and the refusal is the error.
    asio::awaitable<void> grant_or_remove(const std::string& env, const pve::Resource& vm,
                                          const std::vector<std::string>& students) {
        std::optional<core::Error> refused;
        for (const auto& userid : students) {
            try {
                co_await access.grant(userid, vm.vmid);
                ++stats.acl_grants;
            } catch (const core::Error& e) {
                refused = core::Error(e.code(), "Proxmox did not give " + userid + " the role " +
                                                    pve::kStudentRole + " on VM " + std::to_string(vm.vmid) +
                                                    " (" + e.what() + "); the VM was removed");
                break;
            }
        }
        if (!refused) co_return;
        log::warn("labpve.grant_failed", {{"env", env}, {"vmid", vm.vmid}, {"error", refused->what()}});
        std::vector<int> vmids{
            vm.vmid};  // (a named local: GCC 12 miscompiles braced temporaries in co_await)
        co_await remove_vms(env, std::move(vmids));
        throw *refused;
    }

    // Revokes the students' roles, then the verified delete; returns the orphaned volumes it removed.
    asio::awaitable<std::uint64_t> remove_vms(const std::string& env, std::vector<int> vmids) {
        for (int vmid : vmids) stats.acl_revokes += co_await access.revoke_all(vmid);
        pve::DeleteBatch d;
        d.vmids = std::move(vmids);
        d.limits = limits();
        auto summary = co_await pve::delete_batch(client, d, {});
        stats.orphans_cleaned += summary.orphans_cleaned;
        if (summary.failed) {
            std::string why;
            for (const auto& e : summary.errors) why += (why.empty() ? "" : "; ") + e;
            throw core::upstream("deleting the VM of " + env + " failed: " + why);
        }
        co_return summary.orphans_cleaned;
    }

    asio::awaitable<lab::Observed> observe_lab(const pve::Resource& vm);
};

asio::awaitable<lab::Observed> ProxmoxProvider::Impl::observe_lab(const pve::Resource& vm) {
    lab::Observed seen;
    seen.state = lab::EnvState::degraded;
    std::string ip;
    try {
        ip = co_await wait_ip(vm, Clock::now());
    } catch (const core::Error& e) {
        seen.problems.push_back("VM " + std::to_string(vm.vmid) +
                                " runs, its guest agent reports no address yet");
        co_return seen;
    }
    auto g = gns3_at(ip);
    try {
        auto p = co_await lab_project(g);
        if (p.status != "opened") {
            seen.problems.push_back("GNS3 project " + p.name + " is " + p.status);
            co_return seen;
        }
        for (const auto& n : co_await g.nodes(p.project_id))
            if (graded(n) && n.status != "started")
                seen.problems.push_back("node " + n.name + " is " + n.status);
    } catch (const core::Error& e) {
        seen.problems.push_back("GNS3 server at " + ip + ":" + std::to_string(options.gns3_port) + ": " +
                                e.what());
        co_return seen;
    }
    if (seen.problems.empty()) seen.state = lab::EnvState::running;
    co_return seen;
}

ProxmoxProvider::ProxmoxProvider(asio::any_io_executor executor, ProxmoxOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}

ProxmoxProvider::~ProxmoxProvider() = default;

void ProxmoxProvider::check_request(const lab::LabRequest& request) const {
    check_gns3_exercise(impl_->options.projects_dir, request);
}

asio::awaitable<void> ProxmoxProvider::ensure_template(const lab::LabRequest& request) {
    auto impl = impl_;
    auto zip = request_project(impl->options.projects_dir, request);
    if (zip.empty())
        throw core::internal("the uploaded GNS3 project's bytes were not loaded for " + request.env);
    auto name = template_name(request, zip);
    impl->env_template[request.env] = name;
    // One build per template in this process: the others wait for it (claimed before any co_await).
    while (impl->building.count(name)) co_await sleep_for(impl->options.poll_interval);
    impl->building.insert(name);
    std::exception_ptr failure;
    try {
        co_await impl->ensure_built(name, std::move(zip), progress(request.env));
    } catch (...) {
        failure = std::current_exception();
    }
    impl->building.erase(name);
    if (failure) std::rethrow_exception(failure);
}

asio::awaitable<void> ProxmoxProvider::create(const lab::LabRequest& request) {
    auto impl = impl_;
    // The template ensure_template chose (no second read of the project), or the uploaded project's.
    auto it = impl->env_template.find(request.env);
    auto name = it != impl->env_template.end() ? it->second : template_for(request);
    const std::vector<std::string> mine{request.env};
    co_await impl->claim(mine);  // after a batch cloning it (class provisioning)
    std::exception_ptr failure;
    try {
        if (!co_await impl->find_vm(request.env)) {  // idempotent
            co_await copy_template(name, mine);      // local storage: the template on the VM's node
            co_await impl->clone(request.env, name);
        }
    } catch (...) {
        failure = std::current_exception();
    }
    impl->release(mine);
    if (failure) std::rethrow_exception(failure);
    co_await grant_owner(request);  // an existing VM is granted too
}

asio::awaitable<void> ProxmoxProvider::grant_owner(const lab::LabRequest& request) {
    auto impl = impl_;
    if (auto student = proxmox_student(request.owner); !student.empty()) {
        auto vm = co_await impl->require_vm(request.env);
        std::vector<std::string> students{student};
        co_await impl->grant_or_remove(request.env, vm, students);
    }
}

asio::awaitable<void> ProxmoxProvider::start(const std::string& env) {
    auto impl = impl_;
    const std::vector<std::string> mine{env};
    co_await impl->claim(mine);  // a batch of this process may be cloning it: wait for its clone
    impl->release(mine);
    auto vm = co_await impl->require_vm(env);
    if (vm.status != "running") co_await impl->power_on(vm);
    auto deadline = Clock::now() + impl->options.boot_timeout;
    auto ip = co_await impl->wait_ip(vm, deadline);
    auto g = impl->gns3_at(ip);
    co_await impl->wait_gns3(g, deadline);
    auto p = co_await impl->lab_project(g);
    if (p.status != "opened") co_await g.open_project(p.project_id);
    co_await g.start_nodes(p.project_id);
    co_await impl->wait_consoles(g, p.project_id, Clock::now() + impl->options.nodes_timeout);
    log::info("labpve.started", {{"env", env}, {"vmid", vm.vmid}, {"address", ip}});
}

asio::awaitable<void> ProxmoxProvider::stop(const std::string& env) {
    auto impl = impl_;
    auto vm = co_await impl->find_vm(env);
    if (!vm) co_return;
    co_await impl->power_off(*vm);
}

asio::awaitable<void> ProxmoxProvider::reset(const std::string& env) {
    auto impl = impl_;
    auto vm = co_await impl->require_vm(env);
    auto tpl = co_await impl->template_of(vm);
    auto students = co_await impl->access.holders(vm.vmid);  // revoked by destroy, granted again below
    co_await destroy(env);
    const std::vector<std::string> mine{env};
    co_await copy_template(tpl, mine);
    co_await impl->clone(env, tpl);
    if (!students.empty()) co_await impl->grant_or_remove(env, co_await impl->require_vm(env), students);
    co_await start(env);
}

asio::awaitable<void> ProxmoxProvider::destroy(const std::string& env) {
    auto impl = impl_;
    auto rows = co_await impl->client.cluster_resources("vm");
    pve::DeleteBatch d;
    for (const auto& r : rows)
        if (r.type == "qemu" && r.name == env && !r.is_template) {
            if (r.status == "running")
                co_await impl->wait_task(co_await impl->client.stop(pve::GuestKind::qemu, r.node, r.vmid));
            d.vmids.push_back(r.vmid);
        }
    if (d.vmids.empty()) co_return;  // absent is success
    auto orphans = co_await impl->remove_vms(env, std::move(d.vmids));
    progress(env).fact("orphaned_volumes_cleaned", static_cast<std::int64_t>(orphans));
    ++impl->stats.destroys;
    impl->env_template.erase(env);
    log::info("labpve.destroyed", {{"env", env}, {"orphans_cleaned", orphans}});
}

asio::awaitable<lab::Observed> ProxmoxProvider::observe(const std::string& env) {
    auto impl = impl_;
    lab::Observed seen;
    std::optional<pve::Resource> vm;
    try {
        vm = co_await impl->find_vm(env);
    } catch (const core::Error& e) {
        // Unreachable, refused credentials, another certificate: nothing is known, nothing is touched.
        seen.state = lab::EnvState::degraded;
        seen.problems.push_back(std::string("Proxmox: ") + e.what());
        co_return seen;
    }
    if (!vm) co_return seen;  // absent
    if (!vm->lock.empty()) {
        seen.state = lab::EnvState::creating;
        co_return seen;
    }
    if (vm->status != "running") {
        seen.state = lab::EnvState::stopped;
        co_return seen;
    }
    co_return co_await impl->observe_lab(*vm);
}

asio::awaitable<lab::Inventory> ProxmoxProvider::inventory(const std::string& env) {
    auto impl = impl_;
    auto vm = co_await impl->require_vm(env);
    // A running VM's agent answers; a reply lost on the way (a proxy's 596, a dropped connection) past the
    // client's own retries is given a few more seconds before the inventory fails.
    auto ip = co_await impl->wait_ip(vm, Clock::now() + std::chrono::seconds(3));
    auto g = impl->gns3_at(ip);
    auto p = co_await impl->lab_project(g);
    lab::Inventory out;
    for (const auto& n : co_await g.nodes(p.project_id)) {
        if (!graded(n)) continue;
        lab::DeviceAccess d;
        d.node = n.name;
        d.kind = n.node_type;
        d.platform = default_platform(n.node_type);  // the spec's device of the same name wins when grading
        d.transport = "telnet";
        d.host = gns3::console_address(n, g.host());
        d.port = static_cast<std::uint16_t>(*n.console);
        out.push_back(std::move(d));
    }
    co_return out;
}

asio::awaitable<std::unique_ptr<lab::ConsoleStream>> ProxmoxProvider::console(const std::string& env,
                                                                              const std::string& node) {
    auto impl = impl_;
    for (const auto& d : co_await inventory(env))
        if (d.node == node) {
            auto raw = co_await lab::open_tcp_console(impl->executor, d.host, d.port);
            co_return lab::telnet_console(impl->executor, std::move(raw));
        }
    throw core::not_found("environment " + env + " has no node '" + node + "'");
}

asio::awaitable<std::vector<std::string>> ProxmoxProvider::recover() {
    // Nothing lives on this host: Proxmox keeps the VMs, and every job re-observes before it acts.
    co_return std::vector<std::string>{};
}

ProxmoxStats ProxmoxProvider::stats() const {
    auto s = impl_->stats;
    const auto& c = impl_->copies.stats();
    s.template_copies = c.made;
    s.template_copies_resumed = c.resumed;
    s.template_copies_failed = c.failed;
    return s;
}

std::vector<lab::ProviderCounter> ProxmoxProvider::counters() const {
    const auto s = stats();
    return {
        {"templates_built", "Template VMs built.", s.templates_built},
        {"clones", "Environment VMs cloned.", s.clones},
        {"destroys", "Environment VMs destroyed by a verified delete.", s.destroys},
        {"orphaned_volumes_cleaned", "Volumes a verified delete found left behind and removed.",
         s.orphans_cleaned},
        {"student_grants", "Student roles granted on their VMs.", s.acl_grants},
        {"student_revokes", "Student roles revoked from their VMs.", s.acl_revokes},
        {"template_copies", "Copies of a template made on other nodes (local storage).", s.template_copies},
        {"template_copies_resumed", "Half-made template copies (a crash) found and finished.",
         s.template_copies_resumed},
        {"template_copies_failed", "Template copies that failed (their node got no VMs).",
         s.template_copies_failed}};
}

// Hooks for batch.cpp (class-scale provisioning and start waves).
const ProxmoxOptions& ProxmoxProvider::options() const {
    return impl_->options;
}
pve::Client& ProxmoxProvider::client() {
    return impl_->client;
}
TemplateCopies& ProxmoxProvider::template_copies() {
    return impl_->copies;
}
asio::awaitable<void> ProxmoxProvider::claim(const std::vector<std::string>& envs) {
    co_await impl_->claim(envs);
}
void ProxmoxProvider::release(const std::vector<std::string>& envs) {
    impl_->release(envs);
}
std::string ProxmoxProvider::template_for(const lab::LabRequest& request) const {
    if (!request.gns3_project_sha256.empty()) return template_name(request, {});
    return template_name(request, project_bytes(impl_->options.projects_dir, request.gns3_project));
}

}  // namespace np::labpve
