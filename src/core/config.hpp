// Configuration: one YAML file (`--config`), every key documented in examples/netpraxis.yaml, with
// NETPRAXIS_<SECTION>__<KEY> environment overrides (double underscore between levels, e.g.
// NETPRAXIS_AUTH__JWT_SECRET sets auth.jwt_secret). Each component reads its own section.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace np::core {

class Config {
 public:
    Config();  // the embedded defaults: no file, empty tree
    // Loads `path` (throws core::Error naming the file and line on bad YAML), then applies the environment.
    static Config load(const std::string& path);
    static Config from_string(std::string_view yaml);
    // Applies NETPRAXIS_* overrides from `environ` (call after load; tests call it with their own list).
    void apply_env(char** envp);

    // Dotted lookups ("server.port"); a missing key gives the default, a wrongly typed one throws invalid.
    std::string get_string(std::string_view path, std::string_view fallback = {}) const;
    std::int64_t get_int(std::string_view path, std::int64_t fallback) const;
    bool get_bool(std::string_view path, bool fallback) const;
    // Durations accept "30s", "500ms", "2m", "1h" or a bare number of seconds.
    std::chrono::milliseconds get_duration(std::string_view path, std::chrono::milliseconds fallback) const;
    bool has(std::string_view path) const;
    YAML::Node node(std::string_view path) const;  // an undefined node when absent
    void set(std::string_view path, const std::string& value);

    const YAML::Node& root() const { return root_; }
    const std::string& source() const { return source_; }

 private:
    YAML::Node root_;
    std::string source_ = "(defaults)";
};

// "30s" -> 30000ms; throws core::Error(invalid) naming `what` on a malformed value.
std::chrono::milliseconds parse_duration(std::string_view text, std::string_view what);

}  // namespace np::core
