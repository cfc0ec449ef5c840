// Topology parsing and validation: every error names its path and line.
#include "lab/topology.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace np::lab {
namespace {

std::vector<core::FieldError> errors_of(const std::string& yaml) {
    try {
        parse_topology(yaml, "t.yaml");
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::invalid);
        return e.fields();
    }
    ADD_FAILURE() << "no error for:\n" << yaml;
    return {};
}

bool has_error(const std::vector<core::FieldError>& errors, const std::string& path,
               const std::string& text) {
    for (const auto& e : errors)
        if (e.path == path && e.message.find(text) != std::string::npos) return true;
    std::string all;
    for (const auto& e : errors) all += e.path + ": " + e.message + "\n";
    ADD_FAILURE() << "expected " << path << " ~ " << text << " in:\n" << all;
    return false;
}

TEST(Topology, ParsesTheFormatsExample) {
    auto t = parse_topology(R"(name: ospf-two-lans
nodes:
  r1:  {kind: frr, daemons: [ospfd]}
  r2:  {kind: frr, daemons: [ospfd, zebra, bgpd]}
  pc1: {kind: vpcs}
  h2:  {kind: linux, exec: ["ip link set eth1 up"]}
links:
  - endpoints: ["pc1:eth0", "r1:eth1"]
  - endpoints: ["r1:eth2", "r2:eth1"]
  - endpoints: ["r2:eth2", "h2:eth1"]
)");
    EXPECT_EQ(t.name, "ospf-two-lans");
    ASSERT_EQ(t.nodes.size(), 4u);
    EXPECT_EQ(t.find("r1")->kind, NodeKind::frr);
    EXPECT_EQ(t.find("r2")->daemons, (std::vector<std::string>{"ospfd", "bgpd"}));  // zebra always runs
    EXPECT_EQ(t.find("pc1")->kind, NodeKind::vpcs);
    EXPECT_EQ(t.find("h2")->exec, std::vector<std::string>{"ip link set eth1 up"});
    ASSERT_EQ(t.links.size(), 3u);
    EXPECT_EQ(t.links[1].a.node, "r1");
    EXPECT_EQ(t.links[1].a.iface, "eth2");
    EXPECT_EQ(t.links[1].b.iface, "eth1");
    EXPECT_EQ(t.links[2].line, 10);
}

TEST(Topology, UnknownNodeInALinkNamesTheLine) {
    auto errors =
        errors_of("name: t\nnodes:\n  r1: {kind: frr}\nlinks:\n  - endpoints: [\"r1:eth1\", \"r9:eth1\"]\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(has_error(errors, "links[0].endpoints[1]", "line 5: unknown node 'r9'"));
}

TEST(Topology, InterfaceUsedTwiceNamesBothLines) {
    auto errors = errors_of(R"(name: t
nodes:
  r1: {kind: frr}
  r2: {kind: frr}
  r3: {kind: linux}
links:
  - endpoints: ["r1:eth1", "r2:eth1"]
  - endpoints: ["r1:eth1", "r3:eth1"]
)");
    EXPECT_TRUE(has_error(errors, "links[1].endpoints[0]",
                          "line 8: interface r1:eth1 is already used by the link on line 7"));
}

TEST(Topology, BadNamesAndUnknownKind) {
    auto errors = errors_of(R"(name: Bad_Name
nodes:
  R1: {kind: frr}
  r2: {kind: router}
  r3: {kind: linux}
links:
  - endpoints: ["r3:averyveryverylongname", "r2:eth1"]
  - endpoints: ["r3"]
)");
    EXPECT_TRUE(has_error(errors, "name", "line 1: bad name 'Bad_Name'"));
    EXPECT_TRUE(has_error(errors, "nodes.R1", "line 3: bad node name 'R1'"));
    EXPECT_TRUE(
        has_error(errors, "nodes.r2.kind", "line 4: unknown kind 'router' (expected linux, frr or vpcs)"));
    EXPECT_TRUE(
        has_error(errors, "links[0].endpoints[0]", "line 7: bad interface name 'averyveryverylongname'"));
    EXPECT_TRUE(has_error(errors, "links[1].endpoints", "line 8: needs exactly two endpoints"));
}

TEST(Topology, KindSpecificRules) {
    auto errors = errors_of(R"(name: t
nodes:
  h1: {kind: linux, daemons: [ospfd]}
  r1: {kind: frr, daemons: [ospfx]}
  pc1: {kind: vpcs, exec: ["ls"]}
  pc2: {kind: vpcs}
  x: {kind: linux, image: alpine}
links:
  - endpoints: ["pc2:eth1", "r1:eth1"]
)");
    EXPECT_TRUE(has_error(errors, "nodes.h1.daemons", "line 3: only frr nodes run daemons"));
    EXPECT_TRUE(has_error(errors, "nodes.r1.daemons[0]", "line 4: unknown FRR daemon 'ospfx'"));
    EXPECT_TRUE(has_error(errors, "nodes.pc1.exec", "line 5:"));
    EXPECT_TRUE(has_error(errors, "nodes.x.image", "line 7: unknown key 'image'"));
    EXPECT_TRUE(
        has_error(errors, "links[0].endpoints[0]", "line 9: vpcs node 'pc2' has one interface, eth0"));
}

TEST(Topology, MissingPiecesAndBadYaml) {
    EXPECT_TRUE(has_error(errors_of("nodes:\n  a: {kind: linux}\n"), "name", "missing"));
    EXPECT_TRUE(has_error(errors_of("name: t\n"), "nodes", "missing or empty"));
    EXPECT_TRUE(has_error(errors_of("name: t\nnodes:\n  a: {kind linux}\n  b: [\n"), "", "line"));
    EXPECT_TRUE(has_error(errors_of("name: t\nnodes:\n  a: {}\n"), "nodes.a.kind", "missing"));
    // The message lists every problem, so the CLI shows them all at once.
    try {
        parse_topology("name: t\nnodes:\n  a: {kind: x}\n  b: {kind: y}\n", "t.yaml");
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("topology t.yaml has 2 errors"), std::string::npos) << e.what();
    }
}

TEST(Topology, ConfigFromAFileOrInline) {
    auto dir = std::filesystem::temp_directory_path() / ("np-topo-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "r1.conf") << "hostname r1\n";
    std::ofstream(dir / "topo.yaml") << "name: t\nnodes:\n  r1: {kind: frr, config: r1.conf}\n"
                                        "  pc1:\n    kind: vpcs\n    config: |\n      ip 10.0.0.1/24\n";
    auto t = load_topology(dir / "topo.yaml");
    EXPECT_EQ(t.find("r1")->config, "hostname r1\n");
    EXPECT_EQ(t.find("pc1")->config, "ip 10.0.0.1/24\n");
    // With no folder (a topology sent through the API), a file name is refused whatever it names.
    auto errors = errors_of("name: t\nnodes:\n  r1: {kind: frr, config: /nonexistent/r1.conf}\n");
    EXPECT_TRUE(has_error(errors, "nodes.r1.config", "line 3: '/nonexistent/r1.conf' names a file"));
    EXPECT_TRUE(has_error(errors, "nodes.r1.config", "config: |"));
    std::filesystem::remove_all(dir);
}

// The critical hole: `config: ../../../etc/shadow` was read (as root) and ran as a script in the node.
TEST(Topology, ConfigFilesStayInsideTheTopologysFolder) {
    namespace fs = std::filesystem;
    auto root = fs::temp_directory_path() / ("np-bundle-" + std::to_string(::getpid()));
    fs::create_directories(root / "ex" / "configs");
    fs::create_directories(root / "outside");
    std::ofstream(root / "ex" / "configs" / "h1.sh") << "ip link set eth0 up\n";
    std::ofstream(root / "outside" / "secret") << "root:$6$hash:19000::::::\n";
    fs::create_symlink(root / "outside" / "secret", root / "ex" / "link-out");
    fs::create_symlink("configs/h1.sh", root / "ex" / "link-in");
    fs::create_directories(root / "ex" / "adir");
    auto parse_with = [&](const std::string& config) -> std::vector<core::FieldError> {
        try {
            auto t = parse_topology("name: t\nnodes:\n  h1: {kind: linux, config: '" + config + "'}\n",
                                    "t.yaml", root / "ex");
            EXPECT_EQ(t.find("h1")->config, "ip link set eth0 up\n") << config;
            return {};
        } catch (const core::Error& e) {
            return e.fields();
        }
    };
    EXPECT_TRUE(parse_with("configs/h1.sh").empty());
    EXPECT_TRUE(parse_with("./configs/../configs/h1.sh").size() == 1);  // '..' is refused even inside
    EXPECT_TRUE(parse_with("link-in").empty());                         // a symlink that stays inside
    auto errs = parse_with("../outside/secret");
    EXPECT_TRUE(has_error(errs, "nodes.h1.config", "line 3: config file '../outside/secret' contains '..'"));
    errs = parse_with((root / "outside" / "secret").string());
    EXPECT_TRUE(has_error(errs, "nodes.h1.config", "is an absolute path"));
    errs = parse_with("link-out");
    EXPECT_TRUE(has_error(errs, "nodes.h1.config", "leaves the exercise's folder through a symlink"));
    errs = parse_with("adir");
    EXPECT_TRUE(has_error(errs, "nodes.h1.config", "not a regular file"));
    errs = parse_with("missing.sh");
    EXPECT_TRUE(has_error(errs, "nodes.h1.config", "is missing from the exercise's folder"));
    for (const auto& e : parse_with("../outside/secret"))
        EXPECT_EQ(e.message.find("root:"), std::string::npos);
    fs::remove_all(root);
}

TEST(Topology, RoundTripsThroughYaml) {
    auto t = parse_topology(R"(name: rt
nodes:
  r1:
    kind: frr
    daemons: [ospfd]
    config: |
      hostname r1
      router ospf
  h1: {kind: linux, exec: ["ip addr add 10.0.0.2/24 dev eth1"]}
  pc1: {kind: vpcs, config: "ip 10.0.0.3/24\n"}
links:
  - endpoints: ["h1:eth1", "r1:eth1"]
  - endpoints: ["pc1:eth0", "r1:eth2"]
)");
    auto again = parse_topology(to_yaml(t));
    EXPECT_EQ(to_yaml(again), to_yaml(t));
    EXPECT_EQ(again.find("r1")->config, "hostname r1\nrouter ospf\n");
    EXPECT_EQ(again.find("pc1")->config, "ip 10.0.0.3/24\n");
    EXPECT_EQ(again.links.size(), 2u);
}

TEST(Topology, NameRules) {
    EXPECT_TRUE(valid_env_name("lab-1"));
    EXPECT_FALSE(valid_env_name("lab_1"));  // '_' separates env and node in namespace names
    EXPECT_FALSE(valid_env_name(std::string(25, 'a')));
    EXPECT_TRUE(valid_iface_name("eth1.100"));
    EXPECT_FALSE(valid_iface_name("lo"));
    EXPECT_FALSE(valid_iface_name("a/b"));
    EXPECT_FALSE(valid_iface_name(std::string(16, 'e')));
}

}  // namespace
}  // namespace np::lab

namespace np::lab {
namespace {

// A deterministic mini-fuzz: mutated topologies either parse or fail with core::Error, never anything else.
TEST(Topology, MutatedInputFailsOnlyWithCoreErrors) {
    const std::string seed = R"(name: fuzz
nodes:
  r1: {kind: frr, daemons: [ospfd], exec: ["true"]}
  pc1: {kind: vpcs, config: "ip 10.0.0.1/24\n"}
  h1: {kind: linux}
links:
  - endpoints: ["pc1:eth0", "r1:eth1"]
  - endpoints: ["h1:eth1", "r1:eth2"]
)";
    const std::string alphabet = ":-[]{}\"'\n #&*!|>%@`,?0aZ";
    std::uint32_t state = 12345;
    auto next = [&] {
        state = state * 1664525u + 1013904223u;
        return state >> 8;
    };
    int parsed = 0;
    for (int i = 0; i < 3000; ++i) {
        std::string text = seed;
        for (int m = 0, count = 1 + static_cast<int>(next() % 4); m < count; ++m) {
            auto pos = next() % text.size();
            switch (next() % 3) {
                case 0: text[pos] = alphabet[next() % alphabet.size()]; break;
                case 1: text.erase(pos, 1 + next() % 8); break;
                default: text.insert(pos, 1, alphabet[next() % alphabet.size()]);
            }
            if (text.empty()) text = "x";
        }
        try {
            parse_topology(text, "fuzz.yaml");
            ++parsed;
        } catch (const core::Error& e) {
            EXPECT_EQ(e.code(), core::Code::invalid) << text;
        } catch (const std::exception& e) {
            ADD_FAILURE() << "non-core exception " << e.what() << " for:\n" << text;
        }
    }
    EXPECT_GT(parsed, 0);  // some mutations (e.g. in comments or values) still parse
}

}  // namespace
}  // namespace np::lab
