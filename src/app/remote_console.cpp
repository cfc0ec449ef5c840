#include "app/remote_console.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <deque>

#include "core/error.hpp"
#include "core/log.hpp"
#include "net/http_client.hpp"

namespace np::app {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Ws = websocket::stream<beast::tcp_stream>;

// The owner's refusal of the upgrade as our own error: its status and its problem detail.
core::Error refusal(const websocket::response_type& res, const std::string& owner) {
    std::string detail;
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body(), ec);
    if (!ec && v.is_object())
        if (const auto* d = v.as_object().if_contains("detail"); d && d->is_string()) detail = d->as_string();
    if (detail.empty()) detail = "the instance owning this lab (" + owner + ") refused the console";
    switch (res.result_int()) {
        case 400: return core::invalid(detail);
        case 401: return core::unauthenticated(detail);
        case 403: return core::forbidden(detail);
        case 404: return core::not_found(detail);
        case 409: return core::conflict(detail);
        case 429: return core::Error(core::Code::rate_limited, detail);
        default:
            return core::unavailable("the instance owning this lab (" + owner + ") answered " +
                                     std::to_string(res.result_int()) + ": " + detail);
    }
}

// Shared with the writer and closer coroutines, which may outlive the stream object.
struct State {
    explicit State(asio::any_io_executor ex) : ws(ex), signal(ex) {}
    Ws ws;
    asio::steady_timer signal;                       // wakes the writer
    std::deque<std::pair<std::string, bool>> queue;  // outgoing messages (data, binary)
    beast::flat_buffer incoming;
    std::string pending;  // the rest of a message larger than the reader's buffer
    bool closed = false;
};

asio::awaitable<void> writer(std::shared_ptr<State> s) {
    while (!s->closed) {
        if (s->queue.empty()) {
            s->signal.expires_at(asio::steady_timer::time_point::max());
            boost::system::error_code ec;
            co_await s->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        auto [data, binary] = std::move(s->queue.front());
        s->queue.pop_front();
        s->ws.binary(binary);
        boost::system::error_code ec;
        co_await s->ws.async_write(asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
    }
    if (!s->closed) {  // the owner went away mid-write: end the reads too
        s->closed = true;
        beast::get_lowest_layer(s->ws).close();
        co_return;
    }
    // Closed by us: a close frame, bounded, then the socket.
    beast::get_lowest_layer(s->ws).expires_after(std::chrono::seconds(5));
    boost::system::error_code ec;
    co_await s->ws.async_close(websocket::close_code::normal, asio::redirect_error(asio::use_awaitable, ec));
    beast::get_lowest_layer(s->ws).close();
}

class RemoteConsole final : public lab::ConsoleStream {
 public:
    explicit RemoteConsole(std::shared_ptr<State> s) : s_(std::move(s)) {
        asio::co_spawn(s_->ws.get_executor(), writer(s_), asio::detached);
    }
    ~RemoteConsole() override { close(); }

    asio::awaitable<std::size_t> read_some(std::span<char> buffer) override {
        while (s_->pending.empty()) {
            if (s_->closed) co_return 0;
            s_->incoming.clear();
            boost::system::error_code ec;
            co_await s_->ws.async_read(s_->incoming, asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (ec != websocket::error::closed && !s_->closed)
                    log::debug("console.remote_read", {{"error", ec.message()}});
                close();
                co_return 0;
            }
            if (s_->ws.got_binary()) s_->pending = beast::buffers_to_string(s_->incoming.data());
        }
        auto n = std::min(buffer.size(), s_->pending.size());
        std::memcpy(buffer.data(), s_->pending.data(), n);
        s_->pending.erase(0, n);
        co_return n;
    }

    asio::awaitable<void> write(std::string_view bytes) override {
        if (s_->closed) throw core::unavailable("the console closed");
        send(std::string(bytes), true);
        co_return;
    }

    void resize(unsigned short rows, unsigned short cols) override {
        send(boost::json::serialize(boost::json::object{{"type", "resize"}, {"cols", cols}, {"rows", rows}}),
             false);
    }

    void close() override {
        if (s_->closed) return;
        s_->closed = true;
        s_->signal.cancel();  // the writer sends the close frame
    }

 private:
    void send(std::string data, bool binary) {
        if (s_->closed) return;
        s_->queue.emplace_back(std::move(data), binary);
        s_->signal.cancel();
    }
    std::shared_ptr<State> s_;
};

}  // namespace

asio::awaitable<std::unique_ptr<lab::ConsoleStream>> open_remote_console(const std::string& address,
                                                                         const std::string& target,
                                                                         const std::string& token,
                                                                         const std::string& owner_name) {
    auto url = net::parse_url(address);
    auto host = url.host + ":" + std::to_string(url.port);
    auto owner = owner_name + " at " + host;
    if (url.tls) throw core::unavailable("consoles through another instance need a plain http:// address");
    auto s = std::make_shared<State>(co_await asio::this_coro::executor);
    auto& socket = beast::get_lowest_layer(s->ws);
    boost::system::error_code ec;
    tcp::resolver resolver(s->ws.get_executor());
    auto endpoints = co_await resolver.async_resolve(url.host, std::to_string(url.port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) {
        socket.expires_after(std::chrono::seconds(10));
        co_await socket.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec)
        throw core::unavailable("the instance owning this lab (" + owner +
                                ") cannot be reached: " + ec.message());
    socket.expires_never();
    s->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    s->ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
        req.set(beast::http::field::authorization, "Bearer " + token);
    }));
    websocket::response_type res;
    co_await s->ws.async_handshake(res, host, url.base_path + target,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec == websocket::error::upgrade_declined) throw refusal(res, owner);
    if (ec)
        throw core::unavailable("the instance owning this lab (" + owner +
                                ") failed the console: " + ec.message());
    co_return std::make_unique<RemoteConsole>(std::move(s));
}

}  // namespace np::app
