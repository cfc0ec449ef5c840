// `netpraxis gns3 ...`: drive any GNS3 server (REST API v2, gns3-server 2.2.x): version, list, import, open,
// close, start, stop, nodes, export, delete. The simulator is `netpraxis gns3-sim` (cli_gns3_sim.cpp).
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cmd/cli.hpp"
#include "cmd/gns3_common.hpp"
#include "core/error.hpp"
#include "gns3/client.hpp"

namespace np::cmd {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

struct Gns3Flags {
    Gns3Connection connection;
    bool json_out = false;
    std::string project, file, name, node, output;
    std::string wait = "120s";
};

// Runs one coroutine on a fresh event loop with a client; rethrows its failure.
template <class Work>
void with_client(const GlobalOptions& global, Gns3Flags& f, Work work) {
    auto options = gns3_client_options(global, f.connection);
    asio::io_context io;
    gns3::Client client(io.get_executor(), options);
    auto done = asio::co_spawn(io, work(client), asio::use_future);
    io.run();
    done.get();
}

std::string console_text(const gns3::Node& n, const gns3::Client& c) {
    if (!n.console) return "-";
    return n.console_type + " " + gns3::console_address(n, c.host()) + ":" + std::to_string(*n.console);
}

void print_nodes(const std::vector<gns3::Node>& nodes, const gns3::Client& c, bool as_json) {
    if (as_json) {
        json::array a;
        for (const auto& n : nodes)
            a.push_back(
                json::object{{"node_id", n.node_id},
                             {"name", n.name},
                             {"node_type", n.node_type},
                             {"status", n.status},
                             {"console_type", n.console_type},
                             {"console_host", gns3::console_address(n, c.host())},
                             {"console", n.console ? json::value(*n.console) : json::value(nullptr)}});
        std::cout << json::serialize(a) << "\n";
        return;
    }
    std::cout << std::left << std::setw(16) << "NAME" << std::setw(10) << "TYPE" << std::setw(10) << "STATUS"
              << "CONSOLE\n";
    for (const auto& n : nodes)
        std::cout << std::setw(16) << n.name << std::setw(10) << n.node_type << std::setw(10) << n.status
                  << console_text(n, c) << "\n";
}

// Polls the project's nodes until each (or `node`) has `status`, at most `wait`.
asio::awaitable<std::vector<gns3::Node>> wait_status(gns3::Client& c, std::string project_id,
                                                     std::string node, std::string status,
                                                     std::chrono::milliseconds wait) {
    auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
        auto nodes = co_await c.nodes(project_id);
        bool all = true;
        for (const auto& n : nodes)
            if ((node.empty() || n.name == node || n.node_id == node) && n.status != status) all = false;
        if (all) co_return nodes;
        if (std::chrono::steady_clock::now() > until)
            throw core::timeout("GNS3: nodes of project " + project_id + " not all " + status + " after " +
                                std::to_string(wait.count() / 1000) + " s");
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(250));
        co_await t.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<std::string> node_id_of(gns3::Client& c, const std::string& project_id,
                                        const std::string& node) {
    for (const auto& n : co_await c.nodes(project_id))
        if (n.name == node || n.node_id == node) co_return n.node_id;
    throw core::not_found("GNS3: project " + project_id + " has no node '" + node +
                          "' (is the project opened? `netpraxis gns3 open`)");
}

void add_project_commands(CLI::App* gns3, const GlobalOptions& global, std::shared_ptr<Gns3Flags> f) {
    auto project_cmd = [&](const char* name, const char* help) {
        auto* cmd = gns3->add_subcommand(name, help);
        cmd->add_option("project", f->project, "Project name or project_id")->required();
        return cmd;
    };
    project_cmd("open", "Open a project (an imported project is closed)")->callback([&global, f] {
        with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
            auto p = co_await c.open_project((co_await c.find_project(f->project)).project_id);
            std::cout << p.project_id << " " << p.name << " " << p.status << "\n";
        });
    });
    project_cmd("close", "Close a project (stops its nodes)")->callback([&global, f] {
        with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
            co_await c.close_project((co_await c.find_project(f->project)).project_id);
        });
    });
    project_cmd("delete", "Delete a project from the server")->callback([&global, f] {
        with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
            co_await c.delete_project((co_await c.find_project(f->project)).project_id);
        });
    });
    auto* start =
        project_cmd("start", "Start every node (or --node), wait until started, print the consoles");
    start->add_option("--node", f->node, "only this node (name or node_id)");
    start->add_option("--wait", f->wait, "how long to wait for the nodes")->capture_default_str();
    start->callback([&global, f] {
        with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
            auto id = (co_await c.find_project(f->project)).project_id;
            if (f->node.empty())
                co_await c.start_nodes(id);
            else
                co_await c.start_node(id, co_await node_id_of(c, id, f->node));
            auto nodes =
                co_await wait_status(c, id, f->node, "started", core::parse_duration(f->wait, "--wait"));
            print_nodes(nodes, c, f->json_out);
        });
    });
    auto* stop = project_cmd("stop", "Stop every node (or --node)");
    stop->add_option("--node", f->node, "only this node (name or node_id)");
    stop->callback([&global, f] {
        with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
            auto id = (co_await c.find_project(f->project)).project_id;
            if (f->node.empty())
                co_await c.stop_nodes(id);
            else
                co_await c.stop_node(id, co_await node_id_of(c, id, f->node));
        });
    });
    project_cmd("nodes", "List the nodes of an opened project: type, status, console host:port")
        ->callback([&global, f] {
            with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
                print_nodes(co_await c.nodes((co_await c.find_project(f->project)).project_id), c,
                            f->json_out);
            });
        });
    auto* exp =
        project_cmd("export", "Export the portable project (.gns3project; its nodes must be stopped)");
    exp->add_option("-o,--output", f->output, "file to write (default: NAME.gns3project)");
    exp->callback([&global, f] {
        with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
            auto p = co_await c.find_project(f->project);
            gns3::ExportOptions options;
            auto zip = co_await c.export_project(p.project_id, options);
            std::string out = f->output.empty() ? p.name + ".gns3project" : f->output;
            std::ofstream file(out, std::ios::binary);
            file << zip;
            if (!file) throw core::internal("cannot write " + out);
            std::cout << out << " (" << zip.size() << " bytes)\n";
        });
    });
}

void setup_gns3(CLI::App& root, GlobalOptions& global) {
    auto f = std::make_shared<Gns3Flags>();
    auto* gns3 = root.add_subcommand(
        "gns3",
        "Drive a GNS3 server (REST API v2, gns3-server 2.2.x): list, import, open, start, stop, nodes, "
        "export\n"
        "  e.g. netpraxis gns3 --url http://gns3vm:3080 import lab.gns3project --name lab1 --open\n"
        "       netpraxis gns3 --url http://gns3vm:3080 start lab1");
    gns3->require_subcommand(1);
    add_gns3_connection_flags(gns3, f->connection);
    gns3->add_flag("--json", f->json_out, "print JSON instead of tables");

    gns3->add_subcommand("version", "Print the server's version")->callback([&global, f] {
        with_client(global, *f, [](gns3::Client& c) -> asio::awaitable<void> {
            auto v = co_await c.version();
            std::cout << v.version << (v.local ? " (local)" : "") << "\n";
        });
    });
    gns3->add_subcommand("list", "List the projects: project_id, status, name")->callback([&global, f] {
        with_client(global, *f, [f](gns3::Client& c) -> asio::awaitable<void> {
            auto projects = co_await c.projects();
            if (f->json_out) {
                json::array a;
                for (const auto& p : projects)
                    a.push_back(
                        json::object{{"project_id", p.project_id}, {"name", p.name}, {"status", p.status}});
                std::cout << json::serialize(a) << "\n";
                co_return;
            }
            for (const auto& p : projects)
                std::cout << p.project_id << "  " << std::setw(7) << std::left << p.status << " " << p.name
                          << "\n";
        });
    });
    auto* imp =
        gns3->add_subcommand("import", "Import a portable project (.gns3project); it is closed afterwards");
    imp->add_option("file", f->file, "The .gns3project file")->required()->check(CLI::ExistingFile);
    imp->add_option("--name", f->name,
                    "Project name (default: the name inside the file; -1, -2... if taken)");
    auto open_after = std::make_shared<bool>(false);
    imp->add_flag("--open", *open_after, "open it after the import");
    imp->callback([&global, f, open_after] {
        std::ifstream in(f->file, std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        with_client(global, *f, [f, open_after, zip = bytes.str()](gns3::Client& c) -> asio::awaitable<void> {
            std::string new_id = gns3::random_uuid();
            auto p = co_await c.import_project(zip, f->name, new_id);
            if (*open_after) p = co_await c.open_project(p.project_id);
            std::cout << p.project_id << " " << p.name << " " << p.status << "\n";
        });
    });
    add_project_commands(gns3, global, f);
}

NP_REGISTER_COMMAND(62, setup_gns3);

}  // namespace
}  // namespace np::cmd
