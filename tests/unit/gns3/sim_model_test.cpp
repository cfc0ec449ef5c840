// The simulator's model: portable projects (zip in and out, the real import's errors and id regeneration),
// node ports as gns3-server lists them, and the local lab a project becomes.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "gns3/zip.hpp"
#include "gns3sim/model.hpp"

namespace np::gns3sim {
namespace {

std::string read(const std::string& path) {
    std::ifstream in(std::string(NETPRAXIS_SOURCE_DIR) + "/" + path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const char* kProjectId = "0f7e3c1a-1111-4222-8333-444455556666";

std::string conflict_of(std::string_view zip) {
    try {
        import_portable(zip, kProjectId, "");
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::conflict);
        return e.what();
    }
    return "imported";
}

TEST(Gns3SimModel, ZipRoundTrip) {
    Files files{{"project.gns3", "{}"}, {"project-files/vpcs/x/startup.vpc", std::string(100000, 'a')}};
    auto zip = write_zip(files);
    EXPECT_LT(zip.size(), 10000u);  // deflated
    EXPECT_EQ(read_zip(zip), files);
    EXPECT_THROW(read_zip("PK\x03\x04 not really"), core::Error);
    EXPECT_THROW(read_zip(""), core::Error);
}

TEST(Gns3SimModel, ImportsTheExampleWithNewIds) {
    auto p = import_portable(read("examples/gns3-vpcs-router/gns3-vpcs-router.gns3project"), kProjectId, "");
    EXPECT_EQ(p.name, "gns3-vpcs-router");
    EXPECT_EQ(str_of(p.file, "project_id"), kProjectId);
    ASSERT_EQ(p.nodes().size(), 3u);
    std::string r1_id;
    for (const auto& n : p.nodes()) {
        EXPECT_NE(str_of(n.as_object(), "node_id"), "9d2f6a40-7c1e-4b55-8e0a-3b1d2c4e5f60");  // regenerated
        if (str_of(n.as_object(), "name") == "R1") r1_id = str_of(n.as_object(), "node_id");
    }
    EXPECT_TRUE(p.files.count("project-files/dynamips/" + r1_id + "/configs/i1_startup-config.cfg"));
    EXPECT_EQ(project_json(p).at("status").as_string(), "closed");
    EXPECT_EQ(project_json(p).at("filename").as_string(), "gns3-vpcs-router.gns3");

    auto named =
        import_portable(read("examples/gns3-vpcs-router/gns3-vpcs-router.gns3project"), kProjectId, "lab7");
    EXPECT_EQ(named.name, "lab7");

    // Export and import again: the same topology.
    auto again = import_portable(export_portable(p), kProjectId, "");
    EXPECT_EQ(again.nodes().size(), 3u);
    EXPECT_EQ(again.links().size(), 2u);
}

TEST(Gns3SimModel, ImportErrorsAreTheRealServers) {
    EXPECT_EQ(conflict_of("this is not a zip"), "Cannot import project, not a GNS3 project (invalid zip)");
    EXPECT_EQ(conflict_of(write_zip({{"topology.gns3", "{}"}})),
              "Cannot import project, project.gns3 file could not be found");
    EXPECT_EQ(conflict_of(write_zip({{"project.gns3", "{not json"}})),
              "Cannot import project, the project.gns3 file is corrupted");
    EXPECT_EQ(conflict_of(write_zip({{"project.gns3", R"({"name": "x", "type": "topology"})"}})),
              "Cannot import project, the project.gns3 file is corrupted");
    auto newer = new_project_file(kProjectId, "x");
    newer["revision"] = 10;
    newer["version"] = "3.0.0";
    EXPECT_NE(conflict_of(write_zip({{"project.gns3", json::serialize(newer)}})).find("more recent version"),
              std::string::npos);
}

TEST(Gns3SimModel, PortsAsTheServerListsThem) {
    auto p = import_portable(read("examples/gns3-vpcs-router/gns3-vpcs-router.gns3project"), kProjectId, "");
    for (const auto& n : p.nodes()) {
        auto ports = ports_of(n.as_object());
        if (str_of(n.as_object(), "name") == "R1") {
            // slot0 C7200-IO-FE (f0/0), slot1 PA-2FE-TX (f1/0, f1/1)
            ASSERT_EQ(ports.size(), 3u);
            EXPECT_EQ(ports[0].at("name").as_string(), "FastEthernet0/0");
            EXPECT_EQ(ports[2].at("short_name").as_string(), "f1/1");
            EXPECT_EQ(ports[2].at("adapter_number").as_int64(), 1);
        } else {
            ASSERT_EQ(ports.size(), 1u);
            EXPECT_EQ(ports[0].at("name").as_string(), "Ethernet0");
            EXPECT_EQ(ports[0].at("data_link_types").at("Ethernet").as_string(), "DLT_EN10MB");
        }
    }
}

TEST(Gns3SimModel, AProjectBecomesALocalLab) {
    auto p = import_portable(read("examples/gns3-vpcs-router/gns3-vpcs-router.gns3project"), kProjectId, "");
    auto t = topology_of(p);
    ASSERT_EQ(t.nodes.size(), 3u);
    const auto* r1 = t.find("r1");
    ASSERT_NE(r1, nullptr);
    EXPECT_EQ(r1->kind, lab::NodeKind::frr);
    EXPECT_NE(r1->config.find("10.0.2.1/24"), std::string::npos);
    EXPECT_EQ(t.find("pc1")->kind, lab::NodeKind::vpcs);
    EXPECT_NE(t.find("pc1")->config.find("ip 10.0.1.10/24"), std::string::npos);
    ASSERT_EQ(t.links.size(), 2u);
    EXPECT_EQ(t.links[0].a.node + ":" + t.links[0].a.iface, "pc1:eth0");
    EXPECT_EQ(t.links[0].b.node + ":" + t.links[0].b.iface, "r1:eth0");
    EXPECT_EQ(t.links[1].b.node + ":" + t.links[1].b.iface, "r1:eth1");
    // What the local runtime accepts.
    EXPECT_NO_THROW(lab::parse_topology(lab::to_yaml(t)));

    auto sw = p;
    sw.nodes()[0].as_object()["node_type"] = "ethernet_switch";
    EXPECT_THROW(topology_of(sw), core::Error);
    auto clash = p;
    clash.nodes()[1].as_object()["name"] = "pc1";  // PC1 and pc1: one lab node
    EXPECT_THROW(topology_of(clash), core::Error);
}

}  // namespace
}  // namespace np::gns3sim
