// Which nodes need a copy of a template on local storage: where pve::place_clones puts a class's VMs
// (free memory across the allowed online nodes, the template's own nodes first on a tie), minus the nodes
// already holding one.
#include "labpve/template_copy.hpp"

#include <gtest/gtest.h>

namespace np::labpve {
namespace {

pve::Resource node(const std::string& name, std::int64_t free_gib, const std::string& status = "online") {
    pve::Resource r;
    r.type = "node";
    r.node = name;
    r.status = status;
    r.maxmem = 128LL << 30;
    r.mem = (128LL - free_gib) << 30;
    return r;
}

pve::Resource tpl(const std::string& name, const std::string& on, int vmid) {
    pve::Resource r;
    r.type = "qemu";
    r.node = on;
    r.name = name;
    r.vmid = vmid;
    r.is_template = true;
    r.maxmem = 2LL << 30;
    return r;
}

using Nodes = std::vector<std::string>;

TEST(TemplateCopyPlan, NodesThePlacementGivesVmsAndThatHoldNoCopy) {
    std::vector<pve::Resource> rows{node("pve1", 100), node("pve2", 100), node("pve3", 100),
                                    tpl("np-tpl-a", "pve1", 20000)};
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-a", 0, {}), Nodes{});
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-a", 1, {}), Nodes{});  // a tie keeps it on the template's node
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-a", 3, {}), (Nodes{"pve2", "pve3"}));
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-a", 20, {"pve1", "pve3"}), Nodes{"pve3"});  // pve.nodes
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-b", 3, {}), Nodes{});  // no such template: nothing to copy
    rows.push_back(tpl("np-tpl-a", "pve2", 20001));                   // a copy made earlier is reused
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-a", 3, {}), Nodes{"pve3"});
}

TEST(TemplateCopyPlan, FreeMemoryDecidesAndOfflineNodesGetNothing) {
    std::vector<pve::Resource> rows{node("pve1", 10), node("pve2", 100), node("pve3", 100, "offline"),
                                    tpl("np-tpl-a", "pve1", 20000)};
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-a", 1, {}), Nodes{"pve2"});  // the busier template node loses
    EXPECT_EQ(nodes_needing_copy(rows, "np-tpl-a", 50, {}), Nodes{"pve2"});
    EXPECT_EQ(copy_name("np-tpl-a", "pve2"), "np-tpl-a-copy-pve2");
}

}  // namespace
}  // namespace np::labpve
