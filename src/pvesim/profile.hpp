// Simulator profiles: cluster shape (nodes, storages, initial guests, users, tokens), latencies and
// durations, lock capacity and fault rates. Built in: fast (tests), zero (no latency, every task done at
// once: the client's own overhead), realistic (benchmarks), faulty (resilience tests); or a JSON file with
// the same keys (see profile_to_json for the scalar ones; "users", "tokens", "acl", "nodes", "guests" lists).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace np::pvesim {

struct NodeSpec {
    std::string name;
    std::int64_t maxmem = 64LL << 30;
    int maxcpu = 32;
};

struct GuestSpec {
    int vmid = 0;
    std::string node, name;
    std::string kind = "qemu";  // qemu | lxc
    bool is_template = false;
    std::string storage = "local-lvm";
    std::int64_t disk_bytes = 8LL << 30;
    std::int64_t maxmem = 2LL << 30;
    bool agent = true;
    bool running = false;
};

struct UserSpec {
    std::string userid, password;  // "alice@teachers"
};

// An ACL entry of user.cfg at start (a user).
struct AclSpec {
    std::string path, userid, roleid;  // "/vms", "alice@teachers", "PVEVMAdmin"
    bool propagate = true;
};

struct TokenSpec {
    std::string id, secret;  // "root@pam!ci", a UUID
    // Privilege separation (`pveum user token add --privsep`, default 1 as in Proxmox): the token holds
    // only what ACL entries on the token itself grant, within its user's privileges; 0: the user's own.
    bool privsep = true;
};

struct Profile {
    std::string name = "fast";
    // Each API request holds one of max_in_flight worker slots for a latency drawn in [min, max] ms.
    int latency_min_ms = 0, latency_max_ms = 0;
    int max_in_flight = 64;
    // Task durations (ms).
    int clone_linked_ms = 30, clone_full_ms = 80, destroy_ms = 20, start_ms = 20, boot_ms = 60,
        shutdown_ms = 20, stop_ms = 10, template_ms = 10, volume_delete_ms = 10;
    // A migration task (qmigrate): migrate_ms, plus migrate_ms_per_gib per GiB of disk when its disks are on
    // local storage (they are copied to the target node meanwhile, holding a slot of the source storage).
    int migrate_ms = 20, migrate_ms_per_gib = 2;
    // Each storage admits this many concurrent disk operations; others wait up to the lock timeout and then
    // fail with "can't lock file '/var/lock/pve-manager/pve-storage-<id>' - got timeout".
    // A console proxy's task (vncproxy, termproxy) waits this long for its client, then ends.
    int console_wait_ms = 100;
    int storage_slots = 4;
    int storage_lock_timeout_ms = 10'000;
    int auth_failure_delay_ms = 0;  // pveproxy delays failed logins by about 3 s
    int ticket_lifetime_s = 7200;
    // Faults, as probabilities per request (5xx, drop), per destroy (silent failure) or per clone (race).
    double p_transient_5xx = 0, p_drop = 0, p_silent_delete_failure = 0, p_vmid_race = 0;
    std::string local_storage = "local-lvm";
    std::string shared_storage = "cephpool";
    std::vector<NodeSpec> nodes;
    std::vector<GuestSpec> guests;
    std::vector<UserSpec> users;
    std::vector<TokenSpec> tokens;
    std::vector<AclSpec> acl;  // root@pam needs none; other users see and do only what these grant

    // The least time the cluster's locks and durations allow for a workload of n items ("clone", "delete",
    // "template") spread over the nodes holding the sources (see the comment in profile.cpp).
    double capacity_bound_seconds(std::string_view workload, std::size_t n, std::size_t source_nodes) const;
};

// "fast", "realistic", "faulty" or a path to a JSON file; throws core::Error(invalid) naming the problem.
Profile load_profile(std::string_view name_or_file);
std::string profile_to_json(const Profile& profile);

}  // namespace np::pvesim
