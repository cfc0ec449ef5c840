// UPIDs, reply parsing (lenient where PVE is loose, a clear upstream error on bad shapes), error mapping.
#include "pve/types.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/error.hpp"
#include "pve/client.hpp"

namespace np::pve {
namespace {

namespace json = boost::json;

TEST(Upid, ParsesTheNineFields) {
    auto u = parse_upid("UPID:pve1:0035D677:03AB00C3:66DC5987:qmclone:132:root@pam:");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->node, "pve1");
    EXPECT_EQ(u->pid, 0x35D677u);
    EXPECT_EQ(u->pstart, 0x3AB00C3u);
    EXPECT_EQ(u->starttime, 0x66DC5987);
    EXPECT_EQ(u->type, "qmclone");
    EXPECT_EQ(u->id, "132");
    EXPECT_EQ(u->user, "root@pam");
}

TEST(Upid, AcceptsEmptyIdAndTokenUsers) {
    auto u = parse_upid("UPID:pve2:00001234:123456789:66DC5987:imgdel::root@pam!ci:");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->id, "");
    EXPECT_EQ(u->user, "root@pam!ci");
    EXPECT_EQ(u->pstart, 0x123456789u);
}

TEST(Upid, RejectsMalformed) {
    EXPECT_FALSE(parse_upid(""));
    EXPECT_FALSE(
        parse_upid("UPID:pve1:0035D677:03AB00C3:66DC5987:qmclone:132:root@pam"));  // no trailing colon
    EXPECT_FALSE(parse_upid("UPID:pve1:XYZ:03AB00C3:66DC5987:qmclone:132:root@pam:"));
    EXPECT_FALSE(
        parse_upid("UPID:pve1:0035D677:03AB00C3:66DC5987:imgdel:local:vm-1:root@pam:"));  // 10 fields
    EXPECT_FALSE(parse_upid("TASK:pve1:0035D677:03AB00C3:66DC5987:qmclone:132:root@pam:"));
}

TEST(Parse, ResourcesAreLenientAboutNumbersAndFlags) {
    auto v =
        json::parse(R"([{"id":"qemu/100","type":"qemu","vmid":"100","node":"pve1","name":"a","template":1,
        "maxmem":"2147483648","cpu":0.5},{"id":"storage/pve1/local","type":"storage","node":"pve1","storage":"local",
        "shared":0},{"id":"/pool/x","type":"pool","pool":"x"}])");
    auto rows = parse_resources(v, "GET /cluster/resources");
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].vmid, 100);
    EXPECT_TRUE(rows[0].is_template);
    EXPECT_EQ(rows[0].maxmem, 2147483648);
    EXPECT_EQ(rows[1].storage, "local");
    EXPECT_FALSE(rows[1].shared);
}

TEST(Parse, BadShapesAreUpstreamErrorsNamingTheField) {
    try {
        parse_resources(json::parse(R"({"not":"a list"})"), "GET /cluster/resources");
        FAIL() << "no error";
    } catch (const core::Error& e) {
        EXPECT_EQ(e.code(), core::Code::upstream);
        EXPECT_NE(std::string(e.what()).find("GET /cluster/resources"), std::string::npos);
    }
    try {
        parse_resources(json::parse(R"([{"type":"qemu","vmid":"abc"}])"), "GET /cluster/resources");
        FAIL() << "no error";
    } catch (const core::Error& e) {
        EXPECT_NE(std::string(e.what()).find("vmid"), std::string::npos);
    }
    EXPECT_THROW(parse_task_status(json::parse(R"({"upid":"x","status":"weird"})"), "t"), core::Error);
    EXPECT_THROW(parse_upid_reply(json::parse("42"), "POST clone"), core::Error);
    EXPECT_THROW(parse_upid_reply(json::parse(R"("not-a-upid")"), "POST clone"), core::Error);
    EXPECT_THROW(parse_interfaces(json::parse(R"({"no":"result"})"), "agent"), core::Error);
}

TEST(Parse, AgentInterfacesAndFirstIpv4) {
    auto v = json::parse(
        R"({"result":[{"name":"lo","ip-addresses":[{"ip-address":"127.0.0.1","ip-address-type":"ipv4","prefix":8}]},
        {"name":"eth0","hardware-address":"bc:24:11:00:00:01","ip-addresses":[{"ip-address":"fe80::1","ip-address-type":"ipv6","prefix":64},
        {"ip-address":"10.1.2.3","ip-address-type":"ipv4","prefix":24}]},{"name":"eth1"}]})");
    auto ifs = parse_interfaces(v, "agent");
    ASSERT_EQ(ifs.size(), 3u);
    EXPECT_TRUE(ifs[2].addresses.empty());
    EXPECT_EQ(first_ipv4(ifs), "10.1.2.3");
    ifs.erase(ifs.begin() + 1);
    EXPECT_FALSE(first_ipv4(ifs));
    // pve-sim's GNS3 guests: a loopback address of the guest's own, on its eth0 (not 127.0.0.1).
    ifs[1].addresses = {{"127.0.0.1", "ipv4", 8}, {"169.254.1.1", "ipv4", 16}};
    EXPECT_FALSE(first_ipv4(ifs));
    ifs[1].addresses.push_back({"127.146.78.32", "ipv4", 24});
    EXPECT_EQ(first_ipv4(ifs), "127.146.78.32");
}

TEST(Parse, ConfigDisksSkipCdromsAndKeepStorages) {
    GuestConfig c{{"scsi0", "local-lvm:base-9000-disk-0/vm-101-disk-0,size=32G"},
                  {"ide2", "local:iso/debian.iso,media=cdrom"},
                  {"unused0", "cephpool:vm-101-disk-1"},
                  {"net0", "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0"},
                  {"scsihw", "virtio-scsi-pci"}};
    auto d = config_disks(c);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].storage, "local-lvm");
    EXPECT_EQ(d[1].storage, "cephpool");
}

TEST(Errors, MapStatusAndMessageToCodesAndRetryability) {
    auto lock = api_error(
        500, "Internal Server Error",
        R"({"data":null,"message":"can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout\n"})",
        "POST clone");
    EXPECT_TRUE(lock.retryable());
    EXPECT_EQ(lock.pve_message(), "can't lock file '/var/lock/qemu-server/lock-101.conf' - got timeout");

    // Older servers: only the status line carries the message.
    auto collision =
        api_error(500, "unable to create VM 101: config file already exists", R"({"data":null})", "c");
    EXPECT_EQ(collision.code(), core::Code::conflict);
    EXPECT_FALSE(collision.retryable());
    EXPECT_TRUE(is_vmid_collision(collision.pve_message()));

    auto missing = api_error(
        500, "x", R"({"message":"Configuration file 'nodes/pve1/qemu-server/9.conf' does not exist"})", "g");
    EXPECT_EQ(missing.code(), core::Code::not_found);

    auto pool = api_error(500, "update pools failed: VM 435 is already a pool member", "", "p");
    EXPECT_FALSE(pool.retryable());  // never loop on a permanent 500 (Telmate#1337)

    auto params =
        api_error(400, "Parameter verification failed.",
                  R"({"data":null,"errors":{"newid":"property is missing and it is not optional"}})", "c");
    EXPECT_EQ(params.code(), core::Code::invalid);
    ASSERT_EQ(params.fields().size(), 1u);
    EXPECT_EQ(params.fields()[0].path, "newid");

    EXPECT_EQ(api_error(401, "authentication failure", "", "l").code(), core::Code::unauthenticated);
    EXPECT_EQ(api_error(403, "Permission check failed (/vms/100, VM.Allocate)", "", "l").code(),
              core::Code::forbidden);
    EXPECT_TRUE(api_error(596, "Connection timed out", "", "l").retryable());
    EXPECT_TRUE(api_error(503, "Service Unavailable", "", "l").retryable());
    EXPECT_FALSE(api_error(501, "Method 'GET /foo' not implemented", "", "l").retryable());
    EXPECT_TRUE(is_lock_timeout("VM 100 is locked (clone)"));
    EXPECT_TRUE(is_lock_timeout("cfs-lock 'storage-ceph' error: got lock request timeout"));
}

TEST(Form, EncodesReservedCharacters) {
    EXPECT_EQ(form_encode({{"username", "root@pam"}, {"password", "a b&c=d"}}),
              "username=root%40pam&password=a%20b%26c%3Dd");
    EXPECT_EQ(url_escape("UPID:pve1:1::root@pam:"), "UPID%3Apve1%3A1%3A%3Aroot%40pam%3A");
}

}  // namespace
}  // namespace np::pve
