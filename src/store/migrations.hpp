// Numbered schema migrations compiled into the binary (src/store/migrations/NNNN_name.sql, embedded at
// build time). One file serves every engine: lines between `--@ sqlite` (or `--@ postgresql`) and
// `--@ end` belong to that engine only.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace np::store {

struct Migration {
    int version;            // NNNN of the file name
    std::string_view name;  // the rest of the file name, without .sql
    std::string_view sql;   // the file's text, both dialects
};

// Every embedded migration, sorted by version (generated source).
std::span<const Migration> embedded_migrations();

// The SQL of `sql` for one engine ("sqlite" or "postgresql"): common lines plus that engine's blocks.
// Throws core::Error(internal) on an unknown engine name or an unbalanced `--@` block.
std::string sql_for_dialect(std::string_view sql, std::string_view dialect);

}  // namespace np::store
