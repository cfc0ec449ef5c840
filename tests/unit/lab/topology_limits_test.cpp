// parse_topology refuses an alias bomb while parsing, in little memory (core/yaml.hpp limits).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bounded.hpp"
#include "core/error.hpp"
#include "lab/topology.hpp"

namespace np::lab {

TEST(TopologyLimits, BombIsRefusedWhileParsing) {
    // Links are walked in full: a bomb of links would be expanded by the parser.
    std::string bomb = "name: t\nnodes:\n  h1: {kind: linux}\n" + testkit::yaml_bomb(9, 10) + "links: *l9\n";
    auto r = testkit::run_bounded(
        [&] {
            parse_topology(bomb, "t.yaml");
            return std::string("accepted");
        },
        256);
    ASSERT_TRUE(r.finished) << "killed by its memory or CPU limit";
    ASSERT_TRUE(r.threw);
    EXPECT_EQ(r.text, "topology t.yaml: line 9: YAML expands to more than 100000 nodes (aliases included)");
    EXPECT_LT(r.rss_growth_kb, 32 * 1024);
    try {
        parse_topology(bomb, "t.yaml");
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::invalid);
        ASSERT_EQ(e.fields().size(), 1u);
        EXPECT_EQ(e.fields()[0].message, "line 9: YAML expands to more than 100000 nodes (aliases included)");
    }
}

TEST(TopologyLimits, ExamplesAndSmallAnchorsStillParse) {
    for (const char* f : {"labs/ospf-two-lans.yaml", "labs/static-two-lans.yaml", "labs/vpcs-router.yaml"}) {
        std::ifstream in(std::string(NETPRAXIS_SOURCE_DIR) + "/examples/" + f);
        std::stringstream ss;
        ss << in.rdbuf();
        EXPECT_NO_THROW(parse_topology(ss.str(), f)) << f;
    }
    auto t = parse_topology("name: t\nnodes:\n  h1: &pc {kind: vpcs}\n  h2: *pc\n  h3: *pc\nlinks: []\n",
                            "t.yaml");
    EXPECT_EQ(t.nodes.size(), 3u);
}

}  // namespace np::lab
