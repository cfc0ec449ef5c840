// gns3::parse_* against real 2.2.59 replies and project files (fixtures/), and gns3::api_error.
#include "gns3/types.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "gns3/client.hpp"

namespace np::gns3 {
namespace {

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(NETPRAXIS_SOURCE_DIR) + "/tests/unit/gns3/fixtures/" + name);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(Gns3Types, NodesListOfARealServer) {
    auto nodes = parse_nodes(fixture("nodes_list_response_real_2.2.59.json"));
    ASSERT_EQ(nodes.size(), 2u);
    const auto& pc1 = nodes[0];
    EXPECT_EQ(pc1.name, "PC1");
    EXPECT_EQ(pc1.node_id, "3297d5c3-af60-4d52-9a72-988415c5ecf5");
    EXPECT_EQ(pc1.project_id, "4aea99e5-2e61-4fa6-b38e-c62139037836");
    EXPECT_EQ(pc1.node_type, "vpcs");
    EXPECT_EQ(pc1.compute_id, "local");
    EXPECT_EQ(pc1.status, "started");
    ASSERT_TRUE(pc1.console.has_value());
    EXPECT_EQ(*pc1.console, 5000);
    EXPECT_EQ(pc1.console_host, "127.0.0.1");
    EXPECT_EQ(pc1.console_type, "telnet");
    EXPECT_EQ(pc1.template_id, "");  // null
    EXPECT_EQ(pc1.properties, "{}");
    EXPECT_NE(pc1.command_line.find("vpcs -p 5001"), std::string::npos);
    ASSERT_EQ(pc1.ports.size(), 1u);
    EXPECT_EQ(pc1.ports[0].name, "Ethernet0");
    EXPECT_EQ(pc1.ports[0].short_name, "e0");
    EXPECT_EQ(pc1.ports[0].link_type, "ethernet");
    EXPECT_EQ(*nodes[1].console, 5002);
    EXPECT_EQ(nodes[1].name, "PC2");
}

TEST(Gns3Types, ConsoleAddressOfANodeListeningEverywhere) {
    Node n;
    n.console_host = "127.0.0.1";
    EXPECT_EQ(console_address(n, "gns3vm"), "127.0.0.1");
    for (const char* any : {"0.0.0.0", "::", ""}) {
        n.console_host = any;
        EXPECT_EQ(console_address(n, "gns3vm"), "gns3vm") << any;
    }
}

TEST(Gns3Types, ProjectFileNodes) {
    auto nodes = parse_project_file_nodes(fixture("two_vpcs_one_router.gns3"));
    ASSERT_EQ(nodes.size(), 3u);
    EXPECT_EQ(nodes[2].name, "R1");
    EXPECT_EQ(nodes[2].node_type, "dynamips");
    EXPECT_EQ(nodes[2].console.value_or(0), 5004);
    auto real = parse_project_file_nodes(fixture("two_vpcs_real_2.2.59.gns3"));
    ASSERT_EQ(real.size(), 2u);
    EXPECT_EQ(real[0].node_type, "vpcs");
    EXPECT_THROW(parse_project_file_nodes("{\"name\": 1}"), core::Error);
    EXPECT_THROW(parse_project_file_nodes("not json"), core::Error);
}

TEST(Gns3Types, ProjectsVersionComputesLinksSnapshots) {
    auto projects = parse_projects(
        R"([{"auto_close": true, "auto_open": false, "auto_start": false, "drawing_grid_size": 25,
             "filename": "lab.gns3", "grid_size": 75, "name": "lab", "path": "/opt/gns3/projects/x",
             "project_id": "4aea99e5-2e61-4fa6-b38e-c62139037836", "scene_height": 1000, "scene_width": 2000,
             "show_grid": false, "show_interface_labels": false, "show_layers": false, "snap_to_grid": false,
             "status": "closed", "supplier": null, "variables": null, "zoom": 100}])");
    ASSERT_EQ(projects.size(), 1u);
    EXPECT_EQ(projects[0].status, "closed");
    EXPECT_EQ(projects[0].filename, "lab.gns3");
    EXPECT_TRUE(projects[0].auto_close);
    auto v = parse_version(R"({"local": true, "version": "2.2.59"})");
    EXPECT_EQ(v.version, "2.2.59");
    EXPECT_TRUE(v.local);
    auto computes = parse_computes(
        R"([{"capabilities": {"node_types": ["vpcs", "qemu"], "platform": "linux", "version": "2.2.59"},
             "compute_id": "local", "connected": true, "cpu_usage_percent": 3.1, "host": "127.0.0.1",
             "last_error": null, "memory_usage_percent": 20.5, "name": "gns3vm", "port": 3080,
             "protocol": "http", "user": null}])");
    ASSERT_EQ(computes.size(), 1u);
    EXPECT_EQ(computes[0].compute_id, "local");
    EXPECT_EQ(computes[0].node_types.size(), 2u);
    EXPECT_DOUBLE_EQ(computes[0].memory_usage_percent, 20.5);
    auto links = parse_links(
        R"([{"capture_compute_id": null, "capture_file_name": null, "capture_file_path": null, "capturing": false,
             "filters": {}, "link_id": "a1b2c3d4-0001-4000-8000-000000000001", "link_style": {}, "link_type": "ethernet",
             "nodes": [{"adapter_number": 0, "node_id": "n1", "port_number": 0},
                       {"adapter_number": 1, "node_id": "n2", "port_number": 0}],
             "project_id": "p", "suspend": false}])");
    ASSERT_EQ(links.size(), 1u);
    ASSERT_EQ(links[0].nodes.size(), 2u);
    EXPECT_EQ(links[0].nodes[1].adapter_number, 1);
    auto snap =
        parse_snapshot(R"({"created_at": 1700000000, "name": "s1", "project_id": "p", "snapshot_id": "s"})");
    EXPECT_EQ(snap.created_at, 1700000000);
}

TEST(Gns3Types, UnexpectedShapesNameTheField) {
    try {
        parse_nodes(R"([{"node_id": "x", "console": "five"}])");
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::upstream);
        EXPECT_NE(std::string(e.what()).find("'console'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_projects("{}"), core::Error);
    EXPECT_THROW(parse_project("[]"), core::Error);
    EXPECT_THROW(parse_version("<html>"), core::Error);
}

TEST(Gns3Types, ErrorRepliesBecomeClearMessages) {
    auto e = api_error(409, "Conflict",
                       R"({"message": "Project must be stopped in order to export it", "status": 409})",
                       "export project lab");
    EXPECT_EQ(e.code(), core::Code::conflict);
    EXPECT_EQ(std::string(e.what()),
              "GNS3 export project lab: 409 Project must be stopped in order to export it");
    EXPECT_EQ(e.server_message(), "Project must be stopped in order to export it");
    EXPECT_FALSE(e.retryable());
    EXPECT_EQ(api_error(401, "Unauthorized", "", "list").code(), core::Code::unauthenticated);
    EXPECT_NE(std::string(api_error(401, "Unauthorized", "", "list").what()).find("user and password"),
              std::string::npos);
    EXPECT_EQ(api_error(403, "", R"({"message": "The project is not opened", "status": 403})", "x").code(),
              core::Code::forbidden);
    EXPECT_EQ(api_error(404, "Not Found", "404: Not Found", "x").code(), core::Code::not_found);
    EXPECT_EQ(api_error(400, "", R"({"message": "Invalid JSON body", "status": 400})", "x").code(),
              core::Code::invalid);
    EXPECT_TRUE(api_error(503, "Service Unavailable", "", "x").retryable());
    EXPECT_FALSE(api_error(500, "", R"({"message": "Traceback...", "status": 500})", "x").retryable());
}

TEST(Gns3Types, Uuids) {
    EXPECT_TRUE(is_uuid("3297d5c3-af60-4d52-9a72-988415c5ecf5"));
    EXPECT_FALSE(is_uuid("3297d5c3af604d529a72988415c5ecf5"));
    EXPECT_FALSE(is_uuid("../../etc/passwd-aaaa-bbbb-cccc-dddddd"));
    for (int i = 0; i < 20; ++i) {
        auto u = random_uuid();
        EXPECT_TRUE(is_uuid(u)) << u;
        EXPECT_EQ(u[14], '4');
    }
}

}  // namespace
}  // namespace np::gns3
