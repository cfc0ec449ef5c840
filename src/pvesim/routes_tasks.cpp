// Task routes: /nodes/{node}/tasks (list, newest first, with PVE's filters), .../tasks/{upid}/status and
// .../log. A user without Sys.Audit on /nodes/{node} sees only their own tasks (and their tokens'), as in
// pve-manager's task API.
#include <boost/json.hpp>

#include "pvesim/impl.hpp"

namespace np::pvesim {

namespace json = boost::json;

namespace {

using M = http::Method;
using Sim = Simulator::Impl;

bool may_see(const Sim& sim, const std::string& user, const Task& t) {
    if (t.user == user || t.user.rfind(user + "!", 0) == 0) return true;
    return sim.has(user, "/nodes/" + t.node, "Sys.Audit");
}

struct TaskFilter {
    std::string source, vmid, typefilter, userfilter;
    std::int64_t since = 0;
    std::size_t limit = 50, start = 0;

    explicit TaskFilter(Params& p) {
        source = p.count("source") ? p["source"] : "archive";
        since = p.count("since") ? std::stoll(p["since"]) : 0;
        limit = p.count("limit") ? std::stoul(p["limit"]) : 50;
        start = p.count("start") ? std::stoul(p["start"]) : 0;
        vmid = p.count("vmid") ? p["vmid"] : "";
        typefilter = p.count("typefilter") ? p["typefilter"] : "";
        userfilter = p.count("userfilter") ? p["userfilter"] : "";
    }
    bool keeps(const Task& t) const {
        if (source == "active" && !t.running) return false;
        if (source == "archive" && t.running) return false;
        if (since && t.starttime < since) return false;
        if (!vmid.empty() && t.id != vmid) return false;
        if (!typefilter.empty() && t.type != typefilter) return false;
        return userfilter.empty() || t.user.find(userfilter) != std::string::npos;
    }
};

http::Response list_tasks(Sim& sim, Call& c) {
    TaskFilter f(c.p);
    json::array a;
    std::size_t skipped = 0, total = 0;
    auto& list = sim.node_tasks[c.var("node")];
    for (auto it = list.rbegin(); it != list.rend(); ++it) {  // newest first
        const auto& t = sim.tasks.at(*it);
        if (!f.keeps(t) || !may_see(sim, c.user, t)) continue;
        ++total;
        if (skipped < f.start) {
            ++skipped;
            continue;
        }
        if (a.size() >= f.limit) continue;
        json::object o{{"upid", t.upid},           {"node", t.node}, {"pid", t.pid}, {"pstart", t.pstart},
                       {"starttime", t.starttime}, {"type", t.type}, {"id", t.id},   {"user", t.user}};
        if (!t.running) {
            o["status"] = t.exitstatus;
            o["endtime"] = t.endtime;
        }
        a.push_back(o);
    }
    json::object out{{"data", a}, {"total", total}};
    return http::json_response(200, json::serialize(out));
}

// The task of a task route, or the error to answer.
const Task* task_of(Sim& sim, Call& c, http::Response& error) {
    auto it = sim.tasks.find(c.var("upid"));
    if (it == sim.tasks.end() || it->second.node != c.var("node")) {
        error = pve_error(500, "no such task");
        return nullptr;
    }
    if (!may_see(sim, c.user, it->second)) {
        ++sim.permission_denials;
        error = perm_error("/nodes/" + it->second.node, "Sys.Audit");
        return nullptr;
    }
    return &it->second;
}

http::Response task_status(Sim& sim, Call& c) {
    http::Response error;
    const Task* t = task_of(sim, c, error);
    if (!t) return error;
    json::object o{
        {"upid", t->upid},     {"node", t->node},           {"pid", t->pid},
        {"pstart", t->pstart}, {"starttime", t->starttime}, {"type", t->type},
        {"id", t->id},         {"user", t->user},           {"status", t->running ? "running" : "stopped"}};
    if (!t->running) o["exitstatus"] = t->exitstatus;
    return reply(o);
}

http::Response task_log(Sim& sim, Call& c) {
    http::Response error;
    const Task* t = task_of(sim, c, error);
    if (!t) return error;
    std::size_t start = c.p.count("start") ? std::stoul(c.p["start"]) : 0;
    std::size_t limit = c.p.count("limit") ? std::stoul(c.p["limit"]) : 50;
    json::array a;
    for (std::size_t i = start; i < t->log.size() && a.size() < limit; ++i)
        a.push_back(json::object{{"n", i + 1}, {"t", t->log[i]}});
    json::object out{{"data", a}, {"total", t->log.size()}};
    return http::json_response(200, json::serialize(out));
}

}  // namespace

void add_task_routes(RouteTable& t) {
    t.add({M::get, "/nodes/{node}/tasks", list_tasks});
    t.add({M::get, "/nodes/{node}/tasks/{upid}/status", task_status});
    t.add({M::get, "/nodes/{node}/tasks/{upid}/log", task_log});
}

}  // namespace np::pvesim
