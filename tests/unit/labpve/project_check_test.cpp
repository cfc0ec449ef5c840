// labpve's publish-time checks on the shipped example (examples/gns3-vpcs-router) and on broken copies.
#include "labpve/project_check.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "gns3/zip.hpp"
#include "labpve/proxmox_provider.hpp"

namespace fs = std::filesystem;
using namespace np;

namespace {

const fs::path kExamples = fs::path(NETPRAXIS_SOURCE_DIR) / "examples";
const std::string kProject = "gns3-vpcs-router/gns3-vpcs-router.gns3project";

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

lab::LabRequest request(std::map<std::string, std::string> devices) {
    lab::LabRequest r;
    r.env = "t";
    r.gns3_project = kProject;
    r.devices = std::move(devices);
    return r;
}

std::vector<core::FieldError> fields_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::invalid) << e.what();
        return e.fields();
    }
    ADD_FAILURE() << "no error";
    return {};
}

}  // namespace

TEST(ProjectCheck, TheShippedExampleMatchesItsSpec) {
    auto nodes = labpve::portable_project_nodes(read(kExamples / kProject), "gns3_project");
    std::set<std::string> names;
    for (const auto& n : nodes) names.insert(n.name);
    EXPECT_EQ(names, (std::set<std::string>{"PC1", "PC2", "R1"}));
    EXPECT_NO_THROW(
        labpve::check_gns3_exercise(kExamples, request({{"PC1", "vpcs"}, {"PC2", "vpcs"}, {"R1", "frr"}})));
}

TEST(ProjectCheck, NodesAndDevicesThatDoNotMatchAreNamed) {
    auto fields = fields_of([] {
        labpve::check_gns3_exercise(kExamples, request({{"PC1", "vpcs"}, {"R1", "frr"}, {"R9", "frr"}}));
    });
    ASSERT_EQ(fields.size(), 2u);
    EXPECT_EQ(fields[0].path, "gns3_project.nodes.PC2");
    EXPECT_NE(fields[0].message.find("matches no device"), std::string::npos);
    EXPECT_EQ(fields[1].path, "spec.devices.R9");
    EXPECT_NE(fields[1].message.find("has no node"), std::string::npos);
}

TEST(ProjectCheck, NotAPortableProjectIsRefused) {
    auto dir = fs::temp_directory_path() / ("np-labpve-" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "junk.gns3project") << "this is not a zip";
    std::ofstream(dir / "empty.gns3project", std::ios::binary)
        << gns3::write_zip({{"README", "no topology"}});
    for (const char* name : {"junk.gns3project", "empty.gns3project", "missing.gns3project", "../escape"}) {
        auto r = request({{"PC1", "vpcs"}});
        r.gns3_project = name;
        auto fields = fields_of([&] { labpve::check_gns3_exercise(dir, r); });
        ASSERT_EQ(fields.size(), 1u) << name;
        EXPECT_EQ(fields[0].path, "gns3_project") << name;
    }
    fs::remove_all(dir);
}

TEST(ProjectCheck, ANodeTypeWithNoKnownPlatformIsRefused) {
    std::vector<gns3::FileNode> nodes{{"a", "PC1", "vpcs", 5000, "telnet"},
                                      {"b", "SW1", "ethernet_switch", std::nullopt, "none"},
                                      {"c", "X1", "virtualbox", 5001, "telnet"}};
    auto fields = labpve::check_project_devices(nodes, {{"PC1", "vpcs"}, {"X1", "linux"}}, "gns3_project");
    ASSERT_EQ(fields.size(), 1u);
    EXPECT_EQ(fields[0].path, "gns3_project.nodes.X1");
    EXPECT_NE(fields[0].message.find("no known platform"), std::string::npos);
}
