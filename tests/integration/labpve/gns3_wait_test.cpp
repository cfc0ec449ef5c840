// Waiting for a VM's GNS3 server (labpve::wait_gns3_server) when something else answers at its address: an
// HTTP server that is not GNS3 (404 to /v2/version: a wrong pve.gns3.port, another service on the VM) fails
// the wait after three such answers with a message naming the address, instead of polling to the boot
// deadline (600 s by default) and then failing on a timeout that names nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <thread>

#include "core/error.hpp"
#include "http/server.hpp"
#include "labpve/gns3_guest.hpp"
#include "labpve/proxmox_provider.hpp"

namespace np::labpve {
namespace {

namespace asio = boost::asio;

TEST(Gns3Wait, AServerThatIsNotGns3FailsTheWaitAtOnceNamingTheAddress) {
    asio::io_context server_io;
    std::atomic<int> asked{0};
    http::ServerOptions so;
    so.port = 0;
    so.access_log = false;
    http::Server server(server_io.get_executor(), so,
                        [&](http::Request& req) -> asio::awaitable<http::Response> {
                            if (req.path == "/v2/version") ++asked;
                            co_return http::text_response(404, "Not Found");
                        });
    auto port = server.listen();
    server.start();
    std::thread thread([&] { server_io.run(); });

    ProxmoxOptions options;
    options.gns3_port = port;
    options.poll_interval = std::chrono::milliseconds(10);
    asio::io_context io;
    auto g = gns3_client(io.get_executor(), options, "127.0.0.1");
    auto done = asio::co_spawn(
        io, wait_gns3_server(g, options, std::chrono::steady_clock::now() + std::chrono::minutes(10)),
        asio::use_future);
    io.run();
    core::Code code = core::Code::internal;
    std::string message;
    try {
        done.get();
    } catch (const core::Error& e) {
        code = e.code();
        message = e.what();
    }
    server_io.stop();
    thread.join();
    EXPECT_EQ(code, core::Code::upstream) << message;
    EXPECT_NE(message.find("127.0.0.1:" + std::to_string(port) + " answers HTTP but is not a GNS3 server"),
              std::string::npos)
        << message;
    EXPECT_EQ(asked.load(), 3);  // three answers, no more polling
}

}  // namespace
}  // namespace np::labpve
