#include "auth/local_realm.hpp"

#include <yaml-cpp/yaml.h>

#include <map>

#include "auth/password.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/offload.hpp"
#include "store/store.hpp"

namespace np::auth {

LocalRealm::LocalRealm(std::string name, store::Store& store, core::WorkerPool& pool)
    : name_(std::move(name)), store_(store), pool_(pool) {}

boost::asio::awaitable<std::optional<Identity>> LocalRealm::authenticate(std::string username,
                                                                         std::string password) {
    co_return co_await pool_.run([&]() -> std::optional<Identity> {
        // Its own users: a second local realm (another name) is another set of accounts, not a copy of
        // `local` (whose users would otherwise come back as new users of this realm).
        auto user = store_.find_user(username, name_);
        if (!user || user->password_hash.empty()) {
            // Spend the same time as a real check so response times do not reveal which usernames exist.
            static const std::string dummy = hash_password("not-a-real-password");
            verify_password(dummy, password);
            return std::nullopt;
        }
        if (!verify_password(user->password_hash, password)) return std::nullopt;
        return Identity{user->username, name_, user->role, user->display_name};
    });
}

namespace {

std::map<std::string, RealmFactory>& factories() {
    static std::map<std::string, RealmFactory> f;
    return f;
}

}  // namespace

void register_realm_kind(std::string kind, RealmFactory factory) {
    factories()[std::move(kind)] = std::move(factory);
}

std::unique_ptr<Realm> make_realm(const YAML::Node& entry, RealmDeps& deps) {
    if (!entry.IsMap()) throw core::invalid("auth.realms entries must be mappings with name and kind");
    auto kind = entry["kind"] ? entry["kind"].as<std::string>() : "";
    auto name = entry["name"] ? entry["name"].as<std::string>() : kind;
    auto label = entry["label"] ? entry["label"].as<std::string>() : "";
    if (label.size() > 80)
        throw core::invalid("auth.realms: realm '" + name + "' has a label over 80 characters");
    std::unique_ptr<Realm> realm;
    if (kind == "local") {
        realm = std::make_unique<LocalRealm>(name.empty() ? "local" : name, deps.store, deps.pool);
    } else {
        auto it = factories().find(kind);
        if (it == factories().end())
            throw core::invalid("auth.realms: realm '" + name + "' has unknown kind '" + kind +
                                "' (known: local, proxmox, ldap)");
        realm = it->second(entry, deps);
    }
    realm->set_label(std::move(label));
    return realm;
}

}  // namespace np::auth
