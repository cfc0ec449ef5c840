// VMID allocation from a private range and clone placement by free memory.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "pve/vmid.hpp"
#include "pve/workloads.hpp"

namespace np::pve {
namespace {

TEST(VmidAllocator, SkipsUsedIdsAndNeverRepeats) {
    VmidAllocator a(1000, 1005);
    a.mark_used({1000, 1002});
    EXPECT_EQ(a.allocate(), 1001);
    EXPECT_EQ(a.allocate(), 1003);
    a.mark_used(1004);  // lost to a collision
    EXPECT_EQ(a.allocate(), 1005);
    EXPECT_THROW(a.allocate(), core::Error);  // exhausted
}

TEST(VmidAllocator, ReleasedIdsComeBackFirst) {
    VmidAllocator a(2000, 2010);
    int x = a.allocate();
    int y = a.allocate();
    a.release(x);
    EXPECT_EQ(a.allocate(), x);
    EXPECT_NE(a.allocate(), y);
}

TEST(VmidAllocator, RejectsBadRanges) {
    EXPECT_THROW(VmidAllocator(50, 60), core::Error);
    EXPECT_THROW(VmidAllocator(2000, 1000), core::Error);
    try {
        VmidAllocator a(100, 100);
        a.mark_used(100);
        a.allocate();
        FAIL();
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::conflict);
        EXPECT_NE(std::string(e.what()).find("100-100"), std::string::npos);
    }
}

TEST(Placement, FillsTheNodeWithMostFreeMemoryFirstThenBalances) {
    std::int64_t gib = 1LL << 30;
    auto p = place_clones({{"a", 10 * gib}, {"b", 4 * gib}, {"c", 6 * gib}}, 6, 2 * gib);
    // a: 10 -> 8 -> 6 (tie with c, fewer assigned wins: c) ...
    ASSERT_EQ(p.size(), 6u);
    EXPECT_EQ(p[0], "a");
    EXPECT_EQ(p[1], "a");
    EXPECT_EQ(p[2], "c");
    int a = 0, b = 0, c = 0;
    for (const auto& n : p) (n == "a" ? a : n == "b" ? b : c)++;
    EXPECT_EQ(a, 3);
    EXPECT_EQ(c, 2);
    EXPECT_EQ(b, 1);
}

TEST(Placement, EqualNodesShareEvenly) {
    auto p = place_clones({{"x", 100}, {"y", 100}, {"z", 100}}, 9, 1);
    int x = 0, y = 0, z = 0;
    for (const auto& n : p) (n == "x" ? x : n == "y" ? y : z)++;
    EXPECT_EQ(x, 3);
    EXPECT_EQ(y, 3);
    EXPECT_EQ(z, 3);
    EXPECT_TRUE(place_clones({}, 3, 1).empty());
}

}  // namespace
}  // namespace np::pve
