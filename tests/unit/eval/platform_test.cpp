#include "eval/platform.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace np::eval {
namespace {

bool prompt(const Platform& p, const std::string& line) {
    return p.prompt_re.search(line);
}

TEST(Platforms, BuiltinTableHasEveryPlatform) {
    const auto& reg = PlatformRegistry::builtin();
    for (const char* n :
         {"cisco_ios", "arista_eos", "juniper_junos", "mikrotik_routeros", "vyos", "frr", "linux", "vpcs"})
        EXPECT_NE(reg.find(n), nullptr) << n;
    EXPECT_EQ(reg.find("nokia_sros"), nullptr);
}

TEST(Platforms, PromptsFromTheReference) {
    const auto& reg = PlatformRegistry::builtin();
    const Platform& ios = *reg.find("cisco_ios");
    EXPECT_TRUE(prompt(ios, "R1>"));
    EXPECT_TRUE(prompt(ios, "R1#"));
    EXPECT_TRUE(prompt(ios, "R1(config-if)#"));
    EXPECT_TRUE(ios.config_prompt_re.search("R1(config-router)#"));
    EXPECT_FALSE(ios.config_prompt_re.search("R1#"));
    EXPECT_TRUE(ios.user_prompt_re.search("R1>"));
    EXPECT_FALSE(prompt(ios, "Building configuration..."));
    const Platform& vpcs = *reg.find("vpcs");
    EXPECT_TRUE(prompt(vpcs, "VPCS> "));
    EXPECT_TRUE(prompt(vpcs, "PC1>"));
    EXPECT_TRUE(prompt(vpcs, "PC1[2]> "));
    EXPECT_FALSE(prompt(vpcs, "PC1 : 10.0.0.1 255.255.255.0"));
    const Platform& frr = *reg.find("frr");
    EXPECT_TRUE(prompt(frr, "r1#"));
    EXPECT_TRUE(prompt(frr, "r1(config-router)#"));
    EXPECT_TRUE(frr.config_prompt_re.search("r1(config-if)#"));
    const Platform& junos = *reg.find("juniper_junos");
    EXPECT_TRUE(prompt(junos, "lab@vmx1>"));
    EXPECT_TRUE(prompt(junos, "lab@vmx1# "));
    const Platform& ros = *reg.find("mikrotik_routeros");
    EXPECT_TRUE(prompt(ros, "[admin@MikroTik] > "));
    EXPECT_TRUE(prompt(ros, "[admin@R1] /ip address> "));
    const Platform& eos = *reg.find("arista_eos");
    EXPECT_TRUE(prompt(eos, "sw1(config-if-Et1)#"));
    EXPECT_TRUE(eos.config_prompt_re.search("sw1(config-if-Et1)#"));
    const Platform& vyos = *reg.find("vyos");
    EXPECT_TRUE(prompt(vyos, "vyos@vyos:~$ "));
    EXPECT_TRUE(vyos.config_prompt_re.search("vyos@vyos# "));
}

TEST(Platforms, ErrorMarkers) {
    const auto& reg = PlatformRegistry::builtin();
    EXPECT_EQ(reg.find("frr")->error_in("% Unknown command: show ip rout"), "% Unknown command");
    EXPECT_EQ(reg.find("vpcs")->error_in("Bad command: \"shwo\". Use ? for help."), "Bad command:");
    EXPECT_EQ(reg.find("cisco_ios")->error_in("       ^\n% Invalid input detected at '^' marker."),
              "% Invalid input detected");
    EXPECT_EQ(reg.find("linux")->error_in("default via 10.0.0.1"), "");
}

TEST(Platforms, DirectoryOverridesAndAdds) {
    auto dir = std::filesystem::temp_directory_path() / ("np-eval-platforms-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    {
        std::ofstream(dir / "extra.yaml") << "openwrt:\n  prompt: '^(\\S+@\\S+:\\S*|/|~)?\\s?[#$] ?$'\n"
                                             "  errors: ['not found']\n"
                                             "vpcs:\n  errors: ['Oops']\n";
    }
    PlatformRegistry reg = PlatformRegistry::with_overrides(dir.string());
    ASSERT_NE(reg.find("openwrt"), nullptr);
    EXPECT_TRUE(prompt(*reg.find("openwrt"), "root@OpenWrt:~# "));
    EXPECT_EQ(reg.find("vpcs")->errors, std::vector<std::string>{"Oops"});
    EXPECT_TRUE(prompt(*reg.find("vpcs"), "PC1> "));  // unchanged fields kept
    { std::ofstream(dir / "zbad.yaml") << "broken:\n  prompt: '(unclosed'\n"; }
    try {
        PlatformRegistry::with_overrides(dir.string());
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("zbad.yaml: line 1: broken"), std::string::npos) << e.what();
    }
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace np::eval
