#include "eval/variables.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace np::eval {
namespace {

std::vector<VariableDef> sample_defs() {
    VariableDef lan_a{VariableDef::Kind::subnet, "lan_a", 0, 0, {}, Subnet::parse("10.0.0.0/16"), 24, "", 1};
    VariableDef lan_b{VariableDef::Kind::subnet, "lan_b", 0, 0, {}, Subnet::parse("10.0.0.0/16"), 24, "", 2};
    VariableDef area{VariableDef::Kind::choice, "area", 0, 0, {"1", "2", "3"}, {}, 24, "", 3};
    VariableDef id{VariableDef::Kind::integer, "r1_id", 1, 250, {}, {}, 24, "", 4};
    VariableDef host{VariableDef::Kind::pattern, "host", 0, 0, {}, {}, 24, "pc-##?", 5};
    return {lan_a, lan_b, area, id, host};
}

TEST(Subnet, ParsesAndComputesAccessors) {
    Subnet s = Subnet::parse("192.168.4.0/24");
    EXPECT_EQ(ipv4_text(s.network), "192.168.4.0");
    EXPECT_EQ(ipv4_text(s.mask()), "255.255.255.0");
    EXPECT_EQ(ipv4_text(s.broadcast()), "192.168.4.255");
    EXPECT_EQ(ipv4_text(s.host(1)), "192.168.4.1");
    EXPECT_EQ(ipv4_text(s.host(254)), "192.168.4.254");
    EXPECT_THROW(s.host(256), core::Error);
    EXPECT_THROW(Subnet::parse("192.168.4.1/24"), core::Error);  // host bits set
    EXPECT_THROW(Subnet::parse("300.1.1.0/24"), core::Error);
    EXPECT_THROW(Subnet::parse("10.0.0.0"), core::Error);
    EXPECT_TRUE(Subnet::parse("10.0.0.0/8").contains(s) == false);
    EXPECT_TRUE(Subnet::parse("192.168.0.0/16").contains(s));
}

TEST(Variables, DeterministicPerExerciseAndStudent) {
    auto defs = sample_defs();
    Values a1 = derive_values(defs, "ospf", "alice");
    Values a2 = derive_values(defs, "ospf", "alice");
    EXPECT_EQ(a1.at("lan_a").str(), a2.at("lan_a").str());
    EXPECT_EQ(a1.at("r1_id").integer, a2.at("r1_id").integer);
    EXPECT_EQ(a1.at("host").text, a2.at("host").text);
    // Different students get different values for at least one variable (over a few students, all differ).
    int differ = 0;
    for (const char* s : {"bob", "carol", "dave", "erin"}) {
        Values b = derive_values(defs, "ospf", s);
        differ += b.at("lan_a").str() != a1.at("lan_a").str();
    }
    EXPECT_GE(differ, 3);
}

TEST(Variables, RespectsRangesAndShapes) {
    auto defs = sample_defs();
    for (int i = 0; i < 200; ++i) {
        Values v = derive_values(defs, "ex", "student" + std::to_string(i));
        EXPECT_GE(v.at("r1_id").integer, 1);
        EXPECT_LE(v.at("r1_id").integer, 250);
        EXPECT_TRUE(Subnet::parse("10.0.0.0/16").contains(v.at("lan_a").subnet));
        EXPECT_EQ(v.at("lan_a").subnet.prefix, 24);
        EXPECT_FALSE(v.at("lan_a").subnet.overlaps(v.at("lan_b").subnet)) << "student" << i;
        int area = static_cast<int>(v.at("area").integer);
        EXPECT_TRUE(area >= 1 && area <= 3);
        const std::string& h = v.at("host").text;
        ASSERT_EQ(h.size(), 6u);
        EXPECT_EQ(h.substr(0, 3), "pc-");
        EXPECT_TRUE(isdigit(h[3]) && isdigit(h[4]) && islower(h[5]));
    }
}

TEST(Variables, NoFreeSubnetIsAnError) {
    VariableDef a{VariableDef::Kind::subnet, "a", 0, 0, {}, Subnet::parse("10.0.0.0/24"), 24, "", 1};
    VariableDef b = a;
    b.name = "b";
    EXPECT_THROW(derive_values({a, b}, "x", "y"), core::Error);
}

TEST(Templating, RendersAccessors) {
    Values v;
    v["lan"] = Value{Value::Kind::subnet, "", 0, Subnet::parse("10.1.2.0/24")};
    v["area"] = Value{Value::Kind::integer, "", 3, {}};
    EXPECT_EQ(render("ip {{ lan.host(10) }}/{{lan.prefix}} {{ lan.gateway }}", v),
              "ip 10.1.2.10/24 10.1.2.1");
    EXPECT_EQ(render("{{ lan.network }} {{ lan.mask }} {{ lan.broadcast }} {{ lan }}", v),
              "10.1.2.0 255.255.255.0 10.1.2.255 10.1.2.0/24");
    EXPECT_EQ(render("area {{ area }}", v), "area 3");
    EXPECT_EQ(render("no templates", v), "no templates");
    std::set<std::string> used;
    render("{{ area }}", v, &used);
    EXPECT_EQ(used, std::set<std::string>{"area"});
}

TEST(Templating, ErrorsNameTheExpression) {
    Values v;
    v["lan"] = Value{Value::Kind::subnet, "", 0, Subnet::parse("10.1.2.0/24")};
    v["n"] = Value{Value::Kind::integer, "", 3, {}};
    try {
        render("{{ nope }}", v);
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("unknown variable 'nope'"), std::string::npos);
    }
    EXPECT_THROW(render("{{ lan.hosts }}", v), core::Error);
    EXPECT_THROW(render("{{ lan.host(x) }}", v), core::Error);
    EXPECT_THROW(render("{{ lan.host(300) }}", v), core::Error);
    EXPECT_THROW(render("{{ n.network }}", v), core::Error);
    EXPECT_THROW(render("{{ lan", v), core::Error);
}

TEST(Templating, BuiltinsStudentAndExercise) {
    Values v = derive_values({}, "ex1", "alice");
    EXPECT_EQ(render("{{ student }}@{{ exercise }}", v), "alice@ex1");
}

}  // namespace
}  // namespace np::eval
