// netpraxis: one binary, subcommands registered by src/app/cli_*.cpp (see cli.hpp).
#include <algorithm>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cmd/cli.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/sigpipe.hpp"

extern char** environ;

namespace np::cmd {
namespace {

std::vector<std::pair<int, CommandSetup>>& registry() {
    static std::vector<std::pair<int, CommandSetup>> r;
    return r;
}

}  // namespace

CommandRegistrar::CommandRegistrar(int order, CommandSetup setup) {
    registry().emplace_back(order, setup);
}

std::pair<std::uint16_t, std::uint16_t> parse_port_range(const std::string& text, const char* flag) {
    auto dash = text.find('-');
    try {
        if (dash != std::string::npos) {
            int lo = std::stoi(text.substr(0, dash)), hi = std::stoi(text.substr(dash + 1));
            if (lo > 0 && hi <= 65535 && lo <= hi)
                return {static_cast<std::uint16_t>(lo), static_cast<std::uint16_t>(hi)};
        }
    } catch (const std::exception&) {
    }
    throw core::invalid(std::string(flag) + " '" + text + "' must look like LOW-HIGH, e.g. 5000-5999");
}

core::Config load_config(const GlobalOptions& global) {
    core::Config config =
        global.config_path.empty() ? core::Config{} : core::Config::load(global.config_path);
    config.apply_env(environ);
    // Command-line flags win over the config file.
    log::setup(global.log_level.empty() ? config.get_string("log.level", "info") : global.log_level,
               global.log_format.empty() ? config.get_string("log.format", "logfmt") : global.log_format);
    return config;
}

}  // namespace np::cmd

int main(int argc, char** argv) {
    using namespace np;
    core::ignore_sigpipe();  // a peer closing a socket is an error to handle, never the end of the server
    CLI::App root{"netpraxis: practical evaluations for network-administration courses"};
    root.set_version_flag("--version", "netpraxis 0.1.0");
    root.require_subcommand(1);
    cmd::GlobalOptions global;
    root.add_option("-c,--config", global.config_path,
                    "YAML configuration file (see examples/netpraxis.yaml)")
        ->envname("NETPRAXIS_CONFIG")
        ->check(CLI::ExistingFile);
    root.add_option("--log-level", global.log_level, "debug, info, warn or error")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
    root.add_option("--log-format", global.log_format, "logfmt or json")
        ->check(CLI::IsMember({"logfmt", "json"}));
    root.parse_complete_callback([&] {
        log::setup(global.log_level.empty() ? "info" : global.log_level,
                   global.log_format.empty() ? "logfmt" : global.log_format);
    });

    auto& commands = cmd::registry();
    std::stable_sort(commands.begin(), commands.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (auto& [order, setup] : commands) setup(root, global);

    try {
        root.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return root.exit(e);
    } catch (const core::Error& e) {
        std::cerr << "netpraxis: " << e.what() << "\n";
        for (const auto& f : e.fields()) std::cerr << "  " << f.path << ": " << f.message << "\n";
        return core::http_status(e.code()) < 500 ? cmd::kExitUsage : cmd::kExitFailure;
    } catch (const std::exception& e) {
        std::cerr << "netpraxis: " << e.what() << "\n";
        return cmd::kExitFailure;
    }
    return 0;
}
