// auth::Realm: one place a login can be checked (DESIGN.md "Auth"). Realms are configured in order under
// `auth.realms` (teacher realms first, then student realms) and tried in that order by auth::RealmChain;
// the first that accepts decides the role. Kinds: local (argon2id hashes in the store), proxmox
// (Proxmox /access/ticket), ldap (direct bind).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace YAML {
class Node;
}
namespace np::core {
class Config;
class WorkerPool;
}  // namespace np::core
namespace np::store {
class Store;
}

namespace np::auth {

struct Identity {
    std::string username;
    std::string realm;         // the netpraxis realm name that accepted ("local", "teachers", ...)
    std::string role;          // "teacher" | "student"
    std::string display_name;  // may be empty
};

class Realm {
 public:
    virtual ~Realm() = default;
    virtual const std::string& name() const = 0;
    virtual std::string_view kind() const = 0;
    // What the login page shows in its realm picker (`label` of the realm's entry; default its name).
    const std::string& label() const { return label_.empty() ? name() : label_; }
    void set_label(std::string label) { label_ = std::move(label); }
    // The identity when this realm accepts the credentials; nullopt when it does not (unknown user or
    // wrong password: the two are deliberately not told apart). Throws core::Error(unavailable/upstream)
    // when the realm's backend cannot be reached or answers badly, so the caller can say so.
    virtual boost::asio::awaitable<std::optional<Identity>> authenticate(std::string username,
                                                                         std::string password) = 0;

 private:
    std::string label_;
};

// One person listed in a directory group (GroupDirectory::group_members).
struct DirectoryMember {
    std::string username;  // the realm's username attribute (what the login gives back)
    std::string display_name, email;
};

// A realm that can list a group's members (ldap): course rosters are filled from it. Same connection,
// service bind, TLS and timeouts as the realm's logins; the blocking work runs on the worker pool. Throws
// core::Error: not_found naming the group, invalid (not a DN), unavailable/upstream naming the realm.
class GroupDirectory {
 public:
    virtual ~GroupDirectory() = default;
    virtual boost::asio::awaitable<std::vector<DirectoryMember>> group_members(std::string group_dn) = 0;
};

// What a realm factory may use.
struct RealmDeps {
    store::Store& store;
    core::WorkerPool& pool;
    const core::Config& config;
};

// Builds a realm of one kind from its config entry (`{name, kind, role, ...}`); throws core::Error(invalid)
// naming the bad key.
using RealmFactory = std::function<std::unique_ptr<Realm>(const YAML::Node& entry, RealmDeps& deps)>;

// Kinds register themselves once at start-up (local is built in; proxmox and ldap add theirs).
void register_realm_kind(std::string kind, RealmFactory factory);
std::unique_ptr<Realm> make_realm(const YAML::Node& entry, RealmDeps& deps);

}  // namespace np::auth
