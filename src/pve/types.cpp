#include "pve/types.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>

#include "core/error.hpp"

namespace np::pve {

namespace json = boost::json;

std::string_view kind_path(GuestKind kind) {
    return kind == GuestKind::qemu ? "qemu" : "lxc";
}

namespace {

[[noreturn]] void bad_shape(std::string_view what, std::string_view detail) {
    throw core::upstream("Proxmox " + std::string(what) + ": unexpected reply: " + std::string(detail));
}

const json::object& as_object(const json::value& v, std::string_view what, std::string_view field = "data") {
    if (!v.is_object()) bad_shape(what, std::string(field) + " is not an object");
    return v.get_object();
}

const json::array& as_array(const json::value& v, std::string_view what, std::string_view field = "data") {
    if (!v.is_array()) bad_shape(what, std::string(field) + " is not a list");
    return v.get_array();
}

// PVE serialises Perl scalars: numbers may come as strings, booleans as 0/1 (API.md §1).
std::optional<double> number(const json::object& o, std::string_view key, std::string_view what) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return std::nullopt;
    const auto& v = it->value();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    if (v.is_double()) return v.get_double();
    if (v.is_bool()) return v.get_bool() ? 1.0 : 0.0;
    if (v.is_string()) {
        std::string s(v.get_string());
        char* end = nullptr;
        double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == '\0') return d;
    }
    bad_shape(what, "field '" + std::string(key) + "' is not a number");
}

std::int64_t integer(const json::object& o, std::string_view key, std::string_view what,
                     std::int64_t fallback = 0) {
    auto n = number(o, key, what);
    return n ? static_cast<std::int64_t>(*n) : fallback;
}

bool flag(const json::object& o, std::string_view key, std::string_view what) {
    return integer(o, key, what) != 0;
}

std::string text(const json::object& o, std::string_view key, std::string_view what) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return {};
    const auto& v = it->value();
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    if (v.is_double()) return json::serialize(v);
    bad_shape(what, "field '" + std::string(key) + "' is not text");
}

std::string required_text(const json::object& o, std::string_view key, std::string_view what) {
    auto s = text(o, key, what);
    if (s.empty()) bad_shape(what, "field '" + std::string(key) + "' is missing");
    return s;
}

int required_vmid(const json::object& o, std::string_view what) {
    auto n = number(o, "vmid", what);
    if (!n || *n < 1) bad_shape(what, "field 'vmid' is missing or not a VM id");
    return static_cast<int>(*n);
}

template <class T, class F>
std::vector<T> list(const json::value& v, std::string_view what, F parse_one) {
    std::vector<T> out;
    const auto& arr = as_array(v, what);
    out.reserve(arr.size());
    std::size_t i = 0;
    for (const auto& item : arr) {
        out.push_back(parse_one(as_object(item, what, "data[" + std::to_string(i) + "]")));
        ++i;
    }
    return out;
}

Resource resource_from(const json::object& o, std::string_view what) {
    Resource r;
    r.id = text(o, "id", what);
    r.type = required_text(o, "type", what);
    r.node = text(o, "node", what);
    r.name = text(o, "name", what);
    r.status = text(o, "status", what);
    r.storage = text(o, "storage", what);
    r.pool = text(o, "pool", what);
    r.lock = text(o, "lock", what);
    r.tags = text(o, "tags", what);
    r.content = text(o, "content", what);
    r.plugintype = text(o, "plugintype", what);
    if (r.type == "qemu" || r.type == "lxc") r.vmid = required_vmid(o, what);
    r.is_template = flag(o, "template", what);
    r.shared = flag(o, "shared", what);
    r.cpu = number(o, "cpu", what).value_or(0);
    r.maxcpu = integer(o, "maxcpu", what);
    r.mem = integer(o, "mem", what);
    r.maxmem = integer(o, "maxmem", what);
    r.disk = integer(o, "disk", what);
    r.maxdisk = integer(o, "maxdisk", what);
    r.uptime = integer(o, "uptime", what);
    return r;
}

}  // namespace

std::optional<Upid> parse_upid(std::string_view s) {
    // Nine colon-separated fields with a trailing colon; the user id may itself hold '!' but no ':'.
    if (s.rfind("UPID:", 0) != 0 || s.empty() || s.back() != ':') return std::nullopt;
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == ':') {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    if (parts.size() != 8) return std::nullopt;
    auto hex = [](std::string_view h, auto& out) {
        if (h.empty()) return false;
        auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), out, 16);
        return ec == std::errc{} && p == h.data() + h.size();
    };
    Upid u;
    u.text = std::string(s);
    u.node = std::string(parts[1]);
    std::uint64_t start_time = 0;
    if (u.node.empty() || !hex(parts[2], u.pid) || !hex(parts[3], u.pstart) || !hex(parts[4], start_time))
        return std::nullopt;
    u.starttime = static_cast<std::int64_t>(start_time);
    u.type = std::string(parts[5]);
    u.id = std::string(parts[6]);
    u.user = std::string(parts[7]);
    if (u.type.empty() || u.user.empty()) return std::nullopt;
    return u;
}

std::vector<DiskRef> config_disks(const GuestConfig& config) {
    static const char* prefixes[] = {"scsi",     "virtio", "sata",   "ide", "efidisk",
                                     "tpmstate", "unused", "rootfs", "mp"};
    std::vector<DiskRef> out;
    for (const auto& [key, value] : config) {
        bool disk_key = false;
        for (const char* p : prefixes) {
            std::string_view pk(p);
            if (key.rfind(pk, 0) == 0 &&
                (key == pk || std::isdigit(static_cast<unsigned char>(key[pk.size()])))) {
                disk_key = true;
                break;
            }
        }
        if (!disk_key || value.find("media=cdrom") != std::string::npos) continue;
        auto first = value.substr(0, value.find(','));
        auto colon = first.find(':');
        if (colon == std::string::npos || first.rfind("none", 0) == 0) continue;
        out.push_back({key, first.substr(0, colon), first});
    }
    return out;
}

std::optional<std::string> first_ipv4(const std::vector<NetInterface>& interfaces) {
    for (const auto& i : interfaces) {
        if (i.name == "lo") continue;
        for (const auto& a : i.addresses) {
            // 127.0.0.1 may show on other interfaces too; another 127/8 address on a guest's own interface is
            // an address the host reaches it at (pve-sim's GNS3 guests: 127.R.H.L on "eth0").
            if (a.type == "ipv4" && a.address != "127.0.0.1" && a.address.rfind("169.254.", 0) != 0)
                return a.address;
        }
    }
    return std::nullopt;
}

VersionInfo parse_version(const json::value& v, std::string_view what) {
    const auto& o = as_object(v, what);
    return {required_text(o, "version", what), text(o, "release", what), text(o, "repoid", what)};
}

std::vector<NodeInfo> parse_nodes(const json::value& v, std::string_view what) {
    return list<NodeInfo>(v, what, [&](const json::object& o) {
        NodeInfo n;
        n.node = required_text(o, "node", what);
        n.status = text(o, "status", what);
        n.ssl_fingerprint = text(o, "ssl_fingerprint", what);
        n.cpu = number(o, "cpu", what).value_or(0);
        n.maxcpu = integer(o, "maxcpu", what);
        n.mem = integer(o, "mem", what);
        n.maxmem = integer(o, "maxmem", what);
        n.uptime = integer(o, "uptime", what);
        return n;
    });
}

std::vector<Resource> parse_resources(const json::value& v, std::string_view what) {
    return list<Resource>(v, what, [&](const json::object& o) { return resource_from(o, what); });
}

std::vector<GuestSummary> parse_guest_list(const json::value& v, std::string_view what) {
    return list<GuestSummary>(v, what, [&](const json::object& o) {
        GuestSummary g;
        g.vmid = required_vmid(o, what);
        g.name = text(o, "name", what);
        g.status = text(o, "status", what);
        g.lock = text(o, "lock", what);
        g.tags = text(o, "tags", what);
        g.is_template = flag(o, "template", what);
        g.maxmem = integer(o, "maxmem", what);
        g.mem = integer(o, "mem", what);
        g.maxdisk = integer(o, "maxdisk", what);
        g.uptime = integer(o, "uptime", what);
        return g;
    });
}

GuestStatus parse_guest_status(const json::value& v, std::string_view what) {
    const auto& o = as_object(v, what);
    GuestStatus s;
    s.vmid = required_vmid(o, what);
    s.name = text(o, "name", what);
    s.status = required_text(o, "status", what);
    s.qmpstatus = text(o, "qmpstatus", what);
    s.lock = text(o, "lock", what);
    s.agent = flag(o, "agent", what);
    s.is_template = flag(o, "template", what);
    s.uptime = integer(o, "uptime", what);
    return s;
}

GuestConfig parse_config(const json::value& v, std::string_view what) {
    const auto& o = as_object(v, what);
    GuestConfig c;
    for (const auto& kv : o) c[std::string(kv.key())] = text(o, kv.key(), what);
    return c;
}

TaskStatus parse_task_status(const json::value& v, std::string_view what) {
    const auto& o = as_object(v, what);
    TaskStatus t;
    t.upid = required_text(o, "upid", what);
    t.node = text(o, "node", what);
    t.type = text(o, "type", what);
    t.id = text(o, "id", what);
    t.user = text(o, "user", what);
    t.status = required_text(o, "status", what);
    t.exitstatus = text(o, "exitstatus", what);
    if (t.status != "running" && t.status != "stopped") bad_shape(what, "task status '" + t.status + "'");
    return t;
}

std::vector<TaskListItem> parse_task_list(const json::value& v, std::string_view what) {
    return list<TaskListItem>(v, what, [&](const json::object& o) {
        TaskListItem t;
        t.upid = required_text(o, "upid", what);
        t.node = text(o, "node", what);
        t.type = text(o, "type", what);
        t.id = text(o, "id", what);
        t.user = text(o, "user", what);
        t.status = text(o, "status", what);
        t.starttime = integer(o, "starttime", what);
        t.endtime = integer(o, "endtime", what);
        return t;
    });
}

std::vector<TaskLogLine> parse_task_log(const json::value& v, std::string_view what) {
    return list<TaskLogLine>(v, what, [&](const json::object& o) {
        return TaskLogLine{static_cast<int>(integer(o, "n", what)), text(o, "t", what)};
    });
}

std::vector<StorageInfo> parse_storage_list(const json::value& v, std::string_view what) {
    return list<StorageInfo>(v, what, [&](const json::object& o) {
        StorageInfo s;
        s.storage = required_text(o, "storage", what);
        s.type = text(o, "type", what);
        s.content = text(o, "content", what);
        s.shared = flag(o, "shared", what);
        s.active = flag(o, "active", what);
        s.enabled = integer(o, "enabled", what, 1) != 0;
        s.total = integer(o, "total", what);
        s.used = integer(o, "used", what);
        s.avail = integer(o, "avail", what);
        return s;
    });
}

std::vector<Volume> parse_volumes(const json::value& v, std::string_view what) {
    return list<Volume>(v, what, [&](const json::object& o) {
        Volume vol;
        vol.volid = required_text(o, "volid", what);
        vol.content = text(o, "content", what);
        vol.format = text(o, "format", what);
        vol.parent = text(o, "parent", what);
        vol.size = integer(o, "size", what);
        vol.vmid = static_cast<int>(integer(o, "vmid", what));  // a string on older versions (API.md §1)
        return vol;
    });
}

std::vector<Pool> parse_pools(const json::value& v, std::string_view what) {
    return list<Pool>(v, what, [&](const json::object& o) {
        Pool p;
        p.poolid = required_text(o, "poolid", what);
        p.comment = text(o, "comment", what);
        return p;
    });
}

Pool parse_pool(const json::value& v, std::string_view what) {
    const auto& o = as_object(v, what);
    Pool p;
    p.comment = text(o, "comment", what);
    if (auto it = o.find("members"); it != o.end())
        p.members =
            list<Resource>(it->value(), what, [&](const json::object& m) { return resource_from(m, what); });
    return p;
}

std::vector<NetInterface> parse_interfaces(const json::value& v, std::string_view what) {
    const auto& o = as_object(v, what);
    auto it = o.find("result");
    if (it == o.end()) bad_shape(what, "no 'result' in the guest agent reply");
    return list<NetInterface>(it->value(), what, [&](const json::object& i) {
        NetInterface n;
        n.name = text(i, "name", what);
        n.hardware_address = text(i, "hardware-address", what);
        if (auto a = i.find("ip-addresses"); a != i.end()) {
            for (const auto& addr : as_array(a->value(), what, "ip-addresses")) {
                const auto& ao = as_object(addr, what, "ip-addresses[]");
                n.addresses.push_back({text(ao, "ip-address", what), text(ao, "ip-address-type", what),
                                       static_cast<int>(integer(ao, "prefix", what))});
            }
        }
        return n;
    });
}

std::string parse_upid_reply(const json::value& v, std::string_view what) {
    if (!v.is_string()) bad_shape(what, "expected a task id (UPID)");
    std::string s(v.get_string());
    if (!parse_upid(s)) bad_shape(what, "'" + s + "' is not a UPID");
    return s;
}

}  // namespace np::pve
