// `netpraxis pve template|clone|delete` (the class-scale Proxmox workloads) and `netpraxis pve-sim` (the
// Proxmox VE simulator the tests and benchmarks run against).

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "cmd/cli.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "labpve/project_check.hpp"
#include "labpve/proxmox_provider.hpp"
#include "pve/client.hpp"
#include "pve/workloads.hpp"
#include "pvesim/gns3_guests.hpp"
#include "pvesim/simulator.hpp"

namespace np::cmd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// `pve-sim --gns3-guests`: started VMs run a GNS3 simulator each (src/pvesim/gns3_guests.hpp).
struct Gns3GuestFlags {
    bool enabled = false;
    std::string state_dir, start_delay = "0s";
    int address_octet = 0;
    std::uint16_t lab_port_base = 20000;
    std::string console_ports = "5000-5999";
};

void add_gns3_guest_flags(CLI::App* cmd, Gns3GuestFlags& g) {
    cmd->add_flag("--gns3-guests", g.enabled,
                  "started VMs run a GNS3 server simulator each (real VPCS/FRR devices: needs root), at the "
                  "guest-agent address 127.R.H.L:3080 (H.L: the VMID's low bytes); clones copy the projects");
    cmd->add_option(
        "--gns3-state-dir", g.state_dir,
        "where the VMs' GNS3 projects and device state live (default: a temporary folder, removed "
        "at exit)");
    cmd->add_option(
        "--gns3-address-octet", g.address_octet,
        "R of 127.R.H.L (default: random in 64-250); given, pve-sim first removes what an earlier "
        "one with this octet (modulo 36) left behind (a reaper process removes the guests' devices "
        "when pve-sim ends, even by SIGKILL)");
    cmd->add_option("--gns3-lab-ports", g.lab_port_base,
                    "first of the VPCS console/tunnel ports of the VMs' devices (32 per running VM)")
        ->capture_default_str();
    cmd->add_option(
           "--gns3-console-ports", g.console_ports,
           "the GNS3 node console ports of every VM, on its own address (GNS3's console port range); "
           "on a host shared with local labs, a range their VPCS consoles do not use")
        ->capture_default_str();
    cmd->add_option("--gns3-start-delay", g.start_delay, "added to each GNS3 node start, e.g. 2s")
        ->capture_default_str();
}

std::shared_ptr<pvesim::Gns3Guests> make_gns3_guests(asio::any_io_executor ex, const Gns3GuestFlags& g) {
    if (!g.enabled) return nullptr;
    pvesim::Gns3GuestOptions o;
    o.state_dir = g.state_dir;
    if (o.state_dir.empty()) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "np-pvesim-gns3-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw core::internal("cannot create a temporary GNS3 guests directory");
        o.state_dir = tmpl;
        o.reaper_removes_state_dir = true;
    }
    std::error_code ec;
    o.reaper_binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    o.address_octet = g.address_octet;
    o.lab_port_base = g.lab_port_base;
    std::tie(o.console_port_min, o.console_port_max) =
        parse_port_range(g.console_ports, "--gns3-console-ports");
    o.node_start_delay = core::parse_duration(g.start_delay, "--gns3-start-delay");
    return std::make_shared<pvesim::Gns3Guests>(ex, o);
}

struct PveFlags {
    std::string url, user, token, fingerprint, ca, vmid_range;
    bool password_stdin = false, insecure = false, json_out = false;
};

void add_connection_flags(CLI::App* cmd, PveFlags& f) {
    cmd->add_option("--url", f.url, "Proxmox API URL, e.g. https://pve1:8006 (config: pve.url)");
    cmd->add_option("--user", f.user, "user@realm for ticket login (config: pve.user)");
    cmd->add_flag("--password-stdin", f.password_stdin, "read the password from the first line of stdin");
    cmd->add_option("--token", f.token,
                    "API token USER@REALM!ID=SECRET instead of a password (config: pve.token)");
    cmd->add_option("--fingerprint", f.fingerprint,
                    "pin the server certificate's SHA-256 fingerprint (config: pve.fingerprint)");
    cmd->add_option("--ca", f.ca, "verify the server certificate against this CA file (config: pve.ca_file)");
    cmd->add_flag("--insecure", f.insecure, "do not verify the server certificate at all (logs a warning)");
    cmd->add_option("--vmid-range", f.vmid_range,
                    "VMIDs netpraxis may use, LOW-HIGH (config: pve.vmid_range; default 10000-99999)");
    cmd->add_flag("--json", f.json_out, "print a JSON summary on stdout");
}

std::pair<int, int> parse_range(const std::string& text) {
    auto dash = text.find('-');
    try {
        if (dash != std::string::npos)
            return {std::stoi(text.substr(0, dash)), std::stoi(text.substr(dash + 1))};
    } catch (const std::exception&) {
    }
    throw core::invalid("VMID range '" + text + "' must look like LOW-HIGH, e.g. 10000-19999");
}

// Connection settings: flags win over the `pve:` config section.
pve::ClientOptions client_options(const GlobalOptions& global, PveFlags& f) {
    auto config = load_config(global);
    pve::ClientOptions o;
    o.url = !f.url.empty() ? f.url : config.get_string("pve.url");
    if (o.url.empty()) throw core::invalid("no Proxmox URL: give --url or set pve.url in the config");
    o.tls.fingerprint = !f.fingerprint.empty() ? f.fingerprint : config.get_string("pve.fingerprint");
    o.tls.ca_file = !f.ca.empty() ? f.ca : config.get_string("pve.ca_file");
    o.tls.insecure = f.insecure || config.get_bool("pve.insecure", false);
    std::string token = !f.token.empty() ? f.token : config.get_string("pve.token");
    if (!token.empty()) {
        auto eq = token.find('=');
        if (eq == std::string::npos || token.find('!') == std::string::npos)
            throw core::invalid("--token must look like USER@REALM!TOKENID=SECRET");
        o.credentials.token_id = token.substr(0, eq);
        o.credentials.token_secret = token.substr(eq + 1);
    } else {
        o.credentials.user = !f.user.empty() ? f.user : config.get_string("pve.user");
        if (o.credentials.user.empty()) throw core::invalid("give --user with --password-stdin, or --token");
        if (f.password_stdin) {
            std::getline(std::cin, o.credentials.password);
            if (!o.credentials.password.empty() && o.credentials.password.back() == '\r')
                o.credentials.password.pop_back();
        } else {
            o.credentials.password = config.get_string("pve.password");
        }
        if (o.credentials.password.empty())
            throw core::invalid("no password: pass --password-stdin (or set pve.password, or use --token)");
    }
    o.request_timeout = config.get_duration("pve.request_timeout", o.request_timeout);
    o.node_limits.ceiling = static_cast<double>(config.get_int("pve.limits.per_node_max", 24));
    o.node_limits.floor = static_cast<double>(config.get_int("pve.limits.per_node_min", 2));
    o.storage_limits.ceiling = static_cast<double>(config.get_int("pve.limits.per_storage_max", 16));
    o.storage_limits.floor = static_cast<double>(config.get_int("pve.limits.per_storage_min", 1));
    if (f.vmid_range.empty()) f.vmid_range = config.get_string("pve.vmid_range", "10000-99999");
    return o;
}

// A one-line progress bar on a terminal (stderr); nothing otherwise.
pve::Progress progress_bar(const std::string& label) {
    if (!isatty(STDERR_FILENO)) return {};
    return [label](std::size_t done, std::size_t total, const std::string& item) {
        int width = 30;
        int filled = total ? static_cast<int>(width * done / total) : width;
        std::fprintf(stderr, "\r%s [%s%s] %zu/%zu %-24.24s", label.c_str(),
                     std::string(static_cast<std::size_t>(filled), '#').c_str(),
                     std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), done, total,
                     item.c_str());
        if (done == total) std::fprintf(stderr, "\n");
        std::fflush(stderr);
    };
}

int report(const pve::Summary& s, bool json_out, bool with_template) {
    if (json_out) {
        json::object o{{"ok", s.ok},
                       {"failed", s.failed},
                       {"seconds", s.seconds},
                       {"retries", s.retries},
                       {"orphans_cleaned", s.orphans_cleaned},
                       {"vmid_collisions", s.vmid_collisions},
                       {"api_calls", s.api_calls}};
        json::array v;
        for (int id : s.vmids) v.push_back(id);
        o["vmids"] = v;
        json::array e;
        for (const auto& m : s.errors) e.push_back(json::value(m));
        o["errors"] = e;
        if (with_template) {
            o["vmid"] = s.vmid;
            o["node"] = s.node;
        }
        std::cout << json::serialize(o) << "\n";
    } else {
        std::cout << "ok " << s.ok << ", failed " << s.failed << ", " << s.seconds << " s, retries "
                  << s.retries << ", orphans cleaned " << s.orphans_cleaned << "\n";
        if (with_template && s.vmid) std::cout << "template " << s.vmid << " on " << s.node << "\n";
        for (const auto& m : s.errors) std::cerr << "  " << m << "\n";
    }
    if (s.failed == 0) return 0;
    return s.ok > 0 ? kExitPartial : kExitFailure;
}

template <class Work>
int run_workload(const GlobalOptions& global, PveFlags& f, bool with_template, Work work) {
    auto options = client_options(global, f);
    auto [low, high] = parse_range(f.vmid_range);
    asio::io_context io;
    pve::Client client(io.get_executor(), options);
    auto fut = asio::co_spawn(io, work(client, low, high), asio::use_future);
    io.run();
    return report(fut.get(), f.json_out, with_template);
}

void setup(CLI::App& root, GlobalOptions& global) {
    auto* pve_cmd =
        root.add_subcommand("pve", "Proxmox VE workloads: build templates, batch-clone, batch-delete");
    pve_cmd->require_subcommand(1);

    {
        auto* cmd = pve_cmd->add_subcommand(
            "template",
            "clone a base VM, boot it, wait for its IP, (import a GNS3 project), convert to a template");
        auto f = std::make_shared<PveFlags>();
        auto base = std::make_shared<int>(0);
        auto name = std::make_shared<std::string>();
        auto project = std::make_shared<std::string>();
        cmd->add_option("--base", *base, "VMID of the base VM")->required();
        cmd->add_option("--name", *name, "name of the new template")->required();
        cmd->add_option("--gns3-project", *project,
                        "portable GNS3 project (.gns3project) to import into the VM's GNS3 server (port "
                        "pve.gns3.port, default 3080; auth pve.gns3.user/password) before conversion");
        add_connection_flags(cmd, *f);
        cmd->callback([&global, f, base, name, project] {
            std::string zip;
            if (!project->empty()) {
                std::ifstream in(*project, std::ios::binary);
                if (!in) throw core::invalid("--gns3-project: cannot read " + *project);
                zip.assign(std::istreambuf_iterator<char>(in), {});
                labpve::portable_project_nodes(zip, "--gns3-project");  // refused before any VM is made
            }
            auto config = load_config(global);
            labpve::ProxmoxOptions gns3;  // only its GNS3 keys are used here
            gns3.gns3_port = static_cast<std::uint16_t>(config.get_int("pve.gns3.port", 3080));
            gns3.gns3_user = config.get_string("pve.gns3.user");
            gns3.gns3_password = config.get_string("pve.gns3.password");
            int code = run_workload(
                global, *f, true, [&](pve::Client& c, int low, int high) -> asio::awaitable<pve::Summary> {
                    pve::TemplateBuild b;
                    b.base_vmid = *base;
                    b.name = *name;
                    b.vmid_low = low;
                    b.vmid_high = high;
                    if (!zip.empty())
                        b.import_project = [&](const std::string& ip, int) -> asio::awaitable<void> {
                            auto deadline = std::chrono::steady_clock::now() + b.limits.agent_timeout;
                            co_await labpve::import_lab_project(c.executor(), gns3, ip, zip, deadline);
                        };
                    co_return co_await pve::build_template(c, b, progress_bar("template"));
                });
            if (code) throw CLI::RuntimeError(code);
        });
    }
    {
        auto* cmd = pve_cmd->add_subcommand(
            "clone", "batch-clone a template (linked by default), placed across nodes");
        auto f = std::make_shared<PveFlags>();
        auto b = std::make_shared<pve::CloneBatch>();
        auto full = std::make_shared<bool>(false);
        auto linked = std::make_shared<bool>(false);
        cmd->add_option("--template", b->template_vmid, "VMID of the template")->required();
        cmd->add_option("--count", b->count, "how many clones")->required()->check(CLI::Range(1, 100000));
        cmd->add_option("--prefix", b->prefix, "clone names are PREFIX-001, PREFIX-002, ...")
            ->capture_default_str();
        cmd->add_flag("--linked", *linked, "linked clones (the default: seconds per VM)");
        cmd->add_flag("--full", *full, "full clones (a complete disk copy each)");
        cmd->add_option("--nodes", b->nodes,
                        "comma-separated nodes allowed (default: all that can hold a clone)")
            ->delimiter(',');
        cmd->add_option("--pool", b->pool, "add the clones to this resource pool");
        add_connection_flags(cmd, *f);
        cmd->callback([&global, f, b, full, linked] {
            if (*full && *linked) throw core::invalid("--full and --linked exclude each other");
            b->full = *full;
            int code = run_workload(global, *f, false,
                                    [&](pve::Client& c, int low, int high) -> asio::awaitable<pve::Summary> {
                                        auto batch = *b;
                                        batch.vmid_low = low;
                                        batch.vmid_high = high;
                                        co_return co_await pve::clone_batch(c, batch, progress_bar("clone"));
                                    });
            if (code) throw CLI::RuntimeError(code);
        });
    }
    {
        auto* cmd = pve_cmd->add_subcommand(
            "delete", "batch-delete guests by name prefix or VMID, verified against storage");
        auto f = std::make_shared<PveFlags>();
        auto b = std::make_shared<pve::DeleteBatch>();
        auto* by_prefix = cmd->add_option("--prefix", b->prefix, "delete every guest named PREFIX-*");
        auto* by_ids = cmd->add_option("--vmids", b->vmids, "comma-separated VMIDs")->delimiter(',');
        by_prefix->excludes(by_ids);
        add_connection_flags(cmd, *f);
        cmd->callback([&global, f, b] {
            if (b->prefix.empty() && b->vmids.empty())
                throw core::invalid("give --prefix NAME or --vmids LIST");
            int code = run_workload(global, *f, false,
                                    [&](pve::Client& c, int, int) -> asio::awaitable<pve::Summary> {
                                        co_return co_await pve::delete_batch(c, *b, progress_bar("delete"));
                                    });
            if (code) throw CLI::RuntimeError(code);
        });
    }

    {
        // pve-sim's GNS3 guests' reaper (internal; src/pvesim/guest_reaper.cpp).
        auto* reaper =
            root.add_subcommand("_pve-sim-reaper", "pve-sim's GNS3 guests reaper (internal)")->group("");
        auto fd = std::make_shared<int>(-1);
        auto dir = std::make_shared<std::string>();
        auto remove = std::make_shared<bool>(false);
        reaper->add_option("--watch-fd", *fd)->required();
        reaper->add_option("--gns3-state-dir", *dir)->required();
        reaper->add_flag("--remove-state-dir", *remove);
        reaper->callback([fd, dir, remove] { pvesim::run_gns3_guest_reaper(*fd, *dir, *remove); });
    }
    {
        auto* cmd = root.add_subcommand("pve-sim", "run the Proxmox VE simulator (for tests and benchmarks)");
        auto port = std::make_shared<std::uint16_t>(8006);
        auto address = std::make_shared<std::string>("127.0.0.1");
        auto tls = std::make_shared<bool>(false);
        auto profile = std::make_shared<std::string>("fast");
        auto seed = std::make_shared<std::uint64_t>(1);
        cmd->add_option("--port", *port, "TCP port (0: any free port, printed at start)")
            ->capture_default_str();
        cmd->add_option("--address", *address, "address to listen on")->capture_default_str();
        cmd->add_flag("--tls", *tls,
                      "serve HTTPS with a self-signed certificate (its fingerprint is printed)");
        cmd->add_option("--profile", *profile, "fast, zero, realistic, faulty or a JSON profile file")
            ->capture_default_str();
        cmd->add_option("--seed", *seed, "random seed for latencies and faults")->capture_default_str();
        auto guests = std::make_shared<Gns3GuestFlags>();
        add_gns3_guest_flags(cmd, *guests);
        cmd->callback([port, address, tls, profile, seed, guests] {
            auto p = pvesim::load_profile(*profile);
            asio::io_context io;
            pvesim::Simulator sim(io.get_executor(), p, *seed);
            auto gns3 = make_gns3_guests(io.get_executor(), *guests);
            if (gns3) sim.attach_gns3_guests(gns3);
            pvesim::SimServer server(io.get_executor(), sim, {*address, *port, *tls});
            auto bound = server.start();
            std::cout << "pve-sim listening on " << (*tls ? "https" : "http") << "://" << *address << ":"
                      << bound << " profile=" << p.name << " seed=" << *seed;
            if (*tls) std::cout << " fingerprint=" << server.fingerprint();
            if (gns3) std::cout << " gns3_guests=" << gns3->address_of(100) << ":3080 (VM 100)";
            std::cout << std::endl;
            asio::signal_set signals(io, SIGINT, SIGTERM);
            signals.async_wait([&](const boost::system::error_code&, int) {
                asio::co_spawn(
                    io,
                    [&]() -> asio::awaitable<void> {
                        if (gns3) co_await gns3->shutdown();
                        co_await server.stop();
                    },
                    [&](std::exception_ptr) { io.stop(); });
            });
            io.run();
            if (gns3 && guests->state_dir.empty()) {
                std::error_code ec;
                std::filesystem::remove_all(gns3->state_dir(), ec);
            }
        });
    }
}

NP_REGISTER_COMMAND(60, setup);

}  // namespace
}  // namespace np::cmd
