#include "pvesim/profile.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace np::pvesim {

namespace json = boost::json;

namespace {

Profile base_cluster() {
    Profile p;
    p.nodes = {{"pve1", 128LL << 30, 32}, {"pve2", 128LL << 30, 32}, {"pve3", 128LL << 30, 32}};
    // A base VM to build templates from; a class template with a copy per node (local storage); a template
    // on shared storage; an LXC template.
    p.guests = {
        {100, "pve1", "ubuntu-base", "qemu", false, "local-lvm", 16LL << 30, 4LL << 30, true, false},
        {9000, "pve1", "tpl-class", "qemu", true, "local-lvm", 16LL << 30, 2LL << 30, true, false},
        {9001, "pve2", "tpl-class", "qemu", true, "local-lvm", 16LL << 30, 2LL << 30, true, false},
        {9002, "pve3", "tpl-class", "qemu", true, "local-lvm", 16LL << 30, 2LL << 30, true, false},
        {9100, "pve1", "tpl-shared", "qemu", true, "cephpool", 16LL << 30, 2LL << 30, true, false},
        {9500, "pve1", "ct-tpl", "lxc", true, "local-lvm", 4LL << 30, 1LL << 30, false, false},
    };
    p.users = {{"root@pam", "rootpass"}, {"alice@teachers", "alice-pw"}, {"bob@students", "bob-pw"}};
    // (made with --privsep 0: the token acts as root@pam, as CI setups usually do)
    p.tokens = {{"root@pam!ci", "6f1e2a9c-2b1d-4c3e-9a8b-7d6c5e4f3a21", false}};
    // The teacher administers guests and storage and sees the nodes' tasks; students start with nothing.
    p.acl = {{"/vms", "alice@teachers", "PVEVMAdmin", true},
             {"/storage", "alice@teachers", "PVEDatastoreAdmin", true},
             {"/nodes", "alice@teachers", "PVEAuditor", true},
             {"/pool", "alice@teachers", "PVEPoolAdmin", true}};
    return p;
}

void read_int(const json::object& o, const char* key, int& out) {
    if (auto it = o.find(key); it != o.end())
        out = static_cast<int>(json::value_to<std::int64_t>(it->value()));
}
void read_double(const json::object& o, const char* key, double& out) {
    if (auto it = o.find(key); it != o.end()) out = it->value().to_number<double>();
}
void read_string(const json::object& o, const char* key, std::string& out) {
    if (auto it = o.find(key); it != o.end()) out = std::string(it->value().as_string());
}

}  // namespace

Profile load_profile(std::string_view name) {
    if (name == "fast") {
        auto p = base_cluster();
        p.name = "fast";
        return p;
    }
    if (name == "zero") {  // no latency, every task done at once: measures the client's own overhead
        auto p = base_cluster();
        p.name = "zero";
        p.clone_linked_ms = p.clone_full_ms = p.destroy_ms = p.start_ms = p.boot_ms = 0;
        p.shutdown_ms = p.stop_ms = p.template_ms = p.volume_delete_ms = 0;
        p.migrate_ms = p.migrate_ms_per_gib = 0;
        return p;
    }
    if (name == "realistic") {
        auto p = base_cluster();
        p.name = "realistic";
        p.latency_min_ms = 3;
        p.latency_max_ms = 15;
        p.max_in_flight = 24;
        p.clone_linked_ms = 1500;
        p.clone_full_ms = 6000;
        p.destroy_ms = 1000;
        p.start_ms = 1000;
        p.boot_ms = 5000;
        p.shutdown_ms = 2500;
        p.stop_ms = 800;
        p.template_ms = 1500;
        p.volume_delete_ms = 500;
        p.migrate_ms = 2000;          // start-up, config move, cleanup on the source
        p.migrate_ms_per_gib = 1000;  // about 1 GiB/s (10 GbE): a 16 GiB disk takes 16 s more
        p.console_wait_ms = 10'000;
        p.storage_slots = 3;
        p.storage_lock_timeout_ms = 10'000;
        p.auth_failure_delay_ms = 3000;
        return p;
    }
    if (name == "faulty") {
        auto p = base_cluster();
        p.name = "faulty";
        p.latency_min_ms = 0;
        p.latency_max_ms = 2;
        p.max_in_flight = 32;
        p.clone_linked_ms = 40;
        p.destroy_ms = 30;
        p.storage_slots = 2;
        p.storage_lock_timeout_ms = 120;
        p.p_transient_5xx = 0.04;
        p.p_drop = 0.03;
        p.p_silent_delete_failure = 0.15;
        p.p_vmid_race = 0.05;
        return p;
    }
    std::ifstream in{std::string(name)};
    if (!in)
        throw core::invalid("unknown simulator profile '" + std::string(name) +
                            "' (fast, zero, realistic, faulty or a JSON file)");
    std::stringstream ss;
    ss << in.rdbuf();
    json::error_code ec;
    auto v = json::parse(ss.str(), ec);
    if (ec || !v.is_object())
        throw core::invalid("simulator profile " + std::string(name) +
                            " is not a JSON object: " + ec.message());
    try {
        const auto& o = v.get_object();
        Profile p = base_cluster();
        if (auto it = o.find("base"); it != o.end()) p = load_profile(it->value().as_string());
        p.name = std::string(name);
        read_int(o, "latency_min_ms", p.latency_min_ms);
        read_int(o, "latency_max_ms", p.latency_max_ms);
        read_int(o, "max_in_flight", p.max_in_flight);
        read_int(o, "clone_linked_ms", p.clone_linked_ms);
        read_int(o, "clone_full_ms", p.clone_full_ms);
        read_int(o, "destroy_ms", p.destroy_ms);
        read_int(o, "start_ms", p.start_ms);
        read_int(o, "boot_ms", p.boot_ms);
        read_int(o, "shutdown_ms", p.shutdown_ms);
        read_int(o, "stop_ms", p.stop_ms);
        read_int(o, "template_ms", p.template_ms);
        read_int(o, "volume_delete_ms", p.volume_delete_ms);
        read_int(o, "migrate_ms", p.migrate_ms);
        read_int(o, "migrate_ms_per_gib", p.migrate_ms_per_gib);
        read_int(o, "console_wait_ms", p.console_wait_ms);
        read_int(o, "storage_slots", p.storage_slots);
        read_int(o, "storage_lock_timeout_ms", p.storage_lock_timeout_ms);
        read_int(o, "auth_failure_delay_ms", p.auth_failure_delay_ms);
        read_int(o, "ticket_lifetime_s", p.ticket_lifetime_s);
        read_double(o, "p_transient_5xx", p.p_transient_5xx);
        read_double(o, "p_drop", p.p_drop);
        read_double(o, "p_silent_delete_failure", p.p_silent_delete_failure);
        read_double(o, "p_vmid_race", p.p_vmid_race);
        read_string(o, "local_storage", p.local_storage);
        read_string(o, "shared_storage", p.shared_storage);
        if (auto it = o.find("nodes"); it != o.end()) {
            p.nodes.clear();
            for (const auto& n : it->value().as_array()) {
                NodeSpec s;
                read_string(n.as_object(), "name", s.name);
                if (auto m = n.as_object().find("maxmem"); m != n.as_object().end())
                    s.maxmem = json::value_to<std::int64_t>(m->value());
                read_int(n.as_object(), "maxcpu", s.maxcpu);
                p.nodes.push_back(s);
            }
        }
        if (auto it = o.find("users"); it != o.end()) {
            p.users.clear();
            for (const auto& u : it->value().as_array())
                p.users.push_back(
                    {std::string(u.at("userid").as_string()), std::string(u.at("password").as_string())});
        }
        if (auto it = o.find("tokens"); it != o.end()) {
            p.tokens.clear();
            for (const auto& t : it->value().as_array()) {
                TokenSpec spec{std::string(t.at("id").as_string()), std::string(t.at("secret").as_string())};
                if (auto pr = t.as_object().find("privsep"); pr != t.as_object().end())
                    spec.privsep =
                        pr->value().is_bool() ? pr->value().as_bool() : pr->value().to_number<int>() != 0;
                p.tokens.push_back(std::move(spec));
            }
        }
        if (auto it = o.find("acl"); it != o.end()) {
            p.acl.clear();
            for (const auto& a : it->value().as_array()) {
                const auto& ao = a.as_object();
                AclSpec s{std::string(ao.at("path").as_string()), std::string(ao.at("userid").as_string()),
                          std::string(ao.at("roleid").as_string()), true};
                if (auto pr = ao.find("propagate"); pr != ao.end())
                    s.propagate = pr->value().to_number<int>() != 0;
                p.acl.push_back(s);
            }
        }
        if (auto it = o.find("guests"); it != o.end()) {
            p.guests.clear();
            for (const auto& g : it->value().as_array()) {
                const auto& go = g.as_object();
                GuestSpec s;
                s.vmid = static_cast<int>(json::value_to<std::int64_t>(go.at("vmid")));
                read_string(go, "node", s.node);
                read_string(go, "name", s.name);
                read_string(go, "kind", s.kind);
                read_string(go, "storage", s.storage);
                if (auto t = go.find("template"); t != go.end())
                    s.is_template = t->value().to_number<int>() != 0;
                if (auto a = go.find("agent"); a != go.end()) s.agent = a->value().to_number<int>() != 0;
                p.guests.push_back(s);
            }
        }
        return p;
    } catch (const core::Error&) {
        throw;
    } catch (const std::exception& e) {
        throw core::invalid("simulator profile " + std::string(name) + ": " + e.what());
    }
}

std::string profile_to_json(const Profile& p) {
    json::object o;
    o["name"] = p.name;
    o["latency_min_ms"] = p.latency_min_ms;
    o["latency_max_ms"] = p.latency_max_ms;
    o["max_in_flight"] = p.max_in_flight;
    o["clone_linked_ms"] = p.clone_linked_ms;
    o["clone_full_ms"] = p.clone_full_ms;
    o["destroy_ms"] = p.destroy_ms;
    o["start_ms"] = p.start_ms;
    o["boot_ms"] = p.boot_ms;
    o["shutdown_ms"] = p.shutdown_ms;
    o["stop_ms"] = p.stop_ms;
    o["template_ms"] = p.template_ms;
    o["volume_delete_ms"] = p.volume_delete_ms;
    o["migrate_ms"] = p.migrate_ms;
    o["migrate_ms_per_gib"] = p.migrate_ms_per_gib;
    o["console_wait_ms"] = p.console_wait_ms;
    o["storage_slots"] = p.storage_slots;
    o["storage_lock_timeout_ms"] = p.storage_lock_timeout_ms;
    o["p_transient_5xx"] = p.p_transient_5xx;
    o["p_drop"] = p.p_drop;
    o["p_silent_delete_failure"] = p.p_silent_delete_failure;
    o["p_vmid_race"] = p.p_vmid_race;
    return json::serialize(o);
}

// Capacity bound: every clone (destroy, full clone) holds one of `storage_slots` slots of its source
// storage for its whole duration, and the template has a copy on `source_nodes` nodes with local storage
// each, so at best ceil(n / (slots * nodes)) waves run one after another. A template build is a full clone
// (storage-bound waves on the base's one node) followed by start, boot, shutdown and conversion, which hold
// no storage slot and overlap freely.
double Profile::capacity_bound_seconds(std::string_view workload, std::size_t n,
                                       std::size_t source_nodes) const {
    if (n == 0) return 0;
    double lanes = static_cast<double>(std::max(1, storage_slots)) *
                   static_cast<double>(std::max<std::size_t>(1, source_nodes));
    double waves = std::ceil(static_cast<double>(n) / lanes);
    if (workload == "clone") return waves * clone_linked_ms / 1000.0;
    if (workload == "delete") return waves * destroy_ms / 1000.0;
    double tail = (start_ms + boot_ms + shutdown_ms + template_ms) / 1000.0;
    return waves * clone_full_ms / 1000.0 + tail;
}

}  // namespace np::pvesim
