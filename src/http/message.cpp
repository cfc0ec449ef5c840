#include "http/message.hpp"

#include <strings.h>

namespace np::http {

std::string_view method_name(Method m) {
    switch (m) {
        case Method::get: return "GET";
        case Method::head: return "HEAD";
        case Method::post: return "POST";
        case Method::put: return "PUT";
        case Method::patch: return "PATCH";
        case Method::del: return "DELETE";
        case Method::options: return "OPTIONS";
        case Method::other: return "OTHER";
    }
    return "OTHER";
}

std::string_view Request::header(std::string_view name) const {
    for (const auto& [k, v] : headers)
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    return {};
}

bool percent_decode(std::string_view in, std::string& out, bool plus_is_space) {
    out.clear();
    out.reserve(in.size());
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%') {
            if (i + 2 >= in.size()) return false;
            int h = hex(in[i + 1]), l = hex(in[i + 2]);
            if (h < 0 || l < 0) return false;
            out.push_back(static_cast<char>(h * 16 + l));
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    return true;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
    std::string_view q(query);
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        auto eq = pair.find('=');
        std::string key;
        if (!percent_decode(pair.substr(0, eq), key, true)) continue;
        if (key != name) continue;
        std::string value;
        if (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), value, true))
            return std::nullopt;
        return value;
    }
    return std::nullopt;
}

std::optional<std::string> Request::cookie(std::string_view name) const {
    std::string_view c = header("cookie");
    while (!c.empty()) {
        auto semi = c.find(';');
        std::string_view item = c.substr(0, semi);
        c = semi == std::string_view::npos ? std::string_view{} : c.substr(semi + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        auto eq = item.find('=');
        if (eq == std::string_view::npos) continue;
        if (item.substr(0, eq) == name) return std::string(item.substr(eq + 1));
    }
    return std::nullopt;
}

Response json_response(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

Response text_response(int status, std::string body, MediaType content_type) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = content_type;
    return r;
}

Response websocket_response(WebSocketHandler session) {
    Response r;
    r.status = 101;
    r.content_type = {};
    r.websocket = std::move(session);
    return r;
}

}  // namespace np::http
