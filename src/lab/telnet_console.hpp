// lab::TelnetConsole: a telnet client over a raw console byte stream (VPCS, GNS3 nodes, IOS-like
// consoles), so every provider's ConsoleStream gives a clean terminal stream (RFC 854/855/1073):
//  - device output: IAC sequences are removed (also when split across reads), IAC IAC becomes 0xFF;
//  - negotiation is answered here: DO SUPPRESS-GO-AHEAD and DO NAWS -> WILL (then the window size), other
//    DO -> WONT; WILL ECHO/SUPPRESS-GO-AHEAD -> DO, other WILL -> DONT; a request already in force is not
//    answered again (no negotiation loops);
//  - input: 0xFF is doubled and a lone CR (a terminal's Enter) becomes CR LF (NVT end of line);
//  - resize() sends the window size when the device asked for it (DO NAWS).
// Writes (input, replies, window sizes) go out one at a time, in order, whatever calls them.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lab/provider.hpp"

namespace np::lab {

// The telnet protocol state of one connection, without I/O (unit-tested on its own).
class TelnetCodec {
 public:
    // Appends to `clean` the terminal bytes of `in` and to `replies` the negotiation answers.
    void decode(std::string_view in, std::string& clean, std::string& replies);
    // The bytes to send for `input` typed at a terminal.
    std::string encode(std::string_view input);
    // Remembers the window size; returns the NAWS subnegotiation to send (empty unless the device asked).
    std::string window(unsigned short cols, unsigned short rows);

 private:
    std::string naws() const;
    enum class State { data, iac, option, sb, sb_iac };
    State state_ = State::data;
    unsigned char verb_ = 0;
    bool us_[256] = {};        // options we do (we said WILL)
    bool him_[256] = {};       // options the device does (we said DO)
    bool refused_[256] = {};   // DO answered with WONT already
    bool declined_[256] = {};  // WILL answered with DONT already
    bool naws_ = false;        // the device asked for our window size
    bool cr_ = false;          // the last input byte was a CR turned into CR LF
    unsigned short cols_ = 80, rows_ = 24;
};

// Wraps the raw stream of a telnet console; `executor` runs the writes resize() starts.
std::unique_ptr<ConsoleStream> telnet_console(boost::asio::any_io_executor executor,
                                              std::unique_ptr<ConsoleStream> raw);

}  // namespace np::lab
