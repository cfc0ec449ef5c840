// `netpraxis grade --exercise DIR (--lab ENV | --inventory FILE | --gns3 URL --project NAME|ID) [--student
// ID] [--json]`: grades a live lab from the command line (the teacher's authoring loop). Exit 0 when every
// check passed, 3 when some did not, 1 when the exercise or inventory is unusable.
#include <strings.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <iostream>

#include "app/device_targets.hpp"
#include "cmd/cli.hpp"
#include "cmd/gns3_common.hpp"
#include "core/error.hpp"
#include "core/offload.hpp"
#include "eval/engine.hpp"
#include "eval/inventory.hpp"

#if __has_include("lab/local/local_inventory.hpp")
#include "lab/local/local_inventory.hpp"
#define NP_HAVE_LOCAL_LABS 1
#endif

namespace np::cmd {
namespace {

struct GradeOptions {
    std::string exercise_dir, inventory_file, lab, student = "teacher", platforms_dir, state_dir;
    std::string timeout = "30s";
    bool json = false, student_view = false, no_transcript = false;
    Gns3Connection gns3;  // --gns3 URL (with --project): a running GNS3 project's node consoles
    std::string project;
};

// Maps the spec's platforms onto GNS3 nodes of the same name (exact, else ignoring case): each started node
// with a telnet console is a device reached at its console.
boost::asio::awaitable<std::map<std::string, eval::DeviceTarget>> gns3_targets(gns3::Client& client,
                                                                               const eval::Spec& spec,
                                                                               std::string project) {
    auto p = co_await client.find_project(project);
    if (p.status != "opened")
        throw core::conflict("GNS3 project '" + p.name + "' is " + p.status +
                             ": open it and start its nodes first (netpraxis gns3 open / start)");
    std::map<std::string, eval::DeviceTarget> targets;
    for (const auto& node : co_await client.nodes(p.project_id)) {
        const auto* d = spec.device(node.name);
        for (std::size_t i = 0; !d && i < spec.devices.size(); ++i)
            if (strcasecmp(spec.devices[i].name.c_str(), node.name.c_str()) == 0) d = &spec.devices[i];
        if (!d) continue;  // a node the spec does not grade
        if (node.status != "started" || !node.console || node.console_type != "telnet") {
            std::cerr << "netpraxis: warning: GNS3 node '" << node.name << "' is " << node.status
                      << (node.console_type == "telnet" ? "" : " with console type " + node.console_type)
                      << "; the checks of device '" << d->name << "' will be errors\n";
            continue;
        }
        eval::DeviceTarget t;
        t.name = d->name;
        t.platform = d->platform;
        t.transport = "telnet";
        t.host = gns3::console_address(node, client.host());
        t.port = static_cast<std::uint16_t>(*node.console);
        targets[d->name] = std::move(t);
    }
    co_return targets;
}

// Resolves `{transport: exec, lab: ENV, node: r1}` entries through the local-lab runtime's inventory.
void resolve_local_lab(eval::InventoryEntry& entry, const std::string& state_dir) {
    if (entry.lab.empty()) return;
#ifdef NP_HAVE_LOCAL_LABS
    for (const auto& access : lab::read_local_inventory(state_dir, entry.lab)) {
        if (access.node != entry.node) continue;
        app::apply_access(entry.target, access);
        return;
    }
    throw core::not_found("inventory device '" + entry.target.name + "': lab '" + entry.lab +
                          "' has no node '" + entry.node + "'");
#else
    (void)state_dir;
    throw core::invalid("inventory device '" + entry.target.name +
                        "': local labs are not built in; give {transport: exec, netns: NS} instead");
#endif
}

int run_grade(const GradeOptions& o, const GlobalOptions& global) {
    core::Config config = load_config(global);
    eval::PlatformRegistry platforms = o.platforms_dir.empty()
                                           ? eval::PlatformRegistry::builtin()
                                           : eval::PlatformRegistry::with_overrides(o.platforms_dir);
    eval::Spec spec = eval::load_spec(o.exercise_dir);
    std::string state_dir =
        o.state_dir.empty() ? config.get_string("lab.state_dir", "./var/labs") : o.state_dir;
    std::map<std::string, eval::DeviceTarget> targets;
    if (!o.project.empty()) {
        boost::asio::io_context io;
        gns3::Client client(io.get_executor(), gns3_client_options(global, o.gns3));
        auto done = boost::asio::co_spawn(io, gns3_targets(client, spec, o.project), boost::asio::use_future);
        io.run();
        targets = done.get();
    } else if (!o.lab.empty()) {
        // --lab ENV: every device of the spec is the node of that name in the running local lab.
#ifdef NP_HAVE_LOCAL_LABS
        for (const auto& access : lab::read_local_inventory(state_dir, o.lab)) {
            const auto* d = spec.device(access.node);
            if (!d) continue;  // a node the spec does not grade
            eval::DeviceTarget t;
            t.name = access.node;
            t.platform = d->platform.empty() ? access.platform : d->platform;
            t.transport = access.transport;
            t.netns = access.netns;
            t.frr_pathspace = access.frr_pathspace;
            t.host = access.host;
            t.port = access.port;
            targets[access.node] = std::move(t);
        }
#else
        throw core::invalid("--lab: local labs are not built in; give --inventory instead");
#endif
    } else {
        auto inventory = eval::load_inventory(o.inventory_file);
        for (auto& [name, entry] : inventory) {
            resolve_local_lab(entry, state_dir);
            if (entry.target.platform.empty())
                if (const auto* d = spec.device(name)) entry.target.platform = d->platform;
            targets[name] = entry.target;
        }
    }
    for (const auto& d : spec.devices)
        if (!targets.count(d.name))
            std::cerr << "netpraxis: warning: device '" << d.name
                      << (!o.project.empty() ? "' is not a started node of GNS3 project '" + o.project + "'"
                          : o.lab.empty()    ? "' is not in the inventory"
                                             : "' is not a node of lab '" + o.lab + "'")
                      << "; its checks will be errors\n";

    core::WorkerPool pool(2);
    eval::EngineOptions options;
    options.pool = &pool;
    options.command_timeout = core::parse_duration(o.timeout, "--timeout");
    bool tty = isatty(STDERR_FILENO);
    if (tty && !o.json)
        std::cerr << "Grading " << spec.checks.size() << " checks on " << spec.devices.size()
                  << " devices...\n";
    eval::Evaluation result = eval::evaluate_blocking(platforms, options, spec, o.student, targets);
    if (o.json)
        std::cout << eval::report_json(result, o.student_view, !o.no_transcript) << "\n";
    else
        std::cout << eval::report_text(result, o.student_view, isatty(STDOUT_FILENO));
    return result.score >= result.max_score && result.device_errors.empty() ? 0 : kExitPartial;
}

void setup(CLI::App& root, GlobalOptions& global) {
    auto opts = std::make_shared<GradeOptions>();
    auto* grade = root.add_subcommand(
        "grade", "Grade a live lab against an exercise (per check: mark, points, feedback)");
    grade->add_option("--exercise", opts->exercise_dir, "Exercise folder (with exercise.yaml)")
        ->required()
        ->check(CLI::ExistingDirectory);
    auto* inventory =
        grade
            ->add_option(
                "--inventory", opts->inventory_file,
                "Inventory YAML: device -> platform and transport (telnet host:port, ssh, exec netns or "
                "lab+node)")
            ->check(CLI::ExistingFile);
    auto* lab =
        grade->add_option("--lab", opts->lab,
                          "A running local lab (`netpraxis lab up ... --name ENV`): its nodes are the "
                          "devices, by name; no inventory file needed");
    inventory->excludes(lab);
    lab->excludes(inventory);
    add_gns3_connection_flags(grade, opts->gns3, "--gns3");
    auto* project = grade->add_option("--project", opts->project,
                                      "With --gns3 URL: a running GNS3 project (name or project_id); its "
                                      "started nodes' telnet consoles are "
                                      "the devices of the same name (platform from the spec)");
    project->excludes(lab);
    project->excludes(inventory);

    grade->add_option("--student", opts->student, "Student id: selects the per-student variables")
        ->capture_default_str();
    grade->add_flag("--json", opts->json, "Print the JSON report (score, max_score, checks, transcript)");
    grade->add_flag("--student-view", opts->student_view,
                    "Show the report as the student sees it (hidden checks concealed)");
    grade->add_flag("--no-transcript", opts->no_transcript, "Leave the transcript out of the JSON report");
    grade->add_option("--timeout", opts->timeout, "Default deadline per command (e.g. 30s)")
        ->capture_default_str();
    grade
        ->add_option("--platforms", opts->platforms_dir,
                     "Directory of platform YAML files overriding the built-ins")
        ->check(CLI::ExistingDirectory);
    grade->add_option("--state-dir", opts->state_dir, "Local labs' state directory (default: lab.state_dir)");
    grade->callback([opts, &global] {
        if (opts->lab.empty() && opts->inventory_file.empty() && opts->project.empty())
            throw CLI::RequiredError(
                "--lab ENV (a running local lab), --inventory FILE or --gns3 URL --project NAME|ID");
        if (!opts->gns3.url.empty() && opts->project.empty())
            throw CLI::RequiredError("--project NAME|ID (with --gns3)");
        int rc = run_grade(*opts, global);
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

NP_REGISTER_COMMAND(45, setup);

}  // namespace
}  // namespace np::cmd
