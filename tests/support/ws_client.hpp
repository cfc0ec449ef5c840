// Test helper: a blocking WebSocket client (Beast) on 127.0.0.1 whose every operation (connect, upgrade,
// send, receive) gives up after `timeout_seconds`, so a test that waits for the server to act fails instead
// of hanging. Asio ignores SO_RCVTIMEO, so each operation is an asynchronous one run on `io` for at most the
// timeout; one that has not finished by then is cancelled and fails with error::timed_out (the session is
// then unusable, as after any WebSocket error).
#pragma once

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
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
    std::chrono::seconds timeout;

    WsClient(std::uint16_t port, const std::string& target,
             const std::vector<std::pair<std::string, std::string>>& headers = {}, int timeout_seconds = 20)
        : timeout(timeout_seconds) {
        boost::asio::ip::tcp::endpoint at{boost::asio::ip::make_address("127.0.0.1"), port};
        handshake_error = bounded([&](auto done) { ws.next_layer().async_connect(at, done); });
        if (handshake_error) return;
        ws.set_option(boost::beast::websocket::stream_base::decorator(
            [headers](boost::beast::websocket::request_type& req) {
                for (const auto& [k, v] : headers) req.set(k, v);
            }));
        handshake_error = bounded([&](auto done) {
            ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), target, done);
        });
    }
    bool open() const { return !handshake_error; }
    int status() const { return response.result_int(); }

    bool send(const std::string& data, bool binary = false) {
        ws.binary(binary);
        return !bounded([&](auto done) { ws.async_write(boost::asio::buffer(data), done); });
    }
    // The next message and whether it was binary; `ec` set when the session ended (then ws.reason()) or
    // when nothing came within the timeout (error::timed_out).
    std::pair<std::string, bool> receive(boost::system::error_code& ec) {
        boost::beast::flat_buffer buffer;
        ec = bounded([&](auto done) { ws.async_read(buffer, done); });
        return {boost::beast::buffers_to_string(buffer.data()), ws.got_binary()};
    }

    // Starts one asynchronous operation with a completion handler and runs `io` until it completes, for at
    // most `timeout`: then the socket's operations are cancelled and it fails with timed_out.
    template <class Start>
    boost::system::error_code bounded(Start start) {
        bool finished = false;
        boost::system::error_code result;
        start([&](boost::system::error_code ec, auto&&...) {
            finished = true;
            result = ec;
        });
        io.restart();
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!finished && std::chrono::steady_clock::now() < deadline)
            if (io.run_one_until(deadline) == 0 && io.stopped()) break;
        if (!finished) {
            boost::system::error_code ignored;
            ws.next_layer().cancel(ignored);
            io.restart();
            while (!finished && io.run_one() != 0) {
            }
            result = boost::asio::error::timed_out;
        }
        io.restart();  // ready for the caller's own asynchronous operations (io.run_for...)
        return result;
    }
};

}  // namespace np::testkit
