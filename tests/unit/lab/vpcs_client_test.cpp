#include "lab/local/vpcs_client.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace np::lab {
namespace {

TEST(VpcsClient, StripsTelnetNegotiationAndCarriageReturns) {
    // What VPCS 0.5b2 sends first: IAC DO ECHO, IAC WILL ECHO, IAC DO SGA, IAC WILL SGA, then text.
    std::string raw = "\xff\xfd\x01\xff\xfb\x01\xff\xfd\x03\xff\xfb\x03\r\r\nWelcome\r\n\rpc1> ";
    EXPECT_EQ(strip_telnet(raw), "\nWelcome\npc1> ");
}

TEST(VpcsClient, RefusesCommandsThatKillVpcs) {
    EXPECT_THROW(vpcs_command(1, "quit"), core::Error);
}

}  // namespace
}  // namespace np::lab
