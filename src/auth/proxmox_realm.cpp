#include "auth/proxmox_realm.hpp"

#include <yaml-cpp/yaml.h>

#include <boost/asio/this_coro.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "pve/client.hpp"
#include "store/states.hpp"

namespace np::auth {

namespace {

namespace asio = boost::asio;

class ProxmoxRealm final : public Realm {
 public:
    ProxmoxRealm(std::string name, std::string role, std::string pve_realm, pve::ClientOptions options)
        : name_(std::move(name)),
          role_(std::move(role)),
          pve_realm_(std::move(pve_realm)),
          options_(std::move(options)) {}

    const std::string& name() const override { return name_; }
    std::string_view kind() const override { return "proxmox"; }

    asio::awaitable<std::optional<Identity>> authenticate(std::string username,
                                                          std::string password) override {
        // "alice" or "alice@teachers"; another Proxmox realm's user is not ours.
        auto at = username.rfind('@');
        if (at != std::string::npos) {
            if (username.substr(at + 1) != pve_realm_) co_return std::nullopt;
            username.resize(at);
        }
        if (username.empty() || password.empty()) co_return std::nullopt;
        if (!client_) client_ = std::make_unique<pve::Client>(co_await asio::this_coro::executor, options_);
        bool accepted = false;
        try {
            accepted = co_await client_->check_login(username + "@" + pve_realm_, password);
        } catch (const core::Error& e) {
            log::warn("auth.proxmox_unreachable", {{"realm", name_}, {"error", e.what()}});
            if (e.code() == core::Code::upstream && !e.retryable())
                throw core::upstream("Proxmox (realm '" + name_ + "') answered the login badly: " + e.what());
            throw core::unavailable("Proxmox (realm '" + name_ +
                                    "') cannot be reached to check the login; try again later");
        }
        if (!accepted) co_return std::nullopt;
        co_return Identity{username, name_, role_, ""};
    }

 private:
    std::string name_, role_, pve_realm_;
    pve::ClientOptions options_;
    std::unique_ptr<pve::Client> client_;
};

std::string entry_string(const YAML::Node& entry, const char* key, const core::Config& config,
                         const char* fallback) {
    if (entry[key]) return entry[key].as<std::string>();
    return fallback ? config.get_string(fallback) : std::string{};
}

}  // namespace

std::unique_ptr<Realm> make_proxmox_realm(const YAML::Node& entry, RealmDeps& deps) {
    try {
        auto name = entry_string(entry, "name", deps.config, nullptr);
        if (name.empty()) throw core::invalid("auth.realms: a proxmox realm needs a name");
        auto role = entry_string(entry, "role", deps.config, nullptr);
        if (!store::parse<store::Role>(role))
            throw core::invalid("auth.realms." + name + ".role must be " + store::one_of<store::Role>());
        auto pve_realm = entry_string(entry, "pve_realm", deps.config, nullptr);
        if (pve_realm.empty()) pve_realm = name;
        pve::ClientOptions o;
        o.url = entry_string(entry, "url", deps.config, "pve.url");
        if (o.url.empty())
            throw core::invalid("auth.realms." + name + ": no url (set it here or in pve.url)");
        o.tls.fingerprint = entry_string(entry, "fingerprint", deps.config, "pve.fingerprint");
        o.tls.ca_file = entry_string(entry, "ca_file", deps.config, "pve.ca_file");
        o.tls.insecure =
            entry["insecure"] ? entry["insecure"].as<bool>() : deps.config.get_bool("pve.insecure", false);
        // A login waits for a person: a few quick retries, not the batch workloads' patience.
        o.retry = {std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 3};
        o.request_timeout = std::chrono::milliseconds(10'000);
        net::parse_url(o.url);  // fail at start on a malformed URL
        return std::make_unique<ProxmoxRealm>(name, role, pve_realm, std::move(o));
    } catch (const YAML::Exception& e) {
        throw core::invalid(std::string("auth.realms: bad proxmox realm entry: ") + e.what());
    }
}

RealmUser realm_user(const YAML::Node& list, const std::string& realm, const std::string& username) {
    if (!list || !list.IsSequence()) return {realm == "local" ? "local" : "", username};
    for (const auto& entry : list) {
        if (!entry.IsMap() || !entry["name"] || entry["name"].as<std::string>("") != realm) continue;
        auto kind = entry["kind"] ? entry["kind"].as<std::string>("") : std::string{};
        if (kind != "proxmox") return {kind, username};
        auto pve_realm = entry["pve_realm"] ? entry["pve_realm"].as<std::string>("") : realm;
        return {kind, username + "@" + (pve_realm.empty() ? realm : pve_realm)};
    }
    return {"", username};
}

}  // namespace np::auth
