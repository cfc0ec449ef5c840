// open_store: the store URL of config key `store.url` to an implementation.
#include "core/error.hpp"
#include "store/pg_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/store.hpp"
#include "store/url.hpp"

namespace np::store {

std::string redacted_url(const std::string& url) {
    auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    auto at = url.find('@', scheme + 3);
    auto slash = url.find('/', scheme + 3);
    if (at == std::string::npos || (slash != std::string::npos && slash < at)) return url;
    auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::unique_ptr<Store> open_store(const std::string& url) {
    if (url.empty()) throw core::invalid("store.url is empty (e.g. sqlite:./var/netpraxis.db)");
    if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
        return std::make_unique<PgStore>(PgOptions{.conninfo = url});
    }
    std::string path = url;
    if (url.starts_with("sqlite:")) {
        path = url.substr(7);
        if (path.starts_with("//")) path = path.substr(2);  // sqlite:///abs/path
    } else if (url.find("://") != std::string::npos) {
        throw core::invalid("store.url '" + url +
                            "' has an unknown scheme; use sqlite:PATH or postgresql://...");
    }
    if (path.empty()) throw core::invalid("store.url '" + url + "' names no database file");
    return std::make_unique<SqliteStore>(SqliteOptions{.path = path});
}

}  // namespace np::store
