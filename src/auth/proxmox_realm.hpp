// The `proxmox` login realm: a login is checked by Proxmox itself (POST /access/ticket as
// user@<pve_realm>, typically an LDAP-backed realm there). One netpraxis realm entry names one Proxmox
// realm and the role it grants, e.g.
//   {name: teachers, kind: proxmox, role: teacher, pve_realm: teachers, url: https://pve1:8006, fingerprint:
//   ...}
// url/fingerprint/ca_file/insecure default to the `pve:` config section. Wrong password and unknown user
// both give nullopt (Proxmox answers both with the same 401); an unreachable Proxmox throws
// core::Error(unavailable); a reply of the wrong shape throws core::Error(upstream).
#pragma once

#include <memory>
#include <string>

#include "auth/realm.hpp"

namespace np::auth {

std::unique_ptr<Realm> make_proxmox_realm(const YAML::Node& entry, RealmDeps& deps);

// How a user who logged in through the netpraxis realm `realm` (users.realm) is known to that realm's
// backend, from `realms` (the `auth.realms` list of the configuration): its kind (local | ldap | proxmox; ""
// when `realm` is not configured) and id: the Proxmox userid
// `<username>@<pve_realm>` for a realm of kind proxmox, else the username.
struct RealmUser {
    std::string kind, id;
};
RealmUser realm_user(const YAML::Node& realms, const std::string& realm, const std::string& username);

}  // namespace np::auth
