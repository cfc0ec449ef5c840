// labpve's publish-time checks on the shipped example (examples/gns3-vpcs-router) and on broken copies; a
// projects_dir project read once per content.
#include "labpve/project_check.hpp"

#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
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

// A class of requests for one projects_dir project reads the file once (check_request and template_for of
// every request), and a changed file is read again (another template).
TEST(ProjectCheck, AProjectsDirProjectIsReadOncePerContent) {
    auto dir = fs::temp_directory_path() / ("np-project-once-" + std::to_string(getpid()));
    fs::create_directories(dir);
    fs::copy_file(kExamples / kProject, dir / "p.gns3project", fs::copy_options::overwrite_existing);
    int fd = inotify_init1(IN_NONBLOCK);
    ASSERT_GE(fd, 0);
    ASSERT_GE(inotify_add_watch(fd, (dir / "p.gns3project").c_str(), IN_OPEN), 0);
    auto opens = [fd] {
        int n = 0;
        alignas(inotify_event) char buf[4096];
        for (ssize_t got; (got = ::read(fd, buf, sizeof buf)) > 0;)
            for (char* at = buf; at < buf + got;) {
                const auto* e = reinterpret_cast<const inotify_event*>(at);
                if (e->mask & IN_OPEN) ++n;  // (not IN_IGNORED: the replaced file's watch ending)
                at += sizeof(inotify_event) + e->len;
            }
        return n;
    };
    boost::asio::io_context io;
    labpve::ProxmoxOptions o;
    o.projects_dir = dir;
    o.client.url = "https://127.0.0.1:8006";  // never reached: nothing here talks to Proxmox
    labpve::ProxmoxProvider provider(io.get_executor(), o);
    auto r = request({{"PC1", "vpcs"}, {"PC2", "vpcs"}, {"R1", "frr"}});
    r.gns3_project = "p.gns3project";
    std::string name;
    for (int i = 0; i < 20; ++i) {
        r.env = "np" + std::to_string(i);
        EXPECT_NO_THROW(provider.check_request(r));
        name = provider.template_for(r);
    }
    EXPECT_EQ(opens(), 1);
    // Replaced by other content (a copy with one more file): read again, another template.
    auto files = gns3::read_zip(read(kExamples / kProject));
    files["extra.txt"] = "x";
    std::ofstream(dir / "p.gns3project.new", std::ios::binary) << gns3::write_zip(files);
    fs::rename(dir / "p.gns3project.new", dir / "p.gns3project");
    ASSERT_GE(inotify_add_watch(fd, (dir / "p.gns3project").c_str(), IN_OPEN), 0);
    EXPECT_NE(provider.template_for(r), name);
    EXPECT_NO_THROW(provider.check_request(r));
    EXPECT_EQ(opens(), 1);
    close(fd);
    fs::remove_all(dir);
}
