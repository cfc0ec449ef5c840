// Assembles and runs the netpraxis server (`netpraxis serve`): store, auth, jobs, events, API, HTTP.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/config.hpp"

namespace np::store {
class Store;
}

namespace np::cmd {

struct ServeOptions {
    std::string listen;     // "ADDR:PORT"; overrides server.address/server.port
    std::string store_url;  // overrides store.url
    bool print_banner = true;
};

// Store URL from the config (`store.url`, default sqlite:./var/netpraxis.db).
std::string store_url_from(const core::Config& config, const std::string& override_url);
// Opens the store, creating the folder of a SQLite file, and applies migrations.
std::unique_ptr<store::Store> open_and_migrate(const std::string& url);

// Runs the server until SIGINT/SIGTERM; returns the process exit code. `on_ready(port)` is called once
// listening (tests use it).
int serve(const core::Config& config, const ServeOptions& options,
          const std::function<void(std::uint16_t)>& on_ready = {});

}  // namespace np::cmd
