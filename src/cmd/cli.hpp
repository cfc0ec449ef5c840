// CLI wiring shared by the `netpraxis` subcommands. Each command lives in its own cli_<name>.cpp and
// registers itself with NP_REGISTER_COMMAND, so components add commands without touching main.cpp.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <utility>

#include "core/config.hpp"

namespace np::cmd {

struct GlobalOptions {
    std::string config_path;  // --config FILE; empty: embedded defaults
    std::string log_level;    // --log-level; empty: config log.level, else info
    std::string log_format;   // --log-format; empty: config log.format, else logfmt
};

using CommandSetup = void (*)(CLI::App& root, GlobalOptions& global);

struct CommandRegistrar {
    // `order` sorts commands in --help (lower first).
    CommandRegistrar(int order, CommandSetup setup);
};

// Loads --config (or the defaults) and applies NETPRAXIS_* environment overrides.
core::Config load_config(const GlobalOptions& global);

// A port range flag's value "LOW-HIGH" (1-65535, LOW <= HIGH); core::invalid naming `flag` otherwise.
std::pair<std::uint16_t, std::uint16_t> parse_port_range(const std::string& text, const char* flag);

// Exit codes shared by commands: 0 ok, 1 failure, 2 usage, 3 partial failure (some items failed).
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPartial = 3;

}  // namespace np::cmd

#define NP_CONCAT_INNER(a, b) a##b
#define NP_CONCAT(a, b) NP_CONCAT_INNER(a, b)
#define NP_REGISTER_COMMAND(order, fn) \
    static const ::np::cmd::CommandRegistrar NP_CONCAT(np_command_registrar_, __LINE__)(order, fn)
