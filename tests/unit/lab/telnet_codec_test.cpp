// lab::TelnetCodec: what the browser console bridge relies on for telnet consoles (VPCS, GNS3 nodes).
#include <gtest/gtest.h>

#include "lab/telnet_console.hpp"

using np::lab::TelnetCodec;

namespace {
std::string bytes(std::initializer_list<int> v) {
    std::string s;
    for (int b : v) s += static_cast<char>(b);
    return s;
}
}  // namespace

TEST(TelnetCodec, RemovesNegotiationAndAnswersItOnce) {
    TelnetCodec c;
    std::string clean, replies;
    // WILL ECHO, WILL SGA, DO NAWS, DO TTYPE(24), then text.
    c.decode(bytes({255, 251, 1, 255, 251, 3, 255, 253, 31, 255, 253, 24}) + "pc1> ", clean, replies);
    EXPECT_EQ(clean, "pc1> ");
    EXPECT_EQ(replies, bytes({255, 253, 1,  255, 253, 3,   255, 251, 31,  255, 250,
                              31,  0,   80, 0,   24,  255, 240, 255, 252, 24}));
    // The same requests again: already in force, no answer (no negotiation loop).
    replies.clear();
    c.decode(bytes({255, 251, 1, 255, 253, 31, 255, 253, 24}), clean, replies);
    EXPECT_EQ(replies, "");
}

TEST(TelnetCodec, SequencesSplitAcrossReadsAndSubnegotiationsAreRemoved) {
    TelnetCodec c;
    std::string clean, replies;
    c.decode("ab" + bytes({255}), clean, replies);
    c.decode(bytes({250, 24, 1, 255}), clean, replies);
    c.decode(bytes({240}) + "cd" + bytes({255, 255}) + "e" + bytes({255, 241}), clean, replies);
    EXPECT_EQ(clean,
              "abcd\xff"
              "e");
    EXPECT_EQ(replies, "");
}

TEST(TelnetCodec, InputEndsLinesAsNvtAndEscapesIac) {
    TelnetCodec c;
    EXPECT_EQ(c.encode("show ip\r"), "show ip\r\n");
    EXPECT_EQ(c.encode("\n"), "");  // the LF of a CR LF split across two writes is not doubled
    EXPECT_EQ(c.encode("x\r\ny"), "x\r\ny");
    EXPECT_EQ(c.encode(bytes({255})), bytes({255, 255}));
}

TEST(TelnetCodec, WindowSizeOnlyOnceTheDeviceAskedForIt) {
    TelnetCodec c;
    EXPECT_EQ(c.window(120, 40), "");
    std::string clean, replies;
    c.decode(bytes({255, 253, 31}), clean, replies);
    EXPECT_EQ(replies, bytes({255, 251, 31, 255, 250, 31, 0, 120, 0, 40, 255, 240}));
    EXPECT_EQ(c.window(255, 300), bytes({255, 250, 31, 0, 255, 255, 1, 44, 255, 240}));
}
