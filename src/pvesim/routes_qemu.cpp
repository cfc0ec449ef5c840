// Guest read routes for qemu and lxc: the node's guest list, config, status/current, the guest agent (qemu),
// and the console proxies (vncproxy, termproxy). Privileges as qemu-server/pve-container check them:
// VM.Audit to see a guest (lists are filtered), VM.Monitor for the agent (PVE 8), VM.Console for consoles.
// The operations that change a guest are in lifecycle.cpp.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include "core/ids.hpp"
#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

using M = http::Method;
using Sim = Simulator::Impl;

int vmid_of(const Call& c) {
    return std::stoi(c.var("vmid"));  // checked by dispatch
}

http::Response list_guests(Sim& sim, Call& c) {
    json::array a;
    for (const auto& [id, g] : sim.guests) {
        if (g.node != c.var("node") || g.kind != c.kind || !sim.has_vm(c.user, g, "VM.Audit")) continue;
        json::object o{{"vmid", g.vmid}, {"name", g.name},    {"status", g.status}, {"maxmem", g.maxmem},
                       {"mem", 0},       {"maxdisk", g.disk}, {"uptime", 0},        {"cpus", 2}};
        if (g.is_template) o["template"] = 1;
        if (!g.lock.empty()) o["lock"] = g.lock;
        a.push_back(o);
    }
    return reply(a);
}

http::Response config(Sim& sim, Call& c) {
    int vmid = vmid_of(c);
    if (auto denied = sim.need_vm(c, vmid, "VM.Audit")) return *denied;
    const Guest* g = sim.find_guest(c.var("node"), c.kind, vmid);
    if (!g) return pve_error(500, Sim::missing_config(c.var("node"), c.kind, vmid));
    return reply(sim.config_of(*g));
}

http::Response status_current(Sim& sim, Call& c) {
    int vmid = vmid_of(c);
    if (auto denied = sim.need_vm(c, vmid, "VM.Audit")) return *denied;
    const Guest* found = sim.find_guest(c.var("node"), c.kind, vmid);
    if (!found) return pve_error(500, Sim::missing_config(c.var("node"), c.kind, vmid));
    const auto& g = *found;
    json::object o{{"vmid", g.vmid},
                   {"name", g.name},
                   {"status", g.status},
                   {"cpus", 2},
                   {"maxmem", g.maxmem},
                   {"maxdisk", g.disk},
                   {"uptime", g.status == "running" ? sim.now_unix() - g.started_unix : 0}};
    if (c.kind == "qemu") {
        o["qmpstatus"] = g.status;
        o["agent"] = g.agent ? 1 : 0;
    }
    if (g.is_template) o["template"] = 1;
    if (!g.lock.empty()) o["lock"] = g.lock;
    return reply(o);
}

// GET/POST .../agent/{command}: ping and network-get-interfaces.
http::Response agent(Sim& sim, Call& c) {
    int vmid = vmid_of(c);
    const auto& command = c.var("command");
    if (command != "ping" && command != "network-get-interfaces")
        return pve_error(501, "Method '" + std::string(http::method_name(c.req.method)) + " " + c.req.path +
                                  "' not implemented");
    if (auto denied = sim.need_vm(c, vmid, "VM.Monitor")) return *denied;
    const Guest* g = sim.find_guest(c.var("node"), c.kind, vmid);
    if (!g) return pve_error(500, Sim::missing_config(c.var("node"), c.kind, vmid));
    if (g->status != "running") return pve_error(500, "VM " + std::to_string(vmid) + " is not running");
    if (!g->agent) return pve_error(500, "No QEMU guest agent configured");
    if (Clock::now() < g->agent_ready) return pve_error(500, "QEMU guest agent is not running");
    if (command == "ping") return reply(json::object{{"result", json::object{}}});
    return reply(sim.agent_interfaces(*g));
}

// POST .../vncproxy and .../termproxy: a console ticket and port, and the proxy's task (it waits
// console_wait_ms, 10 s on a real node, for the client to connect). The simulator serves no console behind
// it.
http::Response console_proxy(Sim& sim, Call& c, bool vnc) {
    int vmid = vmid_of(c);
    if (auto denied = sim.need_vm(c, vmid, "VM.Console")) return *denied;
    const Guest* g = sim.find_guest(c.var("node"), c.kind, vmid);
    if (!g) return pve_error(500, Sim::missing_config(c.var("node"), c.kind, vmid));
    if (g->status != "running") return pve_error(500, "VM " + std::to_string(vmid) + " not running");
    auto& task = sim.new_task(c.var("node"), vnc ? "vncproxy" : "vncshell", std::to_string(vmid), c.user);
    auto upid = task.upid;
    auto self = sim.shared_from_this();
    asio::co_spawn(
        sim.executor,
        [self, upid]() -> asio::awaitable<void> {
            co_await self->sleep(self->profile.console_wait_ms);
            self->end_task(upid, "OK");
        },
        asio::detached);
    json::object o{{"user", c.user},
                   {"ticket", "PVEVNC:" + hex8(sim.now_unix()) + "::" + core::random_hex(16)},
                   {"port", std::to_string(5900 + vmid % 100)},
                   {"upid", upid}};
    if (vnc) o["cert"] = "-----BEGIN CERTIFICATE-----\n(pve-sim)\n-----END CERTIFICATE-----\n";
    return reply(o);
}

}  // namespace

void add_qemu_routes(RouteTable& t) {
    for (const char* kind : {"qemu", "lxc"}) {
        std::string base = std::string("/nodes/{node}/") + kind;
        t.add({M::get, base, list_guests, true, kind});
        t.add({M::get, base + "/{vmid}/config", config, true, kind});
        t.add({M::get, base + "/{vmid}/status/current", status_current, true, kind});
        t.add({M::post, base + "/{vmid}/termproxy",
               [](Sim& s, Call& c) { return console_proxy(s, c, false); }, true, kind});
    }
    t.add({M::get, "/nodes/{node}/qemu/{vmid}/agent/{command}", agent, true, "qemu"});
    t.add({M::post, "/nodes/{node}/qemu/{vmid}/agent/{command}", agent, true, "qemu"});
    t.add({M::post, "/nodes/{node}/qemu/{vmid}/vncproxy",
           [](Sim& s, Call& c) { return console_proxy(s, c, true); }, true, "qemu"});
    t.add({M::post, "/nodes/{node}/lxc/{vmid}/vncproxy",
           [](Sim& s, Call& c) { return console_proxy(s, c, true); }, true, "lxc"});
}

}  // namespace np::pvesim
