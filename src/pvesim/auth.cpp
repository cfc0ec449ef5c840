// Authentication: tickets (HMAC-signed "PVE:user:hextime::sig"), CSRF tokens, and the two routes served
// before login: POST /access/ticket (login and renewal) and GET /access/domains.
#include <boost/json.hpp>

#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace json = boost::json;

std::string Simulator::Impl::make_ticket(const std::string& user) {
    auto data = "PVE:" + user + ":" + hex8(now_unix());
    return data + "::" + hmac_b64(ticket_key, data);
}
std::string Simulator::Impl::make_csrf(const std::string& user) {
    auto ts = hex8(now_unix());
    return ts + ":" + hmac_b64(csrf_key, ts + ":" + user);
}
// The user of a valid ticket, or nullopt.
std::optional<std::string> Simulator::Impl::check_ticket(const std::string& ticket) {
    auto sep = ticket.find("::");
    if (ticket.rfind("PVE:", 0) != 0 || sep == std::string::npos) return std::nullopt;
    auto data = ticket.substr(0, sep);
    if (hmac_b64(ticket_key, data) != ticket.substr(sep + 2)) return std::nullopt;
    auto colon = data.rfind(':');
    auto user = data.substr(4, colon - 4);
    std::int64_t ts = std::stoll(data.substr(colon + 1), nullptr, 16);
    if (now_unix() - ts > profile.ticket_lifetime_s || ts - now_unix() > 300) return std::nullopt;
    return user;
}
bool Simulator::Impl::check_csrf(const std::string& token, const std::string& user) {
    auto colon = token.find(':');
    if (colon == std::string::npos) return false;
    auto ts = token.substr(0, colon);
    return hmac_b64(csrf_key, ts + ":" + user) == token.substr(colon + 1);
}
bool Simulator::Impl::known_realm(const std::string& user) const {
    auto at = user.rfind('@');
    if (at == std::string::npos) return false;
    auto realm = user.substr(at + 1);
    return realm == "pam" || realm == "pve" || realm == "teachers" || realm == "students";
}

namespace {

http::Response domains(Simulator::Impl&, Call&) {
    json::array a{
        json::object{{"realm", "pam"}, {"type", "pam"}, {"comment", "Linux PAM standard authentication"}},
        json::object{{"realm", "pve"}, {"type", "pve"}, {"comment", "Proxmox VE authentication server"}},
        json::object{{"realm", "teachers"}, {"type", "ldap"}, {"comment", "Teachers (LDAP)"}},
        json::object{{"realm", "students"}, {"type", "ldap"}, {"comment", "Students (LDAP)"}}};
    return reply(a);
}

// Login: user and password (LDAP realms: the profile's users stand in for the directory; users created
// through /access/users log in with the password set there), or a still-valid ticket as the password.
http::Response login(Simulator::Impl& sim, Call& c) {
    auto& p = c.p;
    std::map<std::string, std::string> errs;
    if (!p.count("username")) errs["username"] = "property is missing and it is not optional";
    if (!p.count("password")) errs["password"] = "property is missing and it is not optional";
    if (!errs.empty()) return param_error(errs);
    auto user = p["username"];
    if (p.count("realm") && user.find('@') == std::string::npos) user += "@" + p["realm"];
    auto known = sim.users.find(user);
    bool ok = known != sim.users.end() && !known->second.empty() && known->second == p["password"];
    if (!ok && sim.known_realm(user) && known != sim.users.end()) {
        auto t = sim.check_ticket(p["password"]);  // renewal: a valid ticket as the password
        ok = t && *t == user;
    }
    if (!ok) return pve_error(401, "authentication failure");
    json::object cap{{"vms", json::object{{"VM.Allocate", 1}, {"VM.Clone", 1}}}};
    json::object o{{"username", user},
                   {"ticket", sim.make_ticket(user)},
                   {"CSRFPreventionToken", sim.make_csrf(user)},
                   {"cap", cap},
                   {"clustername", "sim"}};
    return reply(o);
}

}  // namespace

void add_auth_routes(RouteTable& t) {
    t.add({http::Method::get, "/access/domains", domains, false});
    t.add({http::Method::post, "/access/ticket", login, false});
}

}  // namespace np::pvesim
