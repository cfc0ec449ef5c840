// WebSocket routes. The console bridge (GET /api/v1/environments/{id}/nodes/{node}/console) belongs here
// too: a Route with `websocket = true` whose handler checks the object (require_owner) and returns
// http::websocket_response(session).
#include "api/handlers.hpp"

namespace np::api {

void add_websocket_routes(Router& r, ApiDeps&) {
    Route echo{
        http::Method::get,
        "/api/v1/ws/echo",
        Policy::authenticated,
        "system",
        "WebSocket echo: every text or binary message comes back as it was sent. For clients to check "
        "that WebSockets reach the server through proxies (the same authentication, Origin check and "
        "limits as the consoles).",
        {},
        {},
        101,
        [](Context&) -> boost::asio::awaitable<http::Response> {
            co_return http::websocket_response([](http::WebSocket& ws) -> boost::asio::awaitable<void> {
                while (auto message = co_await ws.read())
                    if (!co_await ws.write(std::move(message->data), message->binary)) break;
            });
        }};
    echo.websocket = true;
    r.add(std::move(echo));
}

}  // namespace np::api
