// Connection flags of the GNS3 commands (see gns3_common.hpp). Registers no command.
#include <iostream>

#include "cmd/gns3_common.hpp"
#include "core/error.hpp"

namespace np::cmd {

void add_gns3_connection_flags(CLI::App* cmd, Gns3Connection& c, const std::string& url_flag) {
    cmd->add_option(url_flag, c.url, "GNS3 server URL, e.g. http://gns3vm:3080 (config: gns3.url)");
    cmd->add_option("--user", c.user,
                    "HTTP Basic auth user, when the server has auth = True (config: gns3.user)");
    cmd->add_flag("--password-stdin", c.password_stdin,
                  "read the Basic auth password from the first line of stdin");
}

gns3::ClientOptions gns3_client_options(const GlobalOptions& global, const Gns3Connection& c) {
    auto config = load_config(global);
    gns3::ClientOptions o;
    o.url = !c.url.empty() ? c.url : config.get_string("gns3.url");
    if (o.url.empty())
        throw core::invalid("no GNS3 URL: give --url (grade: --gns3) or set gns3.url in the config");
    o.user = !c.user.empty() ? c.user : config.get_string("gns3.user");
    if (c.password_stdin) {
        if (o.user.empty()) throw core::invalid("--password-stdin needs --user");
        std::getline(std::cin, o.password);
        if (!o.password.empty() && o.password.back() == '\r') o.password.pop_back();
    }
    return o;
}

}  // namespace np::cmd
