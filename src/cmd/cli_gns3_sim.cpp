// `netpraxis gns3-sim`: the GNS3 server simulator (src/gns3sim) served by np::http::Server. Its started
// nodes are real devices of a local lab (needs root, FRR, VPCS); SIGINT/SIGTERM stop them and remove the
// labs.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <iostream>

#include "cmd/cli.hpp"
#include "core/error.hpp"
#include "gns3sim/simulator.hpp"
#include "http/server.hpp"

namespace np::cmd {
namespace {

namespace asio = boost::asio;

struct SimFlags {
    std::uint16_t port = 3080;
    std::string address = "127.0.0.1", user, consoles = "5000-5999", lab_consoles = "6000-6999",
                tunnels = "41000-41999", state_dir, start_delay = "0s", stop_delay = "0s", open_delay = "0s",
                env_prefix = "gs", projects_dir;
    bool password_stdin = false;
};

gns3sim::SimOptions sim_options(const SimFlags& f) {
    gns3sim::SimOptions o;
    o.console_host = f.address;
    std::tie(o.console_port_min, o.console_port_max) = parse_port_range(f.consoles, "--console-ports");
    std::tie(o.runtime.console_port_min, o.runtime.console_port_max) =
        parse_port_range(f.lab_consoles, "--lab-console-ports");
    std::tie(o.runtime.tunnel_port_min, o.runtime.tunnel_port_max) =
        parse_port_range(f.tunnels, "--tunnel-ports");
    o.node_start_delay = core::parse_duration(f.start_delay, "--start-delay");
    o.node_stop_delay = core::parse_duration(f.stop_delay, "--stop-delay");
    o.project_open_delay = core::parse_duration(f.open_delay, "--open-delay");
    o.env_prefix = f.env_prefix;
    o.projects_dir = f.projects_dir;
    if (f.env_prefix.empty() || f.env_prefix.size() > 8 ||
        f.env_prefix.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos)
        throw core::invalid("--env-prefix must be 1-8 lowercase letters or digits");
    o.user = f.user;
    if (f.password_stdin) {
        if (f.user.empty()) throw core::invalid("--password-stdin needs --user");
        std::getline(std::cin, o.password);
        if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
    }
    return o;
}

void run_sim(const SimFlags& f) {
    auto options = sim_options(f);
    namespace fs = std::filesystem;
    bool temporary = f.state_dir.empty();
    if (temporary) {
        std::string tmpl = (fs::temp_directory_path() / "np-gns3sim-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw core::internal("cannot create a temporary state directory");
        options.runtime.state_dir = tmpl;
    } else {
        options.runtime.state_dir = f.state_dir;
    }
    asio::io_context io;
    gns3sim::Simulator sim(io.get_executor(), options);
    http::ServerOptions so;
    so.address = f.address;
    so.port = f.port;
    so.body_limit = 512u << 20;  // portable projects
    so.read_timeout = std::chrono::minutes(10);
    so.write_timeout = std::chrono::minutes(10);
    so.access_log = false;
    http::Server server(io.get_executor(), so, [&sim](http::Request& r) -> asio::awaitable<http::Response> {
        co_return co_await sim.handle(r);
    });
    auto bound = server.listen();
    server.start();
    std::cout << "gns3-sim listening on http://" << f.address << ":" << bound << " version "
              << options.version << " consoles " << options.console_port_min << "-"
              << options.console_port_max << " state " << options.runtime.state_dir.string() << std::endl;
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) {
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                co_await sim.shutdown();
                co_await server.shutdown();
            },
            [&](std::exception_ptr) { io.stop(); });
    });
    io.run();
    if (temporary) {
        std::error_code ec;
        fs::remove_all(options.runtime.state_dir, ec);
    }
}

void setup(CLI::App& root, GlobalOptions&) {
    auto f = std::make_shared<SimFlags>();
    auto* cmd = root.add_subcommand(
        "gns3-sim",
        "Run the GNS3 server simulator (REST API v2 of gns3-server 2.2.59) for tests and trying netpraxis.\n"
        "  Projects live in memory. Started nodes are real devices (needs root, FRR, VPCS): vpcs nodes run "
        "VPCS,\n"
        "  dynamips/iou/qemu nodes run FRR in a network namespace (interfaces eth<adapter>[_<port>]); each "
        "node's\n"
        "  console port is a telnet console to its device. SIGINT/SIGTERM stop every node and remove the "
        "labs.");
    cmd->add_option("--port", f->port, "TCP port of the API (0: any free port, printed at start)")
        ->capture_default_str();
    cmd->add_option("--address", f->address, "address to listen on (API and consoles)")
        ->capture_default_str();
    cmd->add_option("--user", f->user, "require HTTP Basic auth with this user (password: --password-stdin)");
    cmd->add_flag("--password-stdin", f->password_stdin, "read the password from the first line of stdin");
    cmd->add_option("--console-ports", f->consoles, "node console ports, LOW-HIGH")->capture_default_str();
    cmd->add_option("--lab-console-ports", f->lab_consoles, "VPCS processes' own console ports, LOW-HIGH")
        ->capture_default_str();
    cmd->add_option("--tunnel-ports", f->tunnels, "VPCS UDP tunnel ports, LOW-HIGH")->capture_default_str();
    cmd->add_option("--state-dir", f->state_dir,
                    "local lab state directory (default: a temporary one, removed at exit)");
    cmd->add_option("--projects-dir", f->projects_dir,
                    "keep projects here (<project_id>.gns3project) across restarts, closed after one as on a "
                    "real server (default: in memory only)");
    cmd->add_option("--start-delay", f->start_delay, "added to each node start, e.g. 2s")
        ->capture_default_str();
    cmd->add_option("--stop-delay", f->stop_delay, "added to each node stop")->capture_default_str();
    cmd->add_option("--open-delay", f->open_delay, "added to each project open")->capture_default_str();
    cmd->add_option("--env-prefix", f->env_prefix, "prefix of lab names (namespaces <prefix><8 hex>_<node>)")
        ->capture_default_str();
    cmd->callback([f] { run_sim(*f); });
}

NP_REGISTER_COMMAND(63, setup);

}  // namespace
}  // namespace np::cmd
