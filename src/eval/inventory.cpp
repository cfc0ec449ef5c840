#include "eval/inventory.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/yaml.hpp"

namespace np::eval {

std::map<std::string, InventoryEntry> parse_inventory(std::string_view yaml) {
    YAML::Node root;
    try {
        root = core::load_yaml(yaml, "inventory");
    } catch (const YAML::Exception& e) {
        throw core::invalid("inventory: line " + std::to_string(e.mark.line + 1) + ": bad YAML: " + e.msg);
    }
    std::vector<core::FieldError> errors;
    std::map<std::string, InventoryEntry> out;
    const YAML::Node devices = root.IsMap() ? root["devices"] : YAML::Node();
    if (!devices || !devices.IsMap())
        throw core::invalid("inventory: needs a 'devices:' map of name: {platform, transport, ...}");
    for (const auto& kv : devices) {
        InventoryEntry e;
        std::string name = kv.first.Scalar();
        std::string path = "devices." + name;
        e.line = kv.first.Mark().line + 1;
        e.target.name = name;
        const YAML::Node& d = kv.second;
        auto err = [&](const std::string& p, const std::string& m) {
            errors.push_back({p, "line " + std::to_string(e.line) + ": " + m});
        };
        if (!d.IsMap()) {
            err(path, "must be a map {platform, transport, ...}");
            continue;
        }
        auto str = [&](const char* key, std::string& v) {
            if (d[key]) {
                if (d[key].IsScalar())
                    v = d[key].Scalar();
                else
                    err(path + "." + key, "must be text");
            }
        };
        str("platform", e.target.platform);
        str("transport", e.target.transport);
        str("host", e.target.host);
        str("username", e.target.username);
        str("password", e.target.password);
        str("key", e.target.key_file);
        str("key_file", e.target.key_file);
        str("secret", e.target.secret);
        str("host_key_policy", e.target.host_key_policy);
        str("netns", e.target.netns);
        str("frr_pathspace", e.target.frr_pathspace);
        str("lab", e.lab);
        str("node", e.node);
        if (d["port"]) {
            try {
                int port = d["port"].as<int>();
                if (port < 1 || port > 65535) throw YAML::Exception(d["port"].Mark(), "range");
                e.target.port = static_cast<std::uint16_t>(port);
            } catch (const YAML::Exception&) {
                err(path + ".port", "must be a TCP port (1-65535)");
            }
        }
        const std::string& t = e.target.transport;
        if (t.empty())
            err(path + ".transport", "is required (telnet, ssh or exec)");
        else if (t != "telnet" && t != "ssh" && t != "exec")
            err(path + ".transport", "unknown transport '" + t + "'");
        if ((t == "telnet" || t == "ssh") && e.target.host.empty())
            err(path + ".host", "is required for " + t);
        if (t == "telnet" && e.target.port == 0) err(path + ".port", "is required for telnet");
        if (t == "ssh" && e.target.port == 0) e.target.port = 22;
        if (t == "ssh" && e.target.username.empty()) err(path + ".username", "is required for ssh");
        if (t == "exec" && e.target.netns.empty() && e.lab.empty())
            err(path, "exec needs netns (a network namespace) or lab and node (a local lab)");
        if (!e.lab.empty() && e.node.empty()) e.node = name;
        if (e.target.secret.empty()) e.target.secret = e.target.password;
        if (e.target.host_key_policy != "strict" && e.target.host_key_policy != "accept-new" &&
            e.target.host_key_policy != "ignore")
            err(path + ".host_key_policy", "must be strict, accept-new or ignore");
        out[name] = std::move(e);
    }
    if (!errors.empty())
        throw core::invalid("inventory has " + std::to_string(errors.size()) + " error(s)", errors);
    return out;
}

std::map<std::string, InventoryEntry> load_inventory(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw core::not_found("cannot read inventory " + file);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return parse_inventory(ss.str());
    } catch (const core::Error& e) {
        throw core::Error(e.code(), file + ": " + e.what(), false, e.fields());
    }
}

}  // namespace np::eval
