#include "app/event_relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/offload.hpp"
#include "store/store.hpp"

namespace np::app {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {
// PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
constexpr std::size_t kMaxPayload = 7999;
}  // namespace

struct EventRelay::Impl : std::enable_shared_from_this<EventRelay::Impl> {
    Impl(asio::any_io_executor ex, store::Store& s, core::WorkerPool& p, EventBus& b)
        : executor(ex), store(s), pool(p), bus(b), origin(core::random_hex(8)), retry(ex) {}

    asio::any_io_executor executor;
    store::Store& store;
    core::WorkerPool& pool;
    EventBus& bus;
    std::string origin;  // this instance, so our own notifications are not published twice
    std::unique_ptr<store::Store::Listener> listener;
    std::unique_ptr<asio::posix::stream_descriptor> socket;
    std::unique_ptr<EventBus::Subscription> outgoing;
    asio::steady_timer retry;
    bool stopped = false;

    void close_socket() {
        if (socket) {
            boost::system::error_code ec;
            socket->cancel(ec);
            socket->release();  // the fd belongs to the listener's connection
            socket.reset();
        }
        listener.reset();
    }

    asio::awaitable<void> connect() {
        listener = co_await pool.run([this] { return store.listen(kChannel); });
        if (listener) socket = std::make_unique<asio::posix::stream_descriptor>(executor, listener->fd());
    }

    // Incoming: wait for the socket, drain, publish; reconnect with backoff when the connection drops.
    asio::awaitable<void> receive() {
        auto self = shared_from_this();
        auto backoff = std::chrono::milliseconds(500);
        while (!stopped) {
            std::string failure;
            try {
                if (!listener) {
                    co_await connect();
                    if (!listener) break;
                    log::info("events.relay_reconnected");
                    backoff = std::chrono::milliseconds(500);
                }
                auto [ec] = co_await socket->async_wait(asio::posix::stream_descriptor::wait_read,
                                                        asio::as_tuple(asio::use_awaitable));
                if (stopped) break;
                if (ec) throw core::unavailable("waiting for notifications: " + ec.message());
                for (const auto& payload : listener->drain()) {
                    std::string from;
                    auto e = decode(payload, &from);
                    if (!e) {
                        log::warn("events.relay_bad_payload", {{"bytes", payload.size()}});
                        continue;
                    }
                    if (from == origin) continue;  // ours, already published here
                    bus.publish(std::move(*e));
                }
                continue;
            } catch (const std::exception& err) {
                failure = err.what();
            }
            if (stopped) break;  // (no co_await inside a handler: the backoff waits out here)
            log::warn("events.relay_lost", {{"error", failure}, {"retry_ms", backoff.count()}});
            close_socket();
            retry.expires_after(backoff);
            co_await retry.async_wait(asio::as_tuple(asio::use_awaitable));
            backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
        }
    }

    // Outgoing: every local event, in order, through NOTIFY.
    asio::awaitable<void> send() {
        auto self = shared_from_this();
        while (!stopped) {
            auto e = co_await outgoing->next(std::chrono::seconds(60));
            if (stopped || (outgoing->closed() && !e)) break;
            if (!e || e->remote) continue;
            auto payload = encode(*e, origin);
            if (payload.size() > kMaxPayload) {
                log::warn("events.relay_too_big", {{"type", e->type}, {"bytes", payload.size()}});
                continue;
            }
            try {
                co_await pool.run([&] { store.notify(kChannel, payload); });
            } catch (const std::exception& err) {
                log::warn("events.relay_notify_failed", {{"type", e->type}, {"error", err.what()}});
            }
        }
    }
};

EventRelay::EventRelay(asio::any_io_executor executor, store::Store& store, core::WorkerPool& pool,
                       EventBus& bus)
    : impl_(std::make_shared<Impl>(executor, store, pool, bus)) {}

EventRelay::~EventRelay() {
    stop();
}

asio::awaitable<bool> EventRelay::start() {
    auto impl = impl_;
    impl->outgoing = impl->bus.subscribe({}, impl->bus.last_id());  // before connecting: nothing is missed
    try {
        co_await impl->connect();
        if (!impl->listener) {  // a store without notifications (SQLite): one instance, nothing to relay
            impl->outgoing.reset();
            co_return false;
        }
    } catch (const std::exception& e) {  // the receiver retries with backoff
        log::warn("events.relay_lost", {{"error", e.what()}});
    }
    asio::co_spawn(impl->executor, impl->receive(), asio::detached);
    asio::co_spawn(impl->executor, impl->send(), asio::detached);
    log::info("events.relay_started", {{"channel", kChannel}, {"origin", impl->origin}});
    co_return true;
}

void EventRelay::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->retry.cancel();
    impl_->close_socket();
    impl_->outgoing.reset();  // wakes the sender
}

std::string EventRelay::encode(const Event& e, const std::string& origin) {
    return json::serialize(json::object{{"origin", origin},
                                        {"type", e.type},
                                        {"job", e.job_id},
                                        {"environment", e.environment_id},
                                        {"owner", e.owner_id},
                                        {"data", e.data}});
}

std::optional<Event> EventRelay::decode(const std::string& payload, std::string* origin) {
    boost::system::error_code ec;
    auto v = json::parse(payload, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    auto str = [&o](std::string_view k) -> const json::string* {
        auto* f = o.if_contains(k);
        return f && f->is_string() ? &f->as_string() : nullptr;
    };
    const json::string *from = str("origin"), *type = str("type"), *job = str("job"),
                       *env = str("environment"), *owner = str("owner"), *data = str("data");
    if (!from || !type || !job || !env || !owner || !data || type->empty()) return std::nullopt;
    Event e;
    e.type = std::string(*type);
    e.job_id = std::string(*job);
    e.environment_id = std::string(*env);
    e.owner_id = std::string(*owner);
    e.data = std::string(*data);
    e.remote = true;
    if (origin) *origin = std::string(*from);
    return e;
}

}  // namespace np::app
