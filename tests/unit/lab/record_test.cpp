// The recorded lab state round-trips, and the inventory made from it tells the grader how to reach nodes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "lab/local/local_inventory.hpp"
#include "lab/local/runtime.hpp"

namespace np::lab {
namespace {

LabRecord sample() {
    LabRecord r;
    r.env = "s1";
    r.topology_name = "demo";
    r.status = "running";
    r.created_at = 1764095000;
    r.topology_yaml = "name: demo\n";
    r.nodes.push_back({"r1", NodeKind::frr, "s1_r1", "s1_r1", 0, 0, 0, 0, {}});
    r.nodes.push_back({"h1", NodeKind::linux, "s1_h1", "", 0, 0, 0, 0, {}});
    r.nodes.push_back({"pc1", NodeKind::vpcs, "", "", 5003, 40010, 40011, 1, {123, 124}});
    r.bridges.push_back({"s1_r1", "eth1", 40011, 40010, 125});
    return r;
}

TEST(LabRecord, RoundTripsThroughJson) {
    auto back = record_from_json(record_to_json(sample()), "test");
    EXPECT_EQ(back.env, "s1");
    EXPECT_EQ(back.status, "running");
    ASSERT_EQ(back.nodes.size(), 3u);
    EXPECT_EQ(back.nodes[0].pathspace, "s1_r1");
    EXPECT_EQ(back.nodes[2].kind, NodeKind::vpcs);
    EXPECT_EQ(back.nodes[2].console_port, 5003);
    EXPECT_EQ(back.nodes[2].pids, (std::vector<pid_t>{123, 124}));
    ASSERT_EQ(back.bridges.size(), 1u);
    EXPECT_EQ(back.bridges[0].ifname, "eth1");
    EXPECT_EQ(back.bridges[0].pid, 125);
    EXPECT_THROW(record_from_json("{not json", "x"), core::Error);
}

TEST(LocalInventory, ReadsARunningLab) {
    auto dir = std::filesystem::temp_directory_path() / ("np-inv-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir / "s1");
    std::ofstream(dir / "s1" / "state.json") << record_to_json(sample());
    auto inv = read_local_inventory(dir.string(), "s1");
    ASSERT_EQ(inv.size(), 3u);
    EXPECT_EQ(inv[0].transport, "exec");
    EXPECT_EQ(inv[0].platform, "frr");
    EXPECT_EQ(inv[0].netns, "s1_r1");
    EXPECT_EQ(inv[0].frr_pathspace, "s1_r1");
    EXPECT_EQ(inv[1].netns, "s1_h1");
    EXPECT_TRUE(inv[1].frr_pathspace.empty());
    EXPECT_EQ(inv[2].transport, "telnet");
    EXPECT_EQ(inv[2].host, "127.0.0.1");
    EXPECT_EQ(inv[2].port, 5003);
    try {
        read_local_inventory(dir.string(), "nope");
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::not_found);
        EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos);
    }
    auto stopped = sample();
    stopped.status = "stopped";
    std::ofstream(dir / "s1" / "state.json", std::ios::trunc) << record_to_json(stopped);
    EXPECT_THROW(read_local_inventory(dir.string(), "s1"), core::Error);
    std::filesystem::remove_all(dir);
}

TEST(RuntimeOptions, ReadsTheLabSection) {
    auto config = core::Config::from_string(
        "lab:\n  state_dir: /srv/labs\n  max_labs: 3\n  max_nodes: 12\n  console_port_min: 6000\n"
        "  console_port_max: 6099\n");
    auto o = RuntimeOptions::from_config(config);
    EXPECT_EQ(o.state_dir, "/srv/labs");
    EXPECT_EQ(o.max_labs, 3);
    EXPECT_EQ(o.max_nodes, 12);
    EXPECT_EQ(o.console_port_min, 6000);
    EXPECT_EQ(o.console_port_max, 6099);
    EXPECT_EQ(RuntimeOptions::from_config(core::Config{}).state_dir, "./var/labs");
    EXPECT_THROW(RuntimeOptions::from_config(core::Config::from_string("lab:\n  console_port_min: 80\n")),
                 core::Error);
    EXPECT_THROW(RuntimeOptions::from_config(core::Config::from_string("lab:\n  max_labs: 0\n")),
                 core::Error);
}

}  // namespace
}  // namespace np::lab
