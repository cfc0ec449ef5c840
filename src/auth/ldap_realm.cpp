// The `ldap` realm's checks (ldap_realm.hpp); its configuration entry is read in ldap_realm_config.cpp.
#include "auth/ldap_realm.hpp"

#include <ldap.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <cctype>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "core/sigpipe.hpp"
#include "store/states.hpp"

namespace np::auth {

std::string ldap_escape_filter_value(std::string_view value) {
    berval in{static_cast<ber_len_t>(value.size()), const_cast<char*>(value.data())};
    berval out{0, nullptr};
    if (ldap_bv2escaped_filter_value(&in, &out) != 0)
        throw core::internal("cannot escape an LDAP filter value");
    std::string escaped = out.bv_val ? std::string(out.bv_val, out.bv_len) : std::string{};
    ber_memfree(out.bv_val);
    return escaped;
}

namespace {

namespace asio = boost::asio;

timeval to_timeval(std::chrono::milliseconds d) {
    return {static_cast<time_t>(d.count() / 1000), static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

// Codes that mean "the directory cannot be reached (now)", as opposed to "it refused what we asked".
bool unreachable(int rc) {
    return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
           rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

// A DN in one spelling for comparisons: RFC 4514 normal form, ASCII lowercased.
std::string normalize_dn(const std::string& dn) {
    char* out = nullptr;
    if (ldap_dn_normalize(dn.c_str(), LDAP_DN_FORMAT_LDAPV3, &out, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
        return lower(dn);
    std::string n = out ? out : "";
    ldap_memfree(out);
    return lower(n);
}

struct MessageFree {
    void operator()(LDAPMessage* m) const { ldap_msgfree(m); }
};
using Message = std::unique_ptr<LDAPMessage, MessageFree>;

struct UserEntry {
    std::string dn;
    std::string username;  // the directory's spelling
    std::string display_name, email;
    std::vector<std::string> groups;  // values of user_groups_attribute
};

// libldap bounds the TCP connect (network timeout) and each operation (timeout), but not the TLS handshake
// of ldaps:// on a server that accepts and then stays silent. This watch ends it: a timer on the event loop
// shuts the socket down once connect, TLS and the first operation have taken longer than both timeouts
// together. The socket is known from libldap's connect callback and forgotten (under the lock) before the
// connection closes it, so a descriptor number reused elsewhere is never touched.
struct ConnectWatch {
    std::mutex m;
    int fd = -1;
    bool armed = true, expired = false;
    void attach(int s) {
        std::lock_guard lock(m);
        if (!armed) return;
        fd = s;
        if (expired) ::shutdown(fd, SHUT_RDWR);
    }
    void expire() {
        std::lock_guard lock(m);
        expired = true;
        if (armed && fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }
    void disarm() {
        std::lock_guard lock(m);
        armed = false;
        fd = -1;
    }
};

int on_connect(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb* ctx) {
    ber_socket_t fd = -1;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) == 1 && fd >= 0)
        static_cast<ConnectWatch*>(ctx->lc_arg)->attach(fd);
    return 0;
}
void on_disconnect(LDAP*, Sockbuf*, ldap_conncb* ctx) {
    static_cast<ConnectWatch*>(ctx->lc_arg)->disarm();
}

struct LdapUnbind {
    void operator()(LDAP* ld) const { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
struct Disarm {
    ConnectWatch& watch;
    ~Disarm() { watch.disarm(); }
};

// One connection to the directory, unbound when it goes out of scope. Every failure throws core::Error
// naming the realm and the step; the directory's own words go to the log only.
class Connection {
 public:
    Connection(const LdapRealmOptions& o, ConnectWatch& watch) : o_(o), watch_(watch) {
        LDAP* ld = nullptr;
        if (int rc = ldap_initialize(&ld, o.url.c_str()); rc != LDAP_SUCCESS) fail("initialize", rc);
        ld_.reset(ld);
        callbacks_.lc_add = on_connect;
        callbacks_.lc_del = on_disconnect;
        callbacks_.lc_arg = &watch;
        const int version = LDAP_VERSION3;
        const timeval network = to_timeval(o.network_timeout), op = to_timeval(o.timeout);
        const int demand = LDAP_OPT_X_TLS_DEMAND, client = 0;
        bool ok = ldap_set_option(ld_.get(), LDAP_OPT_PROTOCOL_VERSION, &version) == LDAP_OPT_SUCCESS &&
                  ldap_set_option(ld_.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF) == LDAP_OPT_SUCCESS &&
                  ldap_set_option(ld_.get(), LDAP_OPT_RESTART, LDAP_OPT_ON) == LDAP_OPT_SUCCESS &&
                  ldap_set_option(ld_.get(), LDAP_OPT_NETWORK_TIMEOUT, &network) == LDAP_OPT_SUCCESS &&
                  ldap_set_option(ld_.get(), LDAP_OPT_TIMEOUT, &op) == LDAP_OPT_SUCCESS &&
                  ldap_set_option(ld_.get(), LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) == LDAP_OPT_SUCCESS &&
                  (o.ca_file.empty() || ldap_set_option(ld_.get(), LDAP_OPT_X_TLS_CACERTFILE,
                                                        o.ca_file.c_str()) == LDAP_OPT_SUCCESS);
        ok = ok && ldap_set_option(ld_.get(), LDAP_OPT_CONNECT_CB, &callbacks_) == LDAP_OPT_SUCCESS;
        // A TLS context of this connection's own, built from the options above (never the process-wide one).
        if (!ok || ldap_set_option(ld_.get(), LDAP_OPT_X_TLS_NEWCTX, &client) != LDAP_OPT_SUCCESS)
            fail(
                "TLS set-up (ca_file " + (o.ca_file.empty() ? std::string("of the system") : o.ca_file) + ")",
                LDAP_LOCAL_ERROR);
        if (int rc = ldap_connect(ld_.get()); rc != LDAP_SUCCESS)
            fail("connect", rc);                                                 // TCP (and TLS: ldaps)
        if (o.starttls && lower(o.url).find("ldaps://") == std::string::npos) {  // one scheme for all
            if (int rc = ldap_start_tls_s(ld_.get(), nullptr, nullptr); rc != LDAP_SUCCESS)
                fail("StartTLS", rc);
        }
        watch_.disarm();  // from here on, LDAP_OPT_TIMEOUT bounds every operation
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // LDAP_SUCCESS or LDAP_INVALID_CREDENTIALS (and its kin); throws on anything else.
    int simple_bind(const std::string& dn, const std::string& password, const char* step) {
        berval cred{static_cast<ber_len_t>(password.size()), const_cast<char*>(password.data())};
        int rc = ldap_sasl_bind_s(ld_.get(), dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
        if (rc == LDAP_SUCCESS || rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH) return rc;
        fail(step, rc);
    }

    // Entries under `base` matching `filter`, at most `limit` (+ whether there were more).
    std::pair<Message, bool> search(const std::string& base, int scope, const std::string& filter,
                                    std::vector<std::string> attrs, int limit, const char* step,
                                    bool missing_ok = false) {
        std::vector<char*> attrv;
        for (auto& a : attrs) attrv.push_back(a.data());
        attrv.push_back(nullptr);
        timeval tv = to_timeval(o_.timeout);
        LDAPMessage* res = nullptr;
        int rc = ldap_search_ext_s(ld_.get(), base.c_str(), scope, filter.c_str(), attrv.data(), 0, nullptr,
                                   nullptr, &tv, limit, &res);
        Message owned(res);
        if (rc == LDAP_SIZELIMIT_EXCEEDED) return {std::move(owned), true};
        if (missing_ok && rc == LDAP_NO_SUCH_OBJECT) return {std::move(owned), false};  // no entries
        if (rc != LDAP_SUCCESS) fail(step + (" of '" + base + "'"), rc);
        return {std::move(owned), false};
    }

    int count(LDAPMessage* res) const { return res ? ldap_count_entries(ld_.get(), res) : 0; }
    LDAPMessage* first(LDAPMessage* res) const { return ldap_first_entry(ld_.get(), res); }

    std::string dn_of(LDAPMessage* entry) const {
        char* dn = ldap_get_dn(ld_.get(), entry);
        std::string s = dn ? dn : "";
        ldap_memfree(dn);
        return s;
    }

    std::vector<std::string> values(LDAPMessage* entry, const std::string& attr) const {
        std::vector<std::string> out;
        if (attr.empty()) return out;
        berval** vals = ldap_get_values_len(ld_.get(), entry, attr.c_str());
        for (int i = 0; vals && vals[i]; ++i) out.emplace_back(vals[i]->bv_val, vals[i]->bv_len);
        ldap_value_free_len(vals);
        return out;
    }

    [[noreturn]] void fail(const std::string& step, int rc) const {
        char* diag = nullptr;
        if (ld_.get()) ldap_get_option(ld_.get(), LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
        std::string detail =
            std::string(ldap_err2string(rc)) + (diag && *diag ? std::string(": ") + diag : "");
        ldap_memfree(diag);
        log::warn("auth.ldap_failed", {{"realm", o_.name}, {"step", step}, {"code", rc}, {"error", detail}});
        if (unreachable(rc) || step == "StartTLS")
            throw core::unavailable("LDAP (realm '" + o_.name + "') cannot be reached to check the login (" +
                                    step + ": " + detail + "); try again later");
        throw core::upstream("LDAP (realm '" + o_.name + "') refused netpraxis' " + step + ": " + detail);
    }

 private:
    const LdapRealmOptions& o_;
    ConnectWatch& watch_;
    ldap_conncb callbacks_{};               // outlives ld_ (libldap calls lc_del when it closes)
    std::unique_ptr<LDAP, LdapUnbind> ld_;  // closes the socket...
    Disarm disarm_{watch_};                 // ...after the watch forgot it (members go in reverse order)
};

class LdapRealm final : public Realm, public GroupDirectory {
 public:
    LdapRealm(LdapRealmOptions o, core::WorkerPool& pool) : o_(std::move(o)), pool_(pool) {}

    const std::string& name() const override { return o_.name; }
    std::string_view kind() const override { return "ldap"; }

    asio::awaitable<std::optional<Identity>> authenticate(std::string username,
                                                          std::string password) override {
        // An empty password would be an "unauthenticated bind", which directories answer with success.
        if (username.empty() || password.empty()) co_return std::nullopt;
        co_return co_await bounded<std::optional<Identity>>(
            [&](ConnectWatch& watch) { return check(username, password, watch); });
    }

    asio::awaitable<std::vector<DirectoryMember>> group_members(std::string group_dn) override {
        LDAPDN parsed = nullptr;
        const int rc = group_dn.empty() || group_dn.find('=') == std::string::npos
                           ? LDAP_INVALID_DN_SYNTAX
                           : ldap_str2dn(group_dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3);
        ldap_dnfree(parsed);
        if (rc != LDAP_SUCCESS)
            throw core::invalid(
                "not a group DN",
                {{"ldap_group",
                  "'" + group_dn + "' is not a DN such as cn=students,ou=groups,dc=example,dc=edu"}});
        co_return co_await bounded<std::vector<DirectoryMember>>(
            [&](ConnectWatch& watch) { return members(group_dn, watch); });
    }

 private:
    // `work(watch)` on the worker pool, its connection bounded as ConnectWatch says.
    template <class R, class F>
    asio::awaitable<R> bounded(F work) {
        auto watch = std::make_shared<ConnectWatch>();
        asio::steady_timer timer(co_await asio::this_coro::executor, o_.network_timeout + o_.timeout);
        timer.async_wait([watch](const boost::system::error_code& ec) {
            if (!ec) watch->expire();
        });
        // The watch's shutdown makes libldap's next write (TLS alert, unbind) fail: EPIPE, not SIGPIPE.
        R out = co_await pool_.run([&] {
            core::SigpipeBlock no_sigpipe;
            return work(*watch);
        });
        timer.cancel();
        co_return out;
    }

    void service_bind(Connection& c) const {
        if (!o_.bind_dn.empty() &&
            c.simple_bind(o_.bind_dn, o_.bind_password, "service bind") != LDAP_SUCCESS)
            c.fail("service bind (bind_dn " + o_.bind_dn + ")", LDAP_INVALID_CREDENTIALS);
    }

    std::vector<DirectoryMember> members(const std::string& group, ConnectWatch& watch) const {
        Connection c(o_, watch);
        service_bind(c);
        const auto& attr = o_.group_member_attribute;
        auto [res, more] =
            c.search(group, LDAP_SCOPE_BASE, "(" + attr + "=*)", {attr}, 1, "group lookup", true);
        if (c.count(res.get()) != 1)
            throw core::not_found("no group '" + group + "' listing " + attr + " in LDAP realm '" + o_.name +
                                  "'");
        const auto listed = c.values(c.first(res.get()), attr);
        if (listed.size() > 5000)
            throw core::invalid("the group is too large",
                                {{"ldap_group", "at most 5000 members per import"}});
        const bool by_uid = lower(attr) == "memberuid";
        std::vector<DirectoryMember> out;
        for (const auto& m : listed) {
            auto u = by_uid ? find_user(c, m) : member_entry(c, m);
            if (!u || u->username.empty()) {
                log::info("auth.ldap_member_skipped", {{"realm", o_.name}, {"group", group}, {"member", m}});
                continue;
            }
            out.push_back({u->username, u->display_name, u->email});
        }
        return out;
    }

    std::vector<std::string> user_attributes() const {
        std::vector<std::string> attrs{o_.username_attribute, o_.display_name_attribute, "cn",
                                       o_.email_attribute};
        if (!o_.user_groups_attribute.empty()) attrs.push_back(o_.user_groups_attribute);
        return attrs;
    }

    UserEntry entry_of(Connection& c, LDAPMessage* e, const std::string& username) const {
        UserEntry u;
        u.dn = c.dn_of(e);
        auto names = c.values(e, o_.username_attribute);
        u.username = names.empty() ? username : names.front();
        auto display = c.values(e, o_.display_name_attribute);
        if (display.empty()) display = c.values(e, "cn");
        if (!display.empty()) u.display_name = display.front();
        auto mail = c.values(e, o_.email_attribute);
        if (!mail.empty()) u.email = mail.front();
        u.groups = c.values(e, o_.user_groups_attribute);
        return u;
    }

    // A member DN's entry (nullopt: gone); its username only from the username attribute.
    std::optional<UserEntry> member_entry(Connection& c, const std::string& dn) const {
        auto [res, more] =
            c.search(dn, LDAP_SCOPE_BASE, "(objectClass=*)", user_attributes(), 1, "member lookup", true);
        if (c.count(res.get()) != 1) return std::nullopt;
        return entry_of(c, c.first(res.get()), "");
    }

    std::optional<Identity> check(const std::string& username, const std::string& password,
                                  ConnectWatch& watch) const {
        Connection c(o_, watch);
        service_bind(c);
        auto user = find_user(c, username);
        if (!user) return std::nullopt;
        auto role = role_of(c, *user);
        if (!role) {
            log::info("auth.ldap_no_group", {{"realm", o_.name}, {"user", user->username}});
            return std::nullopt;
        }
        if (c.simple_bind(user->dn, password, "user bind") != LDAP_SUCCESS) return std::nullopt;
        return Identity{user->username, o_.name, *role, user->display_name};
    }

    std::optional<UserEntry> find_user(Connection& c, const std::string& username) const {
        std::string filter = o_.user_filter;
        const std::string escaped = ldap_escape_filter_value(username);
        for (auto pos = filter.find("{username}"); pos != std::string::npos;
             pos = filter.find("{username}", pos + escaped.size()))
            filter.replace(pos, 10, escaped);
        auto [res, more] =
            c.search(o_.base_dn, LDAP_SCOPE_SUBTREE, filter, user_attributes(), 2, "user search");
        const int n = c.count(res.get());
        if (more || n > 1) {
            log::warn("auth.ldap_ambiguous", {{"realm", o_.name}, {"user", username}});
            return std::nullopt;
        }
        if (n != 1) return std::nullopt;
        return entry_of(c, c.first(res.get()), username);
    }

    std::optional<std::string> role_of(Connection& c, const UserEntry& u) const {
        if (o_.teacher_group.empty() && o_.student_group.empty()) return o_.role;
        if (!o_.teacher_group.empty() && member(c, u, o_.teacher_group))
            return store::str(store::Role::teacher);
        if (!o_.student_group.empty() && member(c, u, o_.student_group))
            return store::str(store::Role::student);
        return std::nullopt;
    }

    bool member(Connection& c, const UserEntry& u, const std::string& group) const {
        if (!o_.user_groups_attribute.empty()) {
            const auto want = normalize_dn(group);
            return std::any_of(u.groups.begin(), u.groups.end(),
                               [&](const std::string& g) { return normalize_dn(g) == want; });
        }
        // The group's entry, asked whether it lists the user (the server compares DNs by their rules).
        const bool by_uid = lower(o_.group_member_attribute) == "memberuid";
        const std::string filter = "(" + o_.group_member_attribute + "=" +
                                   ldap_escape_filter_value(by_uid ? u.username : u.dn) + ")";
        auto [res, more] = c.search(group, LDAP_SCOPE_BASE, filter, {"1.1"}, 1, "group lookup");
        return c.count(res.get()) == 1;
    }

    LdapRealmOptions o_;
    core::WorkerPool& pool_;
};

// ---- configuration ----

std::string key_path(const std::string& realm, const std::string& key) {
    return "auth.realms." + (realm.empty() ? std::string("(ldap)") : realm) + "." + key;
}

void check_dn(const std::string& realm, const char* key, const std::string& dn, bool required) {
    if (dn.empty()) {
        if (required)
            throw core::invalid(key_path(realm, key) +
                                " is required (a DN such as ou=people,dc=example,dc=edu)");
        return;
    }
    LDAPDN parsed = nullptr;
    int rc = ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3);
    ldap_dnfree(parsed);
    if (rc != LDAP_SUCCESS) throw core::invalid(key_path(realm, key) + ": '" + dn + "' is not a valid DN");
}

void check_attribute(const std::string& realm, const char* key, const std::string& attr) {
    // A descriptor (letters, digits, hyphens) or an OID: nothing that could change a filter's meaning.
    static const auto descriptor = [](const std::string& a) {
        return !a.empty() && std::isalpha(static_cast<unsigned char>(a[0])) &&
               std::all_of(a.begin(), a.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
    };
    static const auto oid = [](const std::string& a) {
        return !a.empty() && std::isdigit(static_cast<unsigned char>(a[0])) &&
               std::all_of(a.begin(), a.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; });
    };
    if (!descriptor(attr) && !oid(attr))
        throw core::invalid(key_path(realm, key) + ": '" + attr + "' is not an attribute name");
}

void check_url(const LdapRealmOptions& o) {
    const auto path = key_path(o.name, "url");
    if (o.url.empty()) throw core::invalid(path + " is required (ldaps://host or ldap://host with StartTLS)");
    std::string scheme;
    std::size_t start = 0;
    while ((start = o.url.find_first_not_of(" \t", start)) != std::string::npos) {
        auto end = std::min(o.url.find_first_of(" \t", start), o.url.size());
        const std::string one = o.url.substr(start, end - start);
        LDAPURLDesc* desc = nullptr;
        int rc = ldap_url_parse(one.c_str(), &desc);
        std::string s = desc && desc->lud_scheme ? lower(desc->lud_scheme) : "";
        ldap_free_urldesc(desc);
        if (rc != LDAP_URL_SUCCESS || (s != "ldap" && s != "ldaps"))
            throw core::invalid(path + ": '" + one + "' is not an ldap:// or ldaps:// URL");
        if (!scheme.empty() && s != scheme)
            throw core::invalid(path + ": every URL must use the same scheme (ldaps:// or ldap://)");
        scheme = s;
        start = end;
    }
}

void check_filter(const LdapRealmOptions& o) {
    const auto& f = o.user_filter;
    const auto path = key_path(o.name, "user_filter");
    if (f.find("{username}") == std::string::npos)
        throw core::invalid(path + " must contain {username}, e.g. (&(objectClass=person)(uid={username}))");
    int depth = 0;
    for (char ch : f) {
        depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
        if (depth < 0) break;
    }
    if (f.front() != '(' || f.back() != ')' || depth != 0)
        throw core::invalid(path + ": '" + f +
                            "' is not a parenthesized LDAP filter with balanced parentheses");
}

void validate(const LdapRealmOptions& o) {
    if (o.name.empty()) throw core::invalid("auth.realms: an ldap realm needs a name");
    check_url(o);
    if (!o.ca_file.empty() && !std::ifstream(o.ca_file))
        throw core::invalid(key_path(o.name, "ca_file") + ": cannot read '" + o.ca_file + "'");
    check_dn(o.name, "base_dn", o.base_dn, true);
    check_dn(o.name, "bind_dn", o.bind_dn, false);
    check_dn(o.name, "teacher_group", o.teacher_group, false);
    check_dn(o.name, "student_group", o.student_group, false);
    if (!o.bind_dn.empty() && o.bind_password.empty()) {
        std::string env = o.name;
        std::transform(env.begin(), env.end(), env.begin(), [](unsigned char c) { return std::toupper(c); });
        throw core::invalid(key_path(o.name, "bind_dn") +
                            " is set but its password is empty: set NETPRAXIS_AUTH__LDAP__" + env +
                            "__BIND_PASSWORD (or bind_password in the entry)");
    }
    check_filter(o);
    check_attribute(o.name, "username_attribute", o.username_attribute);
    check_attribute(o.name, "display_name_attribute", o.display_name_attribute);
    check_attribute(o.name, "email_attribute", o.email_attribute);
    check_attribute(o.name, "group_member_attribute", o.group_member_attribute);
    if (!o.user_groups_attribute.empty())
        check_attribute(o.name, "user_groups_attribute", o.user_groups_attribute);
    const bool groups = !o.teacher_group.empty() || !o.student_group.empty();
    if (groups && !o.role.empty())
        throw core::invalid(
            key_path(o.name, "role") +
            ": set either role (everyone the filter finds) or teacher_group/student_group, not both");
    if (!groups && !store::parse<store::Role>(o.role))
        throw core::invalid(key_path(o.name, "role") + " must be " + store::one_of<store::Role>() +
                            " (or set teacher_group/student_group)");
    for (auto [key, d] : {std::pair{"network_timeout", o.network_timeout}, std::pair{"timeout", o.timeout}})
        if (d <= std::chrono::milliseconds(0) || d > std::chrono::minutes(5))
            throw core::invalid(key_path(o.name, key) + " must be between 1ms and 5m");
}

LdapRealmOptions parse_entry(const YAML::Node& entry, const core::Config& config) {
    static const std::set<std::string> known{"name",
                                             "kind",
                                             "label",
                                             "url",
                                             "starttls",
                                             "ca_file",
                                             "bind_dn",
                                             "bind_password",
                                             "base_dn",
                                             "user_filter",
                                             "username_attribute",
                                             "display_name_attribute",
                                             "email_attribute",
                                             "role",
                                             "teacher_group",
                                             "student_group",
                                             "group_member_attribute",
                                             "user_groups_attribute",
                                             "network_timeout",
                                             "timeout"};
    LdapRealmOptions o;
    try {
        o.name = entry["name"] ? entry["name"].as<std::string>() : "";
        for (const auto& kv : entry) {
            auto key = kv.first.as<std::string>();
            if (!known.contains(key))
                throw core::invalid(key_path(o.name, key) + " is not a key of an ldap realm");
        }
        auto str = [&](const char* key, std::string& out) {
            if (entry[key] && !entry[key].IsNull()) out = entry[key].as<std::string>();
        };
        for (auto [key, field] : {std::pair{"url", &o.url},
                                  {"ca_file", &o.ca_file},
                                  {"bind_dn", &o.bind_dn},
                                  {"bind_password", &o.bind_password},
                                  {"base_dn", &o.base_dn},
                                  {"user_filter", &o.user_filter},
                                  {"username_attribute", &o.username_attribute},
                                  {"display_name_attribute", &o.display_name_attribute},
                                  {"email_attribute", &o.email_attribute},
                                  {"role", &o.role},
                                  {"teacher_group", &o.teacher_group},
                                  {"student_group", &o.student_group},
                                  {"group_member_attribute", &o.group_member_attribute},
                                  {"user_groups_attribute", &o.user_groups_attribute}})
            str(key, *field);
        if (entry["starttls"]) o.starttls = entry["starttls"].as<bool>();
        for (auto [key, field] : {std::pair{"network_timeout", &o.network_timeout}, {"timeout", &o.timeout}})
            if (entry[key])
                *field = core::parse_duration(entry[key].as<std::string>(), key_path(o.name, key));
    } catch (const YAML::Exception& e) {
        throw core::invalid("auth.realms: bad ldap realm entry '" + o.name + "': " + e.what());
    }
    // The service account's password: auth.ldap.<name>.bind_password, i.e. the environment variable
    // NETPRAXIS_AUTH__LDAP__<NAME>__BIND_PASSWORD, keeps it out of the file.
    if (auto secret = config.get_string("auth.ldap." + lower(o.name) + ".bind_password"); !secret.empty())
        o.bind_password = secret;
    if (!o.starttls && lower(o.url).find("ldap://") != std::string::npos)
        log::warn("auth.ldap_plaintext",
                  {{"realm", o.name}, {"note", "starttls: false: passwords cross the network in clear"}});
    return o;
}

}  // namespace

std::unique_ptr<Realm> make_ldap_realm(LdapRealmOptions options, core::WorkerPool& pool) {
    validate(options);
    return std::make_unique<LdapRealm>(std::move(options), pool);
}

std::unique_ptr<Realm> make_ldap_realm(const YAML::Node& entry, RealmDeps& deps) {
    return make_ldap_realm(parse_entry(entry, deps.config), deps.pool);
}

}  // namespace np::auth
