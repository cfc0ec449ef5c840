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
