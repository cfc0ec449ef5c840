// pve::Client: the Proxmox VE API over net::HttpClient (keep-alive pool, TLS pinning). Auth by ticket
// (/access/ticket; PVEAuthCookie + CSRFPreventionToken on writes; renewed before the 2 h expiry; a cache
// keyed by user, so each user's actions run under their own ticket) or by API token. Idempotent calls are
// retried with exponential backoff and full jitter on transport errors, 5xx and lock timeouts; others are
// never resent blindly: their transport failures throw OutcomeUnknown so the caller can look first.
// Runs on the event-loop thread of its executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/ids.hpp"
#include "net/http_client.hpp"
#include "net/limiter.hpp"
#include "net/retry.hpp"
#include "pve/types.hpp"

namespace np::pve {

struct Credentials {
    std::string user;  // user@realm (ticket auth)
    std::string password;
    std::string token_id;      // user@realm!tokenname (token auth)
    std::string token_secret;  // the token's UUID
    bool uses_token() const { return !token_id.empty(); }
};

struct ClientOptions {
    std::string url = "https://127.0.0.1:8006";  // "/api2/json" is appended when the URL has no path
    net::TlsOptions tls;
    Credentials credentials;
    net::BackoffPolicy retry;
    std::chrono::milliseconds request_timeout{30'000};
    std::chrono::seconds ticket_renew_after{3600};  // tickets live 7200 s; renew well before
    std::chrono::milliseconds storage_list_timeout{60'000};
    // Concurrent operations per node and per storage. A storage admits a few disk operations at once and
    // queues the rest until its lock times out (API.md §6): start at about twice that, widen while
    // operations finish quickly, narrow on lock timeouts and 5xx.
    net::LimiterOptions node_limits{
        2, 32, 12, std::chrono::milliseconds(5000), 0.7, std::chrono::milliseconds(1000)};
    net::LimiterOptions storage_limits{
        1, 16, 6, std::chrono::milliseconds(5000), 0.7, std::chrono::milliseconds(1000)};
};

// An error reply of the API: HTTP status plus PVE's message (status line or body "message").
class ApiError : public core::Error {
 public:
    ApiError(core::Code code, std::string message, bool retryable, int status, std::string pve_message,
             std::vector<core::FieldError> fields = {})
        : core::Error(code, std::move(message), retryable, std::move(fields)),
          status_(status),
          pve_message_(std::move(pve_message)) {}
    int status() const { return status_; }
    const std::string& pve_message() const { return pve_message_; }

 private:
    int status_;
    std::string pve_message_;
};

// A non-idempotent request whose connection failed: Proxmox may or may not have acted on it.
class OutcomeUnknown : public core::Error {
 public:
    explicit OutcomeUnknown(std::string message)
        : core::Error(core::Code::unavailable, std::move(message), true) {}
};

// Message classes of PVE errors that callers act on (API.md §3, §6).
bool is_lock_timeout(std::string_view message);    // "can't lock file ... got timeout", "is locked (...)"
bool is_vmid_collision(std::string_view message);  // "config file already exists", "already exists on node"
bool is_not_found(std::string_view message);       // "does not exist", "no such VM"
// Builds the error for a non-2xx reply (exposed for unit tests).
ApiError api_error(int status, std::string_view reason, std::string_view body, std::string_view what);

using Params = std::vector<std::pair<std::string, std::string>>;

struct CallOptions {
    bool idempotent = true;  // retried on transport errors, 5xx and lock timeouts
    std::chrono::milliseconds timeout{0};
};

struct ClientStats {
    std::uint64_t calls = 0;
    std::uint64_t retries = 0;
    std::uint64_t logins = 0;
    std::uint64_t renewals = 0;
};

class Client {
 public:
    Client(boost::asio::any_io_executor executor, ClientOptions options,
           const core::Clock& clock = core::Clock::system(), net::Random& random = net::default_random());

    // The same connection pool, limiters and ticket cache acting as another user (ticket auth): that user's
    // actions show as theirs in Proxmox's task log.
    Client as_user(std::string user, std::string password) const;
    const std::string& user() const {
        return credentials_.uses_token() ? credentials_.token_id : credentials_.user;
    }

    // Logs in now (otherwise done on the first call); throws unauthenticated on a refused login.
    boost::asio::awaitable<void> login();
    // Logs a user in and returns nothing but success: for login realms. nullopt-style: returns false on 401.
    boost::asio::awaitable<bool> check_login(std::string user, std::string password);

    // One API call; returns the reply's `data`.
    boost::asio::awaitable<boost::json::value> call(std::string method, std::string path, Params params = {},
                                                    CallOptions options = {});

    // Typed calls.
    boost::asio::awaitable<VersionInfo> version();
    boost::asio::awaitable<std::vector<NodeInfo>> nodes();
    boost::asio::awaitable<std::vector<Resource>> cluster_resources(std::string type = {});
    boost::asio::awaitable<std::vector<GuestSummary>> list_guests(GuestKind kind, std::string node);
    boost::asio::awaitable<GuestConfig> guest_config(GuestKind kind, std::string node, int vmid);
    boost::asio::awaitable<GuestStatus> guest_status(GuestKind kind, std::string node, int vmid);
    struct CloneRequest {
        int newid = 0;
        std::string name;  // hostname for LXC
        std::optional<bool> full;
        std::string target, storage, pool, description;
    };
    // Not idempotent: a transport failure throws OutcomeUnknown.
    boost::asio::awaitable<std::string> clone(GuestKind kind, std::string node, int vmid,
                                              CloneRequest request);
    boost::asio::awaitable<std::string> start(GuestKind kind, std::string node, int vmid);
    boost::asio::awaitable<std::string> stop(GuestKind kind, std::string node, int vmid);
    boost::asio::awaitable<std::string> shutdown(GuestKind kind, std::string node, int vmid,
                                                 int timeout_s = 0, bool force_stop = true);
    boost::asio::awaitable<std::string> destroy(GuestKind kind, std::string node, int vmid, bool purge = true,
                                                bool destroy_unreferenced_disks = true);
    // qemu: a UPID; LXC template is synchronous (empty result).
    boost::asio::awaitable<std::string> make_template(GuestKind kind, std::string node, int vmid);
    struct MigrateRequest {
        std::string target;             // the node the VM goes to
        bool online = false;            // live migration of a running VM (ignored for a stopped one)
        bool with_local_disks = false;  // copy local disks along (needed for a running VM's)
        std::string targetstorage;      // where local disks go on the target (empty: the same storage)
    };
    // qemu migration (a `qmigrate` UPID). Not idempotent: a transport failure throws OutcomeUnknown.
    boost::asio::awaitable<std::string> migrate(std::string node, int vmid, MigrateRequest request);
    // PUT .../config (synchronous): e.g. {"name", "x"}; idempotent.
    boost::asio::awaitable<void> set_config(GuestKind kind, std::string node, int vmid, Params params);
    boost::asio::awaitable<std::vector<NetInterface>> agent_interfaces(std::string node, int vmid);
    boost::asio::awaitable<std::vector<StorageInfo>> node_storage(std::string node);
    boost::asio::awaitable<std::vector<Volume>> storage_content(std::string node, std::string storage,
                                                                int vmid = 0);
    // A UPID, or empty when Proxmox deleted synchronously.
    boost::asio::awaitable<std::string> delete_volume(std::string node, std::string storage,
                                                      std::string volid);
    boost::asio::awaitable<TaskStatus> task_status(std::string upid);
    boost::asio::awaitable<std::vector<TaskLogLine>> task_log(std::string upid, int start = 0,
                                                              int limit = 50);
    struct TaskQuery {
        std::string source = "all";
        std::int64_t since = 0;
        int limit = 500;
        int vmid = 0;
        std::string typefilter, userfilter;
    };
    boost::asio::awaitable<std::vector<TaskListItem>> node_tasks(std::string node, TaskQuery query);
    boost::asio::awaitable<std::vector<Pool>> pools();
    boost::asio::awaitable<Pool> pool(std::string poolid);
    boost::asio::awaitable<void> create_pool(std::string poolid, std::string comment = {});
    boost::asio::awaitable<void> add_to_pool(std::string poolid, std::vector<int> vmids);
    boost::asio::awaitable<void> delete_pool(std::string poolid);

    // Concurrency limits per node and per storage ("node/storage" for local storage, "storage" for shared).
    net::Limiter& limiter(const std::string& key, bool storage);
    std::vector<std::pair<std::string, std::size_t>> limiter_peaks() const;

    const ClientStats& stats() const;
    const net::ClientStats& http_stats() const;
    const net::BackoffPolicy& retry_policy() const;
    net::Random& random() const;
    const core::Clock& clock() const;
    boost::asio::any_io_executor executor() const;
    // Sleeps on the event loop (real time).
    boost::asio::awaitable<void> sleep(std::chrono::milliseconds d) const;

    struct Shared;

 private:
    Client(std::shared_ptr<Shared> shared, Credentials credentials);
    boost::asio::awaitable<void> ensure_ticket(bool force);
    boost::asio::awaitable<std::pair<std::string, std::string>> request_ticket(std::string user,
                                                                               std::string secret);

    std::shared_ptr<Shared> shared_;
    Credentials credentials_;
};

// URL-encodes form/query parameters (application/x-www-form-urlencoded).
std::string form_encode(const Params& params);
std::string url_escape(std::string_view text);

}  // namespace np::pve
