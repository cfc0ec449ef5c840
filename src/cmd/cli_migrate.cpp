// `netpraxis migrate`: applies the store's embedded schema migrations and prints the schema version.
#include <iostream>
#include <memory>

#include "cmd/cli.hpp"
#include "cmd/server_main.hpp"
#include "core/log.hpp"
#include "store/store.hpp"
#include "store/url.hpp"

namespace np::cmd {
namespace {

std::string json_string(const std::string& text) {
    std::string out = "\"";
    for (char ch : text) {
        if (ch == '"' || ch == '\\') out += '\\';
        if (static_cast<unsigned char>(ch) < 0x20) continue;  // control characters have no place in a URL
        out += ch;
    }
    return out + "\"";
}

struct MigrateOptions {
    std::string store_url;
    bool json = false;
};

int run_migrate(const GlobalOptions& global, const MigrateOptions& options) {
    core::Config config = load_config(global);
    std::string url = store_url_from(config, options.store_url);
    auto store = store::open_store(url);
    const int before = store->schema_version();
    const int applied = store->migrate();
    const int version = store->schema_version();
    if (options.json) {
        std::cout << "{\"store\":" << json_string(store::redacted_url(url)) << ",\"applied\":" << applied
                  << ",\"previous_version\":" << before << ",\"schema_version\":" << version << "}\n";
    } else if (applied == 0) {
        std::cout << "store " << store::redacted_url(url) << " is up to date: schema version " << version
                  << "\n";
    } else {
        std::cout << "store " << store::redacted_url(url) << ": applied " << applied << " migration"
                  << (applied == 1 ? "" : "s") << ", schema version " << before << " -> " << version << "\n";
    }
    return 0;
}

void setup_migrate(CLI::App& root, GlobalOptions& global) {
    auto options = std::make_shared<MigrateOptions>();
    auto* cmd =
        root.add_subcommand("migrate", "Apply the store's schema migrations and print the schema version");
    cmd->footer(
        "The migrations are compiled into netpraxis; `netpraxis serve` applies them at start as well.\n"
        "Running migrate again is harmless: it applies only what is missing.");
    cmd->add_option("--store", options->store_url,
                    "store URL: sqlite:PATH (or a bare path). Default: config key store.url, else " +
                        std::string(store::kDefaultStoreUrl))
        ->envname("NETPRAXIS_STORE__URL");
    cmd->add_flag("--json", options->json, "print the result as one JSON object");
    cmd->callback([&global, options] {
        int rc = run_migrate(global, *options);
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

}  // namespace

NP_REGISTER_COMMAND(20, setup_migrate);

}  // namespace np::cmd
