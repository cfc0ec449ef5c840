// Structured logging: one logfmt line per event (`ts=... level=info event=http.request rid=... status=200`),
// written through spdlog. Values of secret-looking keys (password, token, ticket, secret, cookie,
// authorization, csrf) are replaced by "[redacted]" here, so no caller can leak one by accident.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace np::log {

enum class Level { debug, info, warn, error };

struct Field {
    std::string_view key;
    std::string value;
    Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const char* v) : key(k), value(v ? v : "") {}
    template <class N>
    requires std::is_arithmetic_v<N> Field(std::string_view k, N n) : key(k), value(std::to_string(n)) {}
};

// Configure the process logger: level name ("debug".."error"), format "logfmt" or "json".
void setup(std::string_view level = "info", std::string_view format = "logfmt");
bool enabled(Level level);
void write(Level level, std::string_view event, std::initializer_list<Field> fields);

// Renders one line without writing it (used by tests and by write()).
std::string render(std::string_view event, std::initializer_list<Field> fields, bool json);
bool is_secret_key(std::string_view key);

inline void debug(std::string_view e, std::initializer_list<Field> f = {}) {
    if (enabled(Level::debug)) write(Level::debug, e, f);
}
inline void info(std::string_view e, std::initializer_list<Field> f = {}) {
    write(Level::info, e, f);
}
inline void warn(std::string_view e, std::initializer_list<Field> f = {}) {
    write(Level::warn, e, f);
}
inline void error(std::string_view e, std::initializer_list<Field> f = {}) {
    write(Level::error, e, f);
}

}  // namespace np::log
