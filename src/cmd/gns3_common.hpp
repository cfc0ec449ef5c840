// Connection flags of the GNS3 commands (`netpraxis gns3`, `netpraxis grade --gns3`), shared by
// cli_gns3.cpp and cli_grade.cpp (defined in cli_gns3_common.cpp).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cmd/cli.hpp"
#include "gns3/client.hpp"

namespace np::cmd {

struct Gns3Connection {
    std::string url, user;
    bool password_stdin = false;
};

// --url, --user, --password-stdin on `cmd`; `url_flag` names the URL option (grade uses --gns3).
void add_gns3_connection_flags(CLI::App* cmd, Gns3Connection& c, const std::string& url_flag = "--url");
// Flags win over the config's gns3.url / gns3.user; the password comes from stdin only.
gns3::ClientOptions gns3_client_options(const GlobalOptions& global, const Gns3Connection& c);

}  // namespace np::cmd
