#include "store/migrations.hpp"

#include "core/error.hpp"

namespace np::store {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string sql_for_dialect(std::string_view sql, std::string_view dialect) {
    if (dialect != "sqlite" && dialect != "postgresql") {
        throw core::internal("unknown SQL dialect '" + std::string(dialect) + "'");
    }
    std::string out;
    out.reserve(sql.size());
    std::string_view block;  // empty: common lines
    std::size_t line_no = 0;
    while (!sql.empty()) {
        auto end = sql.find('\n');
        std::string_view line = sql.substr(0, end == std::string_view::npos ? sql.size() : end + 1);
        sql.remove_prefix(line.size());
        ++line_no;
        auto t = trim(line.substr(0, line.back() == '\n' ? line.size() - 1 : line.size()));
        if (t.starts_with("--@")) {
            auto marker = trim(t.substr(3));
            if (marker == "end") {
                if (block.empty())
                    throw core::internal("migration line " + std::to_string(line_no) +
                                         ": --@ end without block");
                block = {};
            } else if (marker == "sqlite" || marker == "postgresql") {
                if (!block.empty())
                    throw core::internal("migration line " + std::to_string(line_no) + ": nested --@ block");
                block = marker;
            } else {
                throw core::internal("migration line " + std::to_string(line_no) + ": unknown marker '" +
                                     std::string(marker) + "'");
            }
            out += '\n';  // keep line numbers of engine errors meaningful
            continue;
        }
        if (block.empty() || block == dialect) {
            out += line;
        } else {
            out += '\n';
        }
    }
    if (!block.empty()) throw core::internal("migration: --@ " + std::string(block) + " block is not closed");
    return out;
}

}  // namespace np::store
