// Nodes of the simulator as real devices: a project's local lab comes up with its first started node and
// goes down (keeping what the devices saved) with its last stopped one.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/error.hpp"
#include "core/log.hpp"
#include "gns3sim/impl.hpp"
#include "lab/local/console.hpp"

namespace np::gns3sim {

namespace asio = boost::asio;

namespace {

// Holds a project's busy flag for one start/stop/close (requests on one project run one at a time).
class BusyGuard {
 public:
    explicit BusyGuard(ProjectPtr p) : p_(std::move(p)) { p_->busy = true; }
    ~BusyGuard() { p_->busy = false; }
    BusyGuard(const BusyGuard&) = delete;
    BusyGuard& operator=(const BusyGuard&) = delete;

 private:
    ProjectPtr p_;
};

asio::awaitable<void> wait_idle(const Simulator::Impl& sim, const ProjectPtr& p) {
    while (p->busy) co_await sim.sleep(std::chrono::milliseconds(20));
}

asio::awaitable<std::unique_ptr<lab::ConsoleStream>> open_vtysh(asio::any_io_executor ex,
                                                                std::string pathspace) {
    std::vector<std::string> argv{"vtysh", "-N", pathspace};
    co_return lab::open_pty_console(ex, argv);
}

}  // namespace

std::vector<std::string> all_node_ids(const SimProject& p) {
    std::vector<std::string> ids;
    for (const auto& n : p.nodes()) ids.push_back(str_of(n.as_object(), "node_id"));
    return ids;
}

asio::awaitable<void> Simulator::Impl::sleep(std::chrono::milliseconds d) const {
    if (d.count() <= 0) co_return;
    asio::steady_timer t(executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<void> Simulator::Impl::start(ProjectPtr p, std::vector<std::string> node_ids) {
    co_await wait_idle(*this, p);
    if (p->status != "opened") throw core::forbidden("The project is not opened");
    BusyGuard busy(p);
    if (!p->lab_up) {
        // Validated as a local topology (names, links) before anything is made.
        auto topology = lab::parse_topology(lab::to_yaml(topology_of(*p)), p->name + ".gns3");
        auto env = p->env;
        // Captures by reference (these locals outlive the co_await): GCC 12 destroys a by-value closure
        // twice.
        co_await pool.run([&] { runtime.up(topology, env); });
        p->lab_up = true;
    }
    auto record = runtime.read(p->env);
    if (!record) throw core::internal("the lab of project " + p->name + " vanished");
    for (const auto& id : node_ids) {
        auto* node = p->node(id);
        if (!node) continue;
        auto& run = p->runs[id];
        if (run.started) continue;
        const auto* rec = record->find(lab_node_name(str_of(*node, "name")));
        if (!rec) throw core::internal("node " + str_of(*node, "name") + " is not in the lab");
        ConsoleOpener opener;
        auto ex = executor;
        bool pty = rec->kind != lab::NodeKind::vpcs;
        if (pty) {
            opener = [ex, ps = rec->pathspace]() { return open_vtysh(ex, ps); };
            run.command_line = "vtysh -N " + rec->pathspace;
        } else {
            opener = [ex, port = rec->console_port]() {
                return lab::open_tcp_console(ex, "127.0.0.1", port);
            };
            run.command_line = "/usr/bin/vpcs -p " + std::to_string(rec->console_port) + " -m " +
                               std::to_string(rec->mac_offset) + " -i 1 -F -R -s " +
                               std::to_string(rec->udp_port) + " -c " + std::to_string(rec->peer_port) +
                               " -t 127.0.0.1";
        }
        auto console = node->at("console");
        if (!console.is_int64()) continue;  // console_type none
        run.console = std::make_shared<ConsoleListener>(executor, options.console_host,
                                                        static_cast<std::uint16_t>(console.get_int64()),
                                                        std::move(opener), pty);
        run.console->start();
        run.started = true;
        co_await sleep(options.node_start_delay);
        log::info("gns3sim.node_started", {{"project", p->name}, {"node", str_of(*node, "name")}});
    }
}

asio::awaitable<void> Simulator::Impl::stop(ProjectPtr p, std::vector<std::string> node_ids) {
    co_await wait_idle(*this, p);
    if (p->status != "opened") throw core::forbidden("The project is not opened");
    BusyGuard busy(p);
    for (const auto& id : node_ids) {
        auto it = p->runs.find(id);
        if (it == p->runs.end() || !it->second.started) continue;
        if (it->second.console) it->second.console->stop();
        it->second.console.reset();
        it->second.started = false;
        co_await sleep(options.node_stop_delay);
    }
    bool any = false;
    for (const auto& [id, run] : p->runs) any = any || run.started;
    if (!any && p->lab_up) {
        auto env = p->env;
        co_await pool.run([&] { runtime.stop(env); });
        p->lab_up = false;
    }
}

asio::awaitable<void> Simulator::Impl::stop_all_and_remove(ProjectPtr p, bool remove_lab) {
    co_await wait_idle(*this, p);
    BusyGuard busy(p);
    for (auto& [id, run] : p->runs) {
        if (run.console) run.console->stop();
        run.console.reset();
        run.started = false;
    }
    auto env = p->env;
    bool was_up = p->lab_up;
    p->lab_up = false;
    if (remove_lab) {
        co_await pool.run([&] {
            try {
                runtime.down(env);
            } catch (const core::Error& e) {
                if (e.code() != core::Code::not_found) throw;
            }
        });
    } else if (was_up) {
        co_await pool.run([&] { runtime.stop(env); });
    }
}

}  // namespace np::gns3sim
