// gns3::Client against the simulator, without devices: projects (import, open, close, export, duplicate,
// snapshots, delete), nodes and links of an opened project, the server's errors, Basic auth.
#include "sim_fixture.hpp"

namespace np::gns3 {
namespace {

TEST_F(SimTest, ProjectLifecycleAndErrors) {
    run([&](Client& c) -> asio::awaitable<void> {
        auto v = co_await c.version();
        EXPECT_EQ(v.version, "2.2.59");
        auto computes = co_await c.computes();
        CO_ASSERT(computes.size() == 1u);
        EXPECT_EQ(computes[0].compute_id, "local");

        std::string id = random_uuid();
        auto p = co_await c.import_project(example_zip(), "lab1", id);
        EXPECT_EQ(p.project_id, id);
        EXPECT_EQ(p.name, "lab1");
        EXPECT_EQ(p.status, "closed");  // an imported project is closed
        EXPECT_EQ((co_await c.find_project("lab1")).project_id, id);
        EXPECT_EQ((co_await c.projects()).size(), 1u);
        // Closed: no nodes listed, none can start.
        EXPECT_TRUE((co_await c.nodes(id)).empty());
        EXPECT_GNS3_ERROR(c.start_nodes(id), core::Code::forbidden, "The project is not opened");

        p = co_await c.open_project(id);
        EXPECT_EQ(p.status, "opened");
        auto nodes = co_await c.nodes(id);
        CO_ASSERT(nodes.size() == 3u);
        std::set<int> ports;
        for (const auto& n : nodes) {
            EXPECT_EQ(n.status, "stopped");
            EXPECT_EQ(n.console_type, "telnet");
            CO_ASSERT(n.console.has_value());  // present even while stopped
            EXPECT_GE(*n.console, options_.console_port_min);
            EXPECT_LE(*n.console, options_.console_port_max);
            ports.insert(*n.console);
            EXPECT_EQ(n.project_id, id);
        }
        EXPECT_EQ(ports.size(), 3u);
        EXPECT_EQ((co_await c.links(id)).size(), 2u);
        auto file_nodes = parse_project_file_nodes(co_await c.project_file(id, "lab1.gns3"));
        EXPECT_EQ(file_nodes.size(), 3u);
        // Files at any depth of the project folder (the route's {path...}); a missing one, a climbing one,
        // and a known path under another method are the server's 404, 403 and 405.
        for (const auto& n : nodes)
            if (n.node_type == "dynamips") {
                auto cfg = co_await c.project_file(
                    id, "project-files/dynamips/" + n.node_id + "/configs/i1_startup-config.cfg");
                EXPECT_FALSE(cfg.empty());
            }
        EXPECT_GNS3_ERROR(c.project_file(id, "project-files/vpcs/none/startup.vpc"), core::Code::not_found,
                          "404: Not Found");
        EXPECT_GNS3_ERROR(c.project_file(id, "project-files/../../etc/passwd"), core::Code::forbidden, "403");
        EXPECT_GNS3_ERROR(c.call("DELETE", "/projects/" + id + "/export", "", "export", false,
                                 std::chrono::milliseconds(0)),
                          core::Code::upstream, "405: Method Not Allowed");
        auto one = co_await c.node(id, nodes[2].node_id);
        EXPECT_EQ(one.name, nodes[2].name);

        // Export while stopped: a portable project that imports again (a taken name gets -1).
        ExportOptions eo;
        auto zip = co_await c.export_project(id, eo);
        auto again = co_await c.import_project(zip, "lab1", random_uuid());
        EXPECT_EQ(again.name, "lab1-1");

        auto dup = co_await c.duplicate_project(id, "lab1-copy", false);
        EXPECT_EQ(dup.status, "closed");
        EXPECT_NE(dup.project_id, id);

        auto snap = co_await c.create_snapshot(id, "initial");
        EXPECT_EQ((co_await c.snapshots(id)).size(), 1u);
        auto restored = co_await c.restore_snapshot(id, snap.snapshot_id);
        EXPECT_EQ(restored.status, "opened");
        EXPECT_GNS3_ERROR(c.create_snapshot(id, "initial"), core::Code::conflict, "already exists");

        co_await c.close_project(id);
        EXPECT_EQ((co_await c.project(id)).status, "closed");
        co_await c.delete_project(id);
        EXPECT_GNS3_ERROR(c.project(id), core::Code::not_found, "Project ID " + id + " doesn't exist");
        EXPECT_GNS3_ERROR(c.find_project("lab1"), core::Code::not_found, "no project");

        // Bad input: the server's own messages.
        EXPECT_GNS3_ERROR(c.import_project("not a zip", "x", random_uuid()), core::Code::conflict,
                          "Cannot import project, not a GNS3 project (invalid zip)");
        EXPECT_GNS3_ERROR(c.open_project("../../etc"), core::Code::invalid, "is not a UUID");
        EXPECT_GNS3_ERROR(
            c.call("POST", "/projects", "{\"name\": ", "create", false, std::chrono::milliseconds(0)),
            core::Code::invalid, "Invalid JSON body");
        auto created = co_await c.create_project("empty", random_uuid());
        EXPECT_EQ(created.status, "opened");
        EXPECT_GNS3_ERROR(c.create_project("empty", random_uuid()), core::Code::conflict, "already exists");
    });
}

// With a projects folder, projects outlive the simulator, and a restarted one has every project closed.
TEST_F(SimTest, AfterARestartEveryProjectIsClosed) {
    options_.projects_dir = state_dir_ / "projects";
    std::string id = random_uuid();
    std::vector<std::string> node_ids;
    run([&](Client& c) -> asio::awaitable<void> {
        co_await c.import_project(example_zip(), "kept", id);
        co_await c.open_project(id);
        for (const auto& n : co_await c.nodes(id)) node_ids.push_back(n.node_id);
        co_await c.create_project("dropped", random_uuid());
        co_await c.delete_project((co_await c.find_project("dropped")).project_id);
    });
    run([&](Client& c) -> asio::awaitable<void> {
        auto projects = co_await c.projects();
        CO_ASSERT(projects.size() == 1u);
        EXPECT_EQ(projects[0].project_id, id);
        EXPECT_EQ(projects[0].name, "kept");
        EXPECT_EQ(projects[0].status, "closed");
        EXPECT_GNS3_ERROR(c.start_nodes(id), core::Code::forbidden, "The project is not opened");
        co_await c.open_project(id);
        std::vector<std::string> again;
        for (const auto& n : co_await c.nodes(id)) again.push_back(n.node_id);
        EXPECT_EQ(again, node_ids);  // the same nodes, not a new import
    });
}

TEST_F(SimTest, BasicAuth) {
    options_.user = "admin";
    options_.password = "s3cret";
    run([&](Client& c) -> asio::awaitable<void> {
        EXPECT_GNS3_ERROR(c.version(), core::Code::unauthenticated, "401");
    });
    ClientOptions wrong;
    wrong.user = "admin";
    wrong.password = "nope";
    run(
        [&](Client& c) -> asio::awaitable<void> {
            EXPECT_GNS3_ERROR(c.projects(), core::Code::unauthenticated, "user and password");
        },
        wrong);
    ClientOptions right;
    right.user = "admin";
    right.password = "s3cret";
    run([&](Client& c) -> asio::awaitable<void> { EXPECT_EQ((co_await c.version()).version, "2.2.59"); },
        right);
}

}  // namespace
}  // namespace np::gns3
