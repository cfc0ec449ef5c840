// lab::ProviderRegistry: providers are found by the name they register under; an unknown name is an error
// that names the registered ones; a name is registered once.
#include "lab/registry.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "fake_provider.hpp"

using namespace np;

TEST(ProviderRegistry, FindsProvidersByNameAndListsThemSorted) {
    lab::ProviderRegistry r;
    auto& local = r.add(std::make_unique<testkit::FakeProvider>("local"));
    auto& proxmox = r.add(std::make_unique<testkit::FakeProvider>("proxmox"));
    EXPECT_EQ(&r.get("local"), &local);
    EXPECT_EQ(&r.get("proxmox"), &proxmox);
    EXPECT_TRUE(r.contains("local"));
    EXPECT_FALSE(r.contains("gns3"));
    EXPECT_EQ(r.names(), (std::vector<std::string>{"local", "proxmox"}));
}

TEST(ProviderRegistry, AnUnknownNameIsAnErrorNamingTheRegisteredOnes) {
    lab::ProviderRegistry r;
    try {
        r.get("proxmox");
        FAIL() << "an empty registry found a provider";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("no provider is registered"), std::string::npos) << e.what();
    }
    r.add(std::make_unique<testkit::FakeProvider>("local"));
    try {
        r.get("proxmox");
        FAIL() << "found an unregistered provider";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::conflict);
        EXPECT_EQ(std::string(e.what()),
                  "lab provider 'proxmox' is not available in this netpraxis build (registered: local)");
    }
}

TEST(ProviderRegistry, ANameIsRegisteredOnce) {
    lab::ProviderRegistry r;
    r.add(std::make_unique<testkit::FakeProvider>("local"));
    EXPECT_THROW(r.add(std::make_unique<testkit::FakeProvider>("local")), core::Error);
    EXPECT_THROW(r.add(nullptr), core::Error);
    EXPECT_THROW(r.add(std::make_unique<testkit::FakeProvider>("")), core::Error);
    EXPECT_EQ(r.names(), std::vector<std::string>{"local"});
}

TEST(ProviderRegistry, RendersEveryProvidersCountersAsPrometheusTextOneFamilyPerName) {
    lab::ProviderRegistry r;
    auto a = std::make_unique<testkit::FakeProvider>("local");
    auto b = std::make_unique<testkit::FakeProvider>("proxmox");
    b->counter_values = {{"orphaned_volumes_cleaned", "Volumes left behind and removed.", 3},
                         {"clones", "VMs cloned.", 7}};
    a->counter_values = {{"clones", "Labs made.", 2}};
    r.add(std::move(a));
    r.add(std::move(b));
    EXPECT_EQ(r.render_metrics(),
              "# HELP netpraxis_lab_clones_total Labs made.\n"
              "# TYPE netpraxis_lab_clones_total counter\n"
              "netpraxis_lab_clones_total{provider=\"local\"} 2\n"
              "netpraxis_lab_clones_total{provider=\"proxmox\"} 7\n"
              "# HELP netpraxis_lab_orphaned_volumes_cleaned_total Volumes left behind and removed.\n"
              "# TYPE netpraxis_lab_orphaned_volumes_cleaned_total counter\n"
              "netpraxis_lab_orphaned_volumes_cleaned_total{provider=\"proxmox\"} 3\n");
    EXPECT_EQ(lab::ProviderRegistry{}.render_metrics(), "");
}
