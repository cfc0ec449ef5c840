// core::load_yaml: limits on size, depth, alias expansion and alias count, enforced before a tree exists.
#include "core/yaml.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bounded.hpp"
#include "core/config.hpp"

using namespace np;
using testkit::run_bounded;
using testkit::yaml_bomb;

namespace {

// The limit error of load_yaml(text), or "" when it loads.
std::string refusal(const std::string& text, const core::YamlLimits& limits = {}) {
    try {
        core::load_yaml(text, "doc", limits);
        return "";
    } catch (const core::YamlLimitError& e) {
        EXPECT_EQ(e.code(), core::Code::invalid);
        return e.what();
    }
}

}  // namespace

TEST(LoadYaml, BillionLaughsIsRefusedWhileParsingWithLittleMemory) {
    const std::string bomb = yaml_bomb(9, 10);
    ASSERT_LT(bomb.size(), 1000u);
    auto r = run_bounded(
        [&] {
            // Walk the tree the way parsers do: a bounded loader leaves nothing big to walk.
            std::function<std::size_t(const YAML::Node&)> count = [&](const YAML::Node& n) -> std::size_t {
                std::size_t c = 1;
                if (n.IsSequence() || n.IsMap())
                    for (const auto& child : n) c += count(n.IsMap() ? child.second : child);
                return c;
            };
            return std::to_string(count(core::load_yaml(bomb, "spec")));
        },
        256);
    ASSERT_TRUE(r.finished) << "killed by its memory or CPU limit";
    ASSERT_TRUE(r.threw) << "loaded, " << r.text << " nodes";
    // Line 6: the level whose expansion first crosses 100000 (l5 holds 10^5 leaves).
    EXPECT_EQ(r.text, "spec: line 6: YAML expands to more than 100000 nodes (aliases included)");
    EXPECT_LT(r.rss_growth_kb, 32 * 1024);
}

TEST(LoadYaml, ExpansionJustUnderTheLimitLoads) {
    // The root map 1, then per level its key 1 and its list expanded:
    // l0: 1 + [lol] 2 = 3; l1: 1 + (1 + 2*2) = 6; l2: 1 + (1 + 2*5) = 12; in all 1 + 3 + 6 + 12 = 22.
    core::YamlLimits limits;
    limits.max_nodes = 22;
    EXPECT_EQ(refusal(yaml_bomb(2, 2), limits), "");
    limits.max_nodes = 21;
    EXPECT_EQ(refusal(yaml_bomb(2, 2), limits),
              "doc: line 3: YAML expands to more than 21 nodes (aliases included)");
}

TEST(LoadYaml, DeepNestingIsRefusedWithItsLine) {
    std::string flow = std::string(100000, '[') + std::string(100000, ']');  // would overflow a naive parser
    EXPECT_EQ(refusal(flow), "doc: line 1: YAML nests deeper than 64 levels");
    std::string block;
    for (int i = 0; i < 70; ++i) block += std::string(static_cast<std::size_t>(i) * 2, ' ') + "k:\n";
    EXPECT_EQ(refusal(block), "doc: line 65: YAML nests deeper than 64 levels");
    std::string ok;
    for (int i = 0; i < 64; ++i) ok += std::string(static_cast<std::size_t>(i) * 2, ' ') + "k:\n";
    EXPECT_EQ(refusal(ok), "");
}

TEST(LoadYaml, DepthCountsWhatAnAliasBringsIn) {
    // 40 levels anchored, then used 40 levels down: 80 levels once expanded.
    std::string deep = "a: &deep " + std::string(40, '[') + std::string(40, ']') +
                       "\nb: " + std::string(30, '[') + "*deep" + std::string(30, ']') + "\n";
    EXPECT_EQ(refusal(deep), "doc: line 2: YAML nests deeper than 64 levels (aliases included)");
}

TEST(LoadYaml, HugeDocumentIsRefusedBeforeParsing) {
    std::string big = "k: \"" + std::string(1024 * 1024, 'x') + "\"\n";
    EXPECT_EQ(refusal(big), "doc: YAML document is larger than 1048576 bytes");
    core::YamlLimits small;
    small.max_bytes = 10;
    EXPECT_EQ(refusal("a: 1\nb: 2\nc: 3\n", small), "doc: YAML document is larger than 10 bytes");
}

TEST(LoadYaml, TooManyAliasesAreRefused) {
    core::YamlLimits limits;
    limits.max_aliases = 3;
    EXPECT_EQ(refusal("a: &x 1\nb: [*x, *x, *x]\n", limits), "");
    EXPECT_EQ(refusal("a: &x 1\nb: [*x, *x, *x,\n  *x]\n", limits),
              "doc: line 3: YAML has more than 3 aliases");
}

TEST(LoadYaml, SelfReferenceIsRefused) {
    // yaml-cpp would build a cycle out of this; walking it would never end.
    EXPECT_EQ(refusal("a: &x [1, *x]\n"), "doc: line 1: YAML alias refers to a node that contains it");
}

TEST(LoadYaml, NormalDocumentsAndAnchorsStillLoad) {
    auto n = core::load_yaml(
        "name: lab\nnodes:\n  r1: {kind: frr}\n  pc1: {kind: vpcs}\nlinks: [[r1, pc1]]\n", "t");
    EXPECT_EQ(n["name"].as<std::string>(), "lab");
    EXPECT_EQ(n["nodes"]["r1"]["kind"].as<std::string>(), "frr");
    EXPECT_EQ(n["links"][0][1].as<std::string>(), "pc1");
    auto a = core::load_yaml("base: &b {platform: frr, port: 22}\nr1: *b\nr2: *b\nr3: *b\n", "t");
    EXPECT_EQ(a["r3"]["platform"].as<std::string>(), "frr");
    EXPECT_EQ(a["r2"]["port"].as<int>(), 22);
    EXPECT_TRUE(core::load_yaml("", "t").IsNull());
    EXPECT_EQ(core::load_yaml("a: 1\n---\nb: 2\n", "t")["a"].as<int>(),
              1);  // the first document, as YAML::Load
}

TEST(LoadYaml, SyntaxErrorsStayYamlExceptionsWithTheirMark) {
    try {
        core::load_yaml("a: [1, 2\n", "t");
        FAIL();
    } catch (const YAML::Exception& e) {
        EXPECT_GE(e.mark.line, 0);
    }
}

TEST(LoadYaml, FileIsReadUpToTheLimit) {
    auto dir = std::filesystem::temp_directory_path() / ("np-yaml-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    {
        std::ofstream(dir / "ok.yaml") << "server: {port: 8080}\n";
        std::ofstream(dir / "bomb.yaml") << yaml_bomb(9, 10);
    }
    EXPECT_EQ(core::load_yaml_file((dir / "ok.yaml").string(), "c")["server"]["port"].as<int>(), 8080);
    EXPECT_THROW(core::load_yaml_file((dir / "missing.yaml").string(), "c"), YAML::BadFile);
    core::YamlLimits small;
    small.max_bytes = 8;
    EXPECT_THROW(core::load_yaml_file((dir / "ok.yaml").string(), "c", small), core::YamlLimitError);
    try {
        core::Config::load((dir / "bomb.yaml").string());
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::invalid);
        EXPECT_NE(std::string(e.what()).find("YAML expands to more than 100000 nodes"), std::string::npos)
            << e.what();
    }
    std::filesystem::remove_all(dir);
}

TEST(LoadYaml, ConfigFromStringRefusesABomb) {
    try {
        core::Config::from_string(yaml_bomb(9, 10));
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "config: line 6: YAML expands to more than 100000 nodes (aliases included)");
    }
}
