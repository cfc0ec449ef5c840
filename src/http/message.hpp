// HTTP request and response as the API layer sees them: plain structs, no Beast in this header, so
// route code compiles fast. src/http/server.cpp converts from and to Beast messages.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace np::http {

enum class Method { get, head, post, put, patch, del, options, other };
std::string_view method_name(Method m);

using Headers = std::vector<std::pair<std::string, std::string>>;  // names lowercased

struct Request {
    Method method = Method::get;
    std::string target;  // as received, e.g. /api/v1/jobs?state=running
    std::string path;    // percent-decoded path without the query
    std::string query;   // raw query string without '?'
    Headers headers;
    std::string body;
    std::string remote_address;
    std::string request_id;

    // Case-insensitive header lookup; empty when absent.
    std::string_view header(std::string_view name) const;
    // The decoded value of a query parameter, if present.
    std::optional<std::string> query_param(std::string_view name) const;
    // A cookie's value from the Cookie header, if present.
    std::optional<std::string> cookie(std::string_view name) const;
};

// Writes a streaming body (SSE): each write is flushed to the client as one chunk.
class StreamWriter {
 public:
    virtual ~StreamWriter() = default;
    // Returns false when the client went away or the server is closing.
    virtual boost::asio::awaitable<bool> write(std::string data) = 0;
};

// A media type with static storage. It is built only from a string literal, so a Response neither
// allocates for it ("application/json" is one byte past std::string's small-string buffer, and every
// response would pay a heap allocation) nor can it dangle.
class MediaType {
 public:
    constexpr MediaType() = default;
    template <std::size_t N>
    constexpr MediaType(const char (&literal)[N]) : value_(literal, N - 1) {}  // NOLINT: implicit on purpose
    constexpr std::string_view view() const { return value_; }
    constexpr bool empty() const { return value_.empty(); }
    friend constexpr bool operator==(MediaType a, std::string_view b) { return a.value_ == b; }

 private:
    std::string_view value_;
};

struct Response {
    int status = 200;
    MediaType content_type = "application/json";  // empty: no Content-Type (e.g. 204)
    Headers headers;
    std::string body;
    // When set, the body is streamed (chunked) by this coroutine instead of `body`.
    std::function<boost::asio::awaitable<void>(StreamWriter&)> stream;

    Response& header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
};

Response json_response(int status, std::string body);
Response text_response(int status, std::string body, MediaType content_type = "text/plain; charset=utf-8");

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;

// Percent-decoding for paths and query values ('+' is a space only in queries). False on bad escapes.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace np::http
