// The `ldap` login realm: a login is checked against a directory with libldap (README "LDAP realms"):
//   1. connect to `url` (ldaps://, or ldap:// upgraded with StartTLS), the server's certificate verified
//      against `ca_file` (or the system's trust store) and its host name, always;
//   2. bind as the service account (`bind_dn`; its password from NETPRAXIS_AUTH__LDAP__<NAME>__BIND_PASSWORD,
//      i.e. auth.ldap.<name>.bind_password, or the entry's `bind_password`), or anonymously without one;
//   3. search `base_dn` for the one entry matching `user_filter`, `{username}` replaced by the login name
//      escaped as RFC 4515 says (so `*`, `(`, `)`, `\` and NUL can never widen the search);
//   4. decide the role: member of `teacher_group` → teacher, else of `student_group` → student (groups
//      listing `group_member_attribute`, or the user's own `user_groups_attribute` such as memberOf), else
//      refused; a realm without groups grants its `role` to everyone the filter finds;
//   5. bind as that entry with the password given.
// It is also a GroupDirectory: group_members(dn) reads the group entry at `dn` (its
// `group_member_attribute`: member DNs, or memberUid usernames found through `user_filter`) and each
// member's username, display name and `email_attribute`, with the same service bind, TLS and timeouts.
// Unknown user, wrong password, ambiguous match and "in no group" all give nullopt (the same 401). A
// directory that cannot be reached or times out throws core::Error(unavailable); one that refuses the
// service account or the configured search throws core::Error(upstream); both name the realm. Every
// libldap call runs on the worker pool, bounded by `network_timeout` (connect) and `timeout` (each
// operation).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "auth/realm.hpp"

namespace np::auth {

struct LdapRealmOptions {
    std::string name;
    std::string url;       // one or more URLs, space-separated, tried in order; one scheme for all
    bool starttls = true;  // ldap:// URLs: upgrade with StartTLS (false: passwords cross in clear)
    std::string ca_file;   // PEM CA certificates; empty: the system's trust store (/etc/ldap/ldap.conf)
    std::string bind_dn;   // empty: anonymous search
    std::string bind_password;
    std::string base_dn;
    std::string user_filter = "(uid={username})";
    std::string username_attribute = "uid";  // the username netpraxis keeps (the directory's spelling)
    std::string display_name_attribute = "displayName";
    std::string email_attribute = "mail";  // read when a group fills a course roster
    std::string role;                      // "teacher" | "student" when no group is set
    std::string teacher_group, student_group;
    std::string group_member_attribute = "member";  // member | uniqueMember (DNs) | memberUid (usernames)
    std::string user_groups_attribute;              // e.g. memberOf: read the groups from the user's entry
    std::chrono::milliseconds network_timeout{5000};
    std::chrono::milliseconds timeout{10000};
};

// Throws core::Error(invalid) naming the bad key (auth.realms.<name>.<key>).
std::unique_ptr<Realm> make_ldap_realm(LdapRealmOptions options, core::WorkerPool& pool);
// The factory registered for kind `ldap` (see examples/netpraxis.yaml for the keys).
std::unique_ptr<Realm> make_ldap_realm(const YAML::Node& entry, RealmDeps& deps);

// `value` escaped for an LDAP filter's assertion value (RFC 4515: `*` `(` `)` `\` NUL and bytes >= 0x80
// as \XX), with libldap's own ldap_bv2escaped_filter_value.
std::string ldap_escape_filter_value(std::string_view value);

}  // namespace np::auth
