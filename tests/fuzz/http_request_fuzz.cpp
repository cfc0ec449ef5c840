// Fuzz target: the HTTP request path up to the router, on raw bytes from the network. The server
// (src/http/server.cpp) parses with Beast's request_parser under its header and body limits, then
// fills an http::Request (path split and percent-decoded, headers lowercased) that routes read through
// query_param, cookie and header. The conversion itself (fill_request) is private to server.cpp, so this
// target drives the same parser configuration and the same public decoding functions; nothing may crash,
// hang or throw.
// Known, found by this target (2026-11): Boost 1.81's Beast asserts `n >= 5` in parse_chunk_header when a
// last chunk "0\r\n" and the next byte arrive in separate reads (boostorg/beast#2861, fixed in Boost 1.86);
// with assertions on, that aborts the server. Until Boost is upgraded, run with -fork=1 -ignore_crashes=1.
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.hpp"

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(16 * 1024);  // the server's defaults (server.header_limit, server.body_limit)
    parser.body_limit(1024 * 1024);
    parser.eager(true);
    // Bytes arrive in pieces: split at a point the input chooses, as a slow client would.
    std::size_t split = size > 1 ? data[0] % size : size;
    boost::beast::error_code ec;
    std::string pending;  // bytes received and not yet consumed by the parser
    for (std::string_view piece : {bytes.substr(0, split), bytes.substr(split)}) {
        pending.append(piece);
        while (!pending.empty() && !parser.is_done()) {
            std::size_t n = parser.put(boost::asio::buffer(pending), ec);
            pending.erase(0, n);
            if (ec == bhttp::error::need_more) {
                ec = {};
                break;  // wait for the next piece
            }
            if (ec) return 0;  // the server answers 400/413/431 and closes
        }
    }
    if (ec || !parser.is_done()) return 0;

    auto& msg = parser.get();
    np::http::Request req;
    req.target.assign(msg.target());
    auto q = req.target.find('?');
    std::string_view raw_path = std::string_view(req.target).substr(0, q);
    if (q != std::string::npos) req.query.assign(req.target, q + 1);
    if (!np::http::percent_decode(raw_path, req.path, false)) req.path.assign(raw_path);
    for (const auto& f : msg) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.body = msg.body();
    // What routes and auth read.
    for (const char* p : {"limit", "cursor", "q", "state", "student_id", ""}) (void)req.query_param(p);
    for (const char* c : {"np_session", "csrf_token", ""}) (void)req.cookie(c);
    for (const char* h : {"authorization", "content-type", "x-csrf-token", "x-request-id"})
        (void)req.header(h);
    return 0;
}
