// The simulator's nodes as real devices (root, FRR, VPCS): started nodes answer on their console ports (VPCS,
// and vtysh of the FRR standing in for the dynamips router), export is refused while they run, a stopped
// node's console is closed, and closing or deleting leaves no namespace or process behind.
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include "lab/local/console.hpp"
#include "sim_fixture.hpp"

namespace np::gns3 {
namespace {

using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

// Sends `input` (if any), then reads until `needle` shows up or 20 s pass; returns everything read.
asio::awaitable<std::string> converse(lab::ConsoleStream& console, std::string input, std::string needle) {
    if (!input.empty()) co_await console.write(input);
    std::string text;
    asio::steady_timer deadline(co_await asio::this_coro::executor, 20s);
    char buf[4096];
    while (text.find(needle) == std::string::npos) {
        auto r = co_await (console.read_some(std::span<char>(buf, sizeof buf)) ||
                           deadline.async_wait(asio::use_awaitable));
        if (r.index() == 1) break;
        auto n = std::get<0>(r);
        if (n == 0) break;
        text.append(buf, n);
    }
    co_return text;
}

bool namespaces_with_prefix(const std::string& prefix) {
    for (const auto& e : fs::directory_iterator("/run/netns"))
        if (e.path().filename().string().rfind(prefix, 0) == 0) return true;
    return false;
}

TEST_F(SimTest, NodesAreRealDevicesBehindTheirConsoles) {
    if (!have_devices()) GTEST_SKIP() << "needs root, frr and vpcs";
    run([&](Client& c) -> asio::awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        std::string id = random_uuid();
        co_await c.import_project(example_zip(), "devices", id);
        co_await c.open_project(id);
        co_await c.start_nodes(id);
        std::map<std::string, Node> by_name;
        for (auto& n : co_await c.nodes(id)) by_name[n.name] = n;
        CO_ASSERT(by_name.size() == 3u);
        for (const auto& [name, n] : by_name) EXPECT_EQ(n.status, "started") << name;
        EXPECT_FALSE(by_name["PC1"].command_line.empty());

        auto pc1 = co_await lab::open_tcp_console(ex, console_address(by_name["PC1"], c.host()),
                                                  static_cast<std::uint16_t>(*by_name["PC1"].console));
        auto shown = co_await converse(*pc1, "show ip\r\n", "GATEWAY");
        EXPECT_NE(shown.find("10.0.1.10/24"), std::string::npos) << shown;
        pc1->close();

        auto r1 = co_await lab::open_tcp_console(ex, "127.0.0.1",
                                                 static_cast<std::uint16_t>(*by_name["R1"].console));
        auto brief = co_await converse(*r1, "\r\nshow interface brief\r\n", "10.0.2.1/24");
        EXPECT_NE(brief.find("eth0"), std::string::npos) << brief;
        EXPECT_NE(brief.find("10.0.2.1/24"), std::string::npos) << brief;
        r1->close();

        ExportOptions eo;
        EXPECT_GNS3_ERROR(c.export_project(id, eo), core::Code::conflict,
                          "409 Project must be stopped in order to export it");

        auto stopped = co_await c.stop_node(id, by_name["PC2"].node_id);
        EXPECT_EQ(stopped.status, "stopped");
        EXPECT_GNS3_ERROR(
            lab::open_tcp_console(ex, "127.0.0.1", static_cast<std::uint16_t>(*stopped.console)),
            core::Code::unavailable, "cannot connect");
        auto again = co_await c.start_node(id, by_name["PC2"].node_id);
        EXPECT_EQ(again.status, "started");

        co_await c.stop_nodes(id);
        for (const auto& n : co_await c.nodes(id)) EXPECT_EQ(n.status, "stopped") << n.name;
        EXPECT_FALSE(namespaces_with_prefix(options_.env_prefix));  // stopped: the lab's namespaces are gone
        auto zip = co_await c.export_project(id, eo);
        EXPECT_GT(zip.size(), 100u);

        co_await c.start_nodes(id);
        co_await c.close_project(id);  // stops the nodes
        EXPECT_FALSE(namespaces_with_prefix(options_.env_prefix));
        EXPECT_GNS3_ERROR(c.start_nodes(id), core::Code::forbidden, "The project is not opened");
        co_await c.open_project(id);
        co_await c.start_nodes(id);  // again after a close
        EXPECT_EQ((co_await c.node(id, by_name["R1"].node_id)).status, "started");
        co_await c.delete_project(id);
        EXPECT_FALSE(namespaces_with_prefix(options_.env_prefix));
    });
    lab::LocalRuntime runtime(options_.runtime);
    EXPECT_TRUE(runtime.list().empty());
}

}  // namespace
}  // namespace np::gns3
