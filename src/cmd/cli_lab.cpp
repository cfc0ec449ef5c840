// `netpraxis lab up|down|ls|exec|console`: local labs (src/lab/local/runtime.hpp) from the command line, and
// the hidden `lab _bridge` helper the runtime starts detached for VPCS links.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <iostream>

#include "cmd/cli.hpp"
#include "core/error.hpp"
#include "lab/local/process.hpp"
#include "lab/local/runtime.hpp"
#include "lab/local/tap_bridge.hpp"
#include "lab/local/vpcs_client.hpp"

namespace np::cmd {
namespace {

namespace json = boost::json;

struct LabCli {
    std::string state_dir;
    bool json_output = false;
    std::string file;
    std::string env;
    std::string node;
    std::vector<std::string> command;
    lab::BridgeOptions bridge;
};

lab::RuntimeOptions runtime_options(const GlobalOptions& global, const LabCli& cli) {
    auto options = lab::RuntimeOptions::from_config(load_config(global));
    if (!cli.state_dir.empty()) options.state_dir = cli.state_dir;
    return options;
}

std::string access_text(const lab::NodeRecord& n) {
    switch (n.kind) {
        case lab::NodeKind::frr: return "vtysh -N " + n.pathspace + "  (netns " + n.netns + ")";
        case lab::NodeKind::linux: return "ip netns exec " + n.netns + " ...";
        case lab::NodeKind::vpcs: return "telnet 127.0.0.1 " + std::to_string(n.console_port);
    }
    return {};
}

json::object record_json(const lab::LabRecord& r) {
    json::array nodes;
    for (const auto& n : r.nodes) {
        json::object j{{"name", n.name}, {"kind", std::string(lab::kind_name(n.kind))}};
        if (n.kind == lab::NodeKind::vpcs) {
            j["transport"] = "telnet";
            j["host"] = "127.0.0.1";
            j["port"] = n.console_port;
        } else {
            j["transport"] = "exec";
            j["netns"] = n.netns;
            if (!n.pathspace.empty()) j["frr_pathspace"] = n.pathspace;
        }
        nodes.push_back(j);
    }
    return {{"env", r.env},
            {"topology", r.topology_name},
            {"status", r.status},
            {"created_at", r.created_at},
            {"nodes", nodes}};
}

const lab::NodeRecord& find_node(const lab::LabRecord& record, const std::string& node) {
    const auto* n = record.find(node);
    if (!n) {
        std::string names;
        for (const auto& x : record.nodes) names += (names.empty() ? "" : ", ") + x.name;
        throw core::not_found("lab '" + record.env + "' has no node '" + node + "' (nodes: " + names + ")");
    }
    return *n;
}

lab::LabRecord running_record(const lab::LocalRuntime& runtime, const std::string& env) {
    auto record = runtime.read(env);
    if (!record) throw core::not_found("no local lab '" + env + "' (see `netpraxis lab ls`)");
    if (record->status != "running")
        throw core::conflict("lab '" + env + "' is " + record->status + ", not running");
    return *record;
}

[[noreturn]] void exec_or_throw(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::cout.flush();
    lab::cloexec_inherited_fds();  // the program gets stdio only (a failed exec keeps ours for the error)
    execvp(args[0], args.data());
    throw core::internal("cannot run " + argv[0] + ": " + std::strerror(errno));
}

// Interactive telnet-ish relay for VPCS consoles: raw terminal, Ctrl-] leaves (never `quit`, which kills
// VPCS).
int relay_console(std::uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        throw core::unavailable("cannot connect to the VPCS console on 127.0.0.1:" + std::to_string(port));
    std::cerr << "Connected to 127.0.0.1:" << port
              << ". Leave with Ctrl-] (do not type `quit`: it stops VPCS).\r\n";
    termios saved{};
    bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
    if (tty) {
        termios raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
    }
    [[maybe_unused]] auto w =
        ::send(fd, "\r\n", 2, MSG_NOSIGNAL);  // a reconnect shows no prompt until a line
    char buf[4096];
    for (;;) {
        pollfd p[2] = {{0, POLLIN, 0}, {fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) break;
        if (p[0].revents & (POLLIN | POLLHUP)) {
            auto n = read(0, buf, sizeof buf);
            if (n <= 0) break;
            std::string in(buf, static_cast<std::size_t>(n));
            if (in.find('\x1d') != std::string::npos) break;
            for (std::size_t i = 0; i < in.size(); ++i)
                if (in[i] == '\r' && (i + 1 >= in.size() || in[i + 1] != '\n')) in.insert(++i, "\n");
            if (::send(fd, in.data(), in.size(), MSG_NOSIGNAL) <= 0) break;
        }
        if (p[1].revents & (POLLIN | POLLHUP)) {
            auto n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            std::string out = lab::strip_telnet(std::string(buf, static_cast<std::size_t>(n)));
            std::string crlf;
            for (char c : out) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
            [[maybe_unused]] auto x = write(1, crlf.data(), crlf.size());
        }
    }
    if (tty) tcsetattr(0, TCSANOW, &saved);
    close(fd);
    std::cerr << "\nConnection closed.\n";
    return 0;
}

void setup_lab(CLI::App& root, GlobalOptions& global) {
    auto cli = std::make_shared<LabCli>();
    auto* labcmd =
        root.add_subcommand("lab", "Local labs: topologies in network namespaces on this host (root)");
    labcmd->require_subcommand(1);
    labcmd->add_option("--state-dir", cli->state_dir,
                       "Where lab state is recorded (default: lab.state_dir, ./var/labs)");

    auto* up = labcmd->add_subcommand("up", "Start the topology FILE as environment ENV (idempotent)");
    up->add_option("file", cli->file, "topology.yaml (see examples/labs/)")
        ->required()
        ->check(CLI::ExistingFile);
    up->add_option("-n,--name", cli->env,
                   "Environment name (default: the topology's name); prefixes everything");
    up->add_flag("--json", cli->json_output, "Print the lab as JSON");
    up->callback([cli, &global] {
        auto topology = lab::load_topology(cli->file);
        std::string env = cli->env.empty() ? topology.name : cli->env;
        lab::LocalRuntime runtime(runtime_options(global, *cli));
        bool tty = isatty(2);
        auto started = std::chrono::steady_clock::now();
        auto record = runtime.up(topology, env, [&](const std::string& step, int done, int total) {
            if (tty) std::cerr << "\r\033[K[" << done << "/" << total << "] " << step << std::flush;
        });
        if (tty) std::cerr << "\r\033[K";
        auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        if (cli->json_output) {
            auto j = record_json(record);
            j["elapsed_ms"] = ms.count();
            std::cout << json::serialize(j) << "\n";
            return;
        }
        std::cout << "lab " << env << " (" << topology.name << ") is up in " << ms.count() << " ms\n";
        for (const auto& n : record.nodes)
            std::cout << "  " << n.name << "\t" << lab::kind_name(n.kind) << "\t" << access_text(n) << "\n";
    });

    auto* down = labcmd->add_subcommand("down", "Remove every namespace, process and file of ENV");
    down->add_option("env", cli->env, "Environment name")->required();
    down->callback([cli, &global] {
        lab::LocalRuntime runtime(runtime_options(global, *cli));
        auto started = std::chrono::steady_clock::now();
        runtime.down(cli->env);
        auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        std::cout << "lab " << cli->env << " is down (" << ms.count() << " ms)\n";
    });

    auto* ls = labcmd->add_subcommand("ls", "List the local labs of this host");
    ls->add_flag("--json", cli->json_output, "Print JSON");
    ls->callback([cli, &global] {
        lab::LocalRuntime runtime(runtime_options(global, *cli));
        auto labs = runtime.list();
        if (cli->json_output) {
            json::array out;
            for (const auto& r : labs) {
                auto j = record_json(r);
                auto obs = runtime.observe(r.env);
                j["health"] = std::string(lab::env_state_name(obs.state));
                json::array problems;
                for (const auto& p : obs.problems) problems.push_back(json::string(p));
                j["problems"] = problems;
                out.push_back(j);
            }
            std::cout << json::serialize(out) << "\n";
            return;
        }
        if (labs.empty()) {
            std::cout << "no local labs\n";
            return;
        }
        std::printf("%-24s %-24s %-10s %5s\n", "ENV", "TOPOLOGY", "HEALTH", "NODES");
        for (const auto& r : labs) {
            auto obs = runtime.observe(r.env);
            std::printf("%-24s %-24s %-10s %5zu\n", r.env.c_str(), r.topology_name.c_str(),
                        std::string(lab::env_state_name(obs.state)).c_str(), r.nodes.size());
            for (const auto& p : obs.problems) std::printf("    %s\n", p.c_str());
        }
    });

    auto* exec = labcmd->add_subcommand(
        "exec", "Run CMD on NODE of ENV (shell command; vtysh for frr gets -N; VPCS command for vpcs)");
    exec->add_option("env", cli->env, "Environment name")->required();
    exec->add_option("node", cli->node, "Node name")->required();
    exec->add_option("command", cli->command, "Command and arguments, after --")->required();
    exec->footer(
        "Examples:\n  netpraxis lab exec ospf r1 -- vtysh -c 'show ip route'\n"
        "  netpraxis lab exec ospf h1 -- ping -c 3 192.168.2.10\n  netpraxis lab exec ospf pc1 -- ip "
        "10.0.0.1/24 10.0.0.254");
    exec->callback([cli, &global] {
        lab::LocalRuntime runtime(runtime_options(global, *cli));
        auto record = running_record(runtime, cli->env);
        const auto& n = find_node(record, cli->node);
        if (n.kind == lab::NodeKind::vpcs) {
            std::string line;
            for (const auto& c : cli->command) line += (line.empty() ? "" : " ") + c;
            std::cout << lab::vpcs_command(n.console_port, line, std::chrono::seconds(60));
            return;
        }
        std::vector<std::string> argv;
        if (n.kind == lab::NodeKind::frr && cli->command[0] == "vtysh") {
            // vtysh reaches the node's daemons through its pathspace; no need to enter the namespace.
            argv = {"vtysh", "-N", n.pathspace};
            argv.insert(argv.end(), cli->command.begin() + 1, cli->command.end());
        } else {
            argv = {"ip", "netns", "exec", n.netns};
            argv.insert(argv.end(), cli->command.begin(), cli->command.end());
        }
        exec_or_throw(argv);
    });

    auto* console =
        labcmd->add_subcommand("console", "Interactive console of NODE (shell, vtysh, or VPCS telnet)");
    console->add_option("env", cli->env, "Environment name")->required();
    console->add_option("node", cli->node, "Node name")->required();
    console->callback([cli, &global] {
        lab::LocalRuntime runtime(runtime_options(global, *cli));
        auto record = running_record(runtime, cli->env);
        const auto& n = find_node(record, cli->node);
        if (n.kind == lab::NodeKind::vpcs) std::exit(relay_console(n.console_port));
        if (n.kind == lab::NodeKind::frr) exec_or_throw({"vtysh", "-N", n.pathspace});
        const char* shell = std::getenv("SHELL");
        exec_or_throw({"ip", "netns", "exec", n.netns, shell && *shell ? shell : "/bin/sh"});
    });

    // Hidden (empty group): started by the runtime, detached, for each link to a VPCS node.
    auto* bridge = labcmd->add_subcommand("_bridge", "TAP-to-UDP bridge helper (internal)")->group("");
    bridge->add_option("--netns", cli->bridge.netns)->required();
    bridge->add_option("--ifname", cli->bridge.ifname)->required();
    bridge->add_option("--listen", cli->bridge.listen_port)->required();
    bridge->add_option("--peer", cli->bridge.peer_port)->required();
    bridge->add_option("--ready-fd", cli->bridge.ready_fd);
    bridge->callback([cli] { std::exit(lab::run_tap_bridge(cli->bridge)); });
}

}  // namespace

NP_REGISTER_COMMAND(40, setup_lab);

}  // namespace np::cmd
