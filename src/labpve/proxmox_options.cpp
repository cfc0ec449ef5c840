// ProxmoxOptions::from_config: the `pve:` section as `netpraxis pve` reads it (url, token or user/password,
// fingerprint or ca_file, request_timeout, vmid_range, limits) plus the provider's own keys.
#include "core/error.hpp"
#include "labpve/proxmox_provider.hpp"

namespace np::labpve {

namespace {

std::pair<int, int> vmid_range(const std::string& text) {
    auto dash = text.find('-');
    try {
        if (dash != std::string::npos)
            return {std::stoi(text.substr(0, dash)), std::stoi(text.substr(dash + 1))};
    } catch (const std::exception&) {
    }
    throw core::invalid("pve.vmid_range '" + text + "' must look like LOW-HIGH, e.g. 10000-19999");
}

std::vector<std::string> comma_list(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(',', start);
        if (end == std::string::npos) end = text.size();
        auto item = text.substr(start, end - start);
        if (!item.empty()) out.push_back(item);
        start = end + 1;
    }
    return out;
}

pve::ClientOptions client_options(const core::Config& config) {
    pve::ClientOptions o;
    o.url = config.get_string("pve.url");
    if (o.url.empty()) throw core::invalid("lab provider proxmox: pve.url is not set");
    o.tls.fingerprint = config.get_string("pve.fingerprint");
    o.tls.ca_file = config.get_string("pve.ca_file");
    o.tls.insecure = config.get_bool("pve.insecure", false);
    auto token = config.get_string("pve.token");
    if (!token.empty()) {
        auto eq = token.find('=');
        if (eq == std::string::npos || token.find('!') == std::string::npos)
            throw core::invalid("pve.token must look like USER@REALM!TOKENID=SECRET");
        o.credentials.token_id = token.substr(0, eq);
        o.credentials.token_secret = token.substr(eq + 1);
    } else {
        o.credentials.user = config.get_string("pve.user");
        o.credentials.password = config.get_string("pve.password");
        if (o.credentials.user.empty() || o.credentials.password.empty())
            throw core::invalid("lab provider proxmox: set pve.token, or pve.user and pve.password");
    }
    o.request_timeout = config.get_duration("pve.request_timeout", o.request_timeout);
    o.node_limits.ceiling = static_cast<double>(config.get_int("pve.limits.per_node_max", 24));
    o.node_limits.floor = static_cast<double>(config.get_int("pve.limits.per_node_min", 2));
    o.storage_limits.ceiling = static_cast<double>(config.get_int("pve.limits.per_storage_max", 16));
    o.storage_limits.floor = static_cast<double>(config.get_int("pve.limits.per_storage_min", 1));
    return o;
}

}  // namespace

ProxmoxOptions ProxmoxOptions::from_config(const core::Config& config) {
    ProxmoxOptions o;
    o.client = client_options(config);
    std::tie(o.vmid_low, o.vmid_high) = vmid_range(config.get_string("pve.vmid_range", "10000-99999"));
    o.base_vmid = static_cast<int>(config.get_int("pve.base_vmid", 0));
    if (o.base_vmid <= 0)
        throw core::invalid(
            "lab provider proxmox: pve.base_vmid (the VM templates are built from) is not set");
    o.full_clone = config.get_bool("pve.full_clone", false);
    o.pool = config.get_string("pve.pool");
    o.nodes = comma_list(config.get_string("pve.nodes"));
    // Optional: exercises whose project was uploaded through the API take it from the store; this folder
    // serves those whose gns3_project names a file of the server instead.
    o.projects_dir = config.get_string("pve.projects_dir");
    o.gns3_port = static_cast<std::uint16_t>(config.get_int("pve.gns3.port", 3080));
    o.gns3_user = config.get_string("pve.gns3.user");
    o.gns3_password = config.get_string("pve.gns3.password");
    o.boot_timeout = config.get_duration("pve.boot_timeout", o.boot_timeout);
    o.nodes_timeout = config.get_duration("pve.nodes_timeout", o.nodes_timeout);
    o.task_timeout = config.get_duration("pve.task_timeout", o.task_timeout);
    o.poll_interval = config.get_duration("pve.poll_interval", o.poll_interval);
    o.start_wave = static_cast<int>(config.get_int("pve.start_wave", o.start_wave));
    if (o.start_wave < 1) throw core::invalid("pve.start_wave must be at least 1");
    o.cpu_overcommit = static_cast<double>(config.get_int("pve.cpu_overcommit", 4));
    if (o.cpu_overcommit <= 0) throw core::invalid("pve.cpu_overcommit must be at least 1");
    o.template_copies = config.get_bool("pve.template_copies", o.template_copies);
    return o;
}

}  // namespace np::labpve
