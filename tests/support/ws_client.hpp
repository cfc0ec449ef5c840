// Test helper: a blocking WebSocket client (Beast) on 127.0.0.1 whose socket reads and writes give up after
// a timeout, so a test that waits for the server to act fails instead of hanging.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace np::testkit {

struct WsClient {
    boost::asio::io_context io;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws{io};
    boost::beast::websocket::response_type response;  // the answer to the upgrade request
    boost::system::error_code handshake_error;

    WsClient(std::uint16_t port, const std::string& target,
             const std::vector<std::pair<std::string, std::string>>& headers = {}, int timeout_seconds = 20) {
        auto& sock = ws.next_layer();
        sock.connect({boost::asio::ip::make_address("127.0.0.1"), port});
        timeval tv{timeout_seconds, 0};
        ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        ws.set_option(boost::beast::websocket::stream_base::decorator(
            [headers](boost::beast::websocket::request_type& req) {
                for (const auto& [k, v] : headers) req.set(k, v);
            }));
        ws.handshake(response, "127.0.0.1:" + std::to_string(port), target, handshake_error);
    }
    bool open() const { return !handshake_error; }
    int status() const { return response.result_int(); }

    bool send(const std::string& data, bool binary = false) {
        boost::system::error_code ec;
        ws.binary(binary);
        ws.write(boost::asio::buffer(data), ec);
        return !ec;
    }
    // The next message and whether it was binary; `ec` set when the session ended (then ws.reason()).
    std::pair<std::string, bool> receive(boost::system::error_code& ec) {
        boost::beast::flat_buffer buffer;
        ws.read(buffer, ec);
        return {boost::beast::buffers_to_string(buffer.data()), ws.got_binary()};
    }
};

}  // namespace np::testkit
