// `netpraxis serve` and `netpraxis user ...`.
#include <unistd.h>

#include <iostream>

#include "cmd/cli.hpp"
#include "cmd/server_main.hpp"
#include "auth/password.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "store/store.hpp"

namespace np::cmd {
namespace {

void setup_serve(CLI::App& root, GlobalOptions& global) {
    auto opts = std::make_shared<ServeOptions>();
    auto* cmd = root.add_subcommand("serve", "Run the netpraxis server (HTTP API, events, jobs)");
    cmd->add_option("--listen", opts->listen,
                    "ADDRESS:PORT to listen on (default from server.address/server.port: 127.0.0.1:8080)");
    cmd->add_option("--store", opts->store_url,
                    "store URL: sqlite:PATH or postgresql://... (default: config store.url, else "
                    "sqlite:./var/netpraxis.db)");
    cmd->callback([opts, &global] {
        auto config = load_config(global);
        int rc = serve(config, *opts);
        if (rc != 0) throw CLI::RuntimeError(rc);
    });
}

void setup_user(CLI::App& root, GlobalOptions& global) {
    auto* user = root.add_subcommand("user", "Manage local users");
    user->require_subcommand(1);

    struct AddOptions {
        std::string username, role, display_name, store_url;
        bool password_stdin = false;
    };
    auto add = std::make_shared<AddOptions>();
    auto* cmd = user->add_subcommand(
        "add", "Create a local user (prints a generated password unless --password-stdin)");
    cmd->add_option("--username", add->username, "login name")->required();
    cmd->add_option("--role", add->role, "teacher or student")
        ->required()
        ->check(CLI::IsMember({"teacher", "student"}));
    cmd->add_option("--display-name", add->display_name, "full name shown in the UI");
    cmd->add_flag("--password-stdin", add->password_stdin,
                  "read the password from standard input (first line)");
    cmd->add_option("--store", add->store_url, "store URL (default from config store.url)");
    cmd->callback([add, &global] {
        auto config = load_config(global);
        auto store = open_and_migrate(store_url_from(config, add->store_url));
        std::string password;
        bool generated = false;
        if (add->password_stdin) {
            std::getline(std::cin, password);
            if (!password.empty() && password.back() == '\r') password.pop_back();
            if (password.size() < 8) throw core::invalid("the password must have at least 8 characters");
        } else {
            password = auth::generate_password();
            generated = true;
        }
        store::User u;
        u.id = core::new_id();
        u.username = add->username;
        u.role = add->role;
        u.realm = "local";
        u.display_name = add->display_name;
        u.password_hash = auth::hash_password(password);
        u.must_change_password = generated;
        u.created_at = core::unix_now();
        store->create_user(u);
        std::cout << "created " << u.role << " '" << u.username << "' (id " << u.id << ")\n";
        if (generated) std::cout << "password: " << password << "\n";
    });

    auto list_store = std::make_shared<std::string>();
    auto* ls = user->add_subcommand("list", "List users");
    ls->add_option("--store", *list_store, "store URL (default from config store.url)");
    ls->callback([list_store, &global] {
        auto config = load_config(global);
        auto store = open_and_migrate(store_url_from(config, *list_store));
        store::Page page;
        page.limit = 500;
        for (;;) {
            auto res = store->list_users({}, page);
            for (const auto& u : res.items)
                std::cout << u.id << "  " << u.role << "  " << u.username << "@" << u.realm
                          << (u.display_name.empty() ? "" : "  (" + u.display_name + ")") << "\n";
            if (res.next.empty()) break;
            page.after = res.next;
        }
    });
}

NP_REGISTER_COMMAND(10, setup_serve);
NP_REGISTER_COMMAND(20, setup_user);

}  // namespace
}  // namespace np::cmd
