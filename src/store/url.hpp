// Store URLs (config key `store.url`): the default, and a form safe to print.
#pragma once

#include <string>
#include <string_view>

namespace np::store {

// The embedded default: one SQLite file under ./var (parent folder created on open).
inline constexpr std::string_view kDefaultStoreUrl = "sqlite:./var/netpraxis.db";

// `url` with any password replaced ("postgresql://np:***@db/np"), for logs and console output.
std::string redacted_url(const std::string& url);

}  // namespace np::store
