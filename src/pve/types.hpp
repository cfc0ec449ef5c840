// Typed Proxmox VE API replies (reference: shared/reference/proxmox/API.md and schema-subset.json).
// Parsing is lenient where PVE is loose (numbers as strings, 0/1 booleans, absent optional keys) and
// throws core::Error(upstream) naming the path and field when a reply has an unexpected shape.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace np::pve {

enum class GuestKind { qemu, lxc };
std::string_view kind_path(GuestKind kind);  // "qemu" | "lxc"

// UPID:<node>:<pid 8 hex>:<pstart 8-9 hex>:<starttime 8 hex>:<type>:<id>:<userid>:
struct Upid {
    std::string text;
    std::string node;
    std::uint32_t pid = 0;
    std::uint64_t pstart = 0;
    std::int64_t starttime = 0;
    std::string type;
    std::string id;
    std::string user;
};
std::optional<Upid> parse_upid(std::string_view text);

struct VersionInfo {
    std::string version, release, repoid;
};

struct NodeInfo {
    std::string node, status, ssl_fingerprint;
    double cpu = 0;
    std::int64_t maxcpu = 0, mem = 0, maxmem = 0, uptime = 0;
};

// One row of /cluster/resources (qemu, lxc, node, storage, pool, sdn).
struct Resource {
    std::string id, type, node, name, status, storage, pool, lock, tags, content, plugintype;
    int vmid = 0;
    bool is_template = false;
    bool shared = false;
    double cpu = 0;
    std::int64_t maxcpu = 0, mem = 0, maxmem = 0, disk = 0, maxdisk = 0, uptime = 0;
};

// One row of /nodes/{node}/qemu or /nodes/{node}/lxc.
struct GuestSummary {
    int vmid = 0;
    std::string name, status, lock, tags;
    bool is_template = false;
    std::int64_t maxmem = 0, mem = 0, maxdisk = 0, uptime = 0;
};

struct GuestStatus {
    int vmid = 0;
    std::string name, status, qmpstatus, lock;
    bool agent = false;
    bool is_template = false;
    std::int64_t uptime = 0;
};

// A guest's config: flat key -> value text (digest included).
using GuestConfig = std::map<std::string, std::string>;
// Disk volumes referenced by a config ("local-lvm:vm-101-disk-0"), with their storage, skipping CD-ROMs.
struct DiskRef {
    std::string key, storage, volume;
};
std::vector<DiskRef> config_disks(const GuestConfig& config);

struct TaskStatus {
    std::string upid, node, type, id, user, status, exitstatus;
    bool running() const { return status == "running"; }
    // OK or "WARNINGS: n" (API.md §4).
    bool succeeded() const {
        return !running() && (exitstatus == "OK" || exitstatus.rfind("WARNINGS", 0) == 0);
    }
};

struct TaskListItem {
    std::string upid, node, type, id, user, status;  // status: the exit status once finished, else empty
    std::int64_t starttime = 0, endtime = 0;
    bool finished() const { return endtime != 0 || (!status.empty() && status != "running"); }
};

struct TaskLogLine {
    int n = 0;
    std::string t;
};

struct StorageInfo {
    std::string storage, type, content;
    bool shared = false, active = false, enabled = true;
    std::int64_t total = 0, used = 0, avail = 0;
};

struct Volume {
    std::string volid, content, format, parent;
    std::int64_t size = 0;
    int vmid = 0;
};

struct Pool {
    std::string poolid, comment;
    std::vector<Resource> members;
};

struct IpAddress {
    std::string address, type;
    int prefix = 0;
};
struct NetInterface {
    std::string name, hardware_address;
    std::vector<IpAddress> addresses;
};
// The first IPv4 address of an interface other than `lo` that is neither 127.0.0.1 nor link-local, if any.
std::optional<std::string> first_ipv4(const std::vector<NetInterface>& interfaces);

// Parsers (throw core::Error(upstream) naming `what` and the field on a bad shape).
VersionInfo parse_version(const boost::json::value& v, std::string_view what);
std::vector<NodeInfo> parse_nodes(const boost::json::value& v, std::string_view what);
std::vector<Resource> parse_resources(const boost::json::value& v, std::string_view what);
std::vector<GuestSummary> parse_guest_list(const boost::json::value& v, std::string_view what);
GuestStatus parse_guest_status(const boost::json::value& v, std::string_view what);
GuestConfig parse_config(const boost::json::value& v, std::string_view what);
TaskStatus parse_task_status(const boost::json::value& v, std::string_view what);
std::vector<TaskListItem> parse_task_list(const boost::json::value& v, std::string_view what);
std::vector<TaskLogLine> parse_task_log(const boost::json::value& v, std::string_view what);
std::vector<StorageInfo> parse_storage_list(const boost::json::value& v, std::string_view what);
std::vector<Volume> parse_volumes(const boost::json::value& v, std::string_view what);
std::vector<Pool> parse_pools(const boost::json::value& v, std::string_view what);
Pool parse_pool(const boost::json::value& v, std::string_view what);
std::vector<NetInterface> parse_interfaces(const boost::json::value& v, std::string_view what);
std::string parse_upid_reply(const boost::json::value& v, std::string_view what);

}  // namespace np::pve
