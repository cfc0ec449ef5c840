// gns3::Client: the GNS3 server REST API v2 (gns3-server 2.2.x, controller endpoints under /v2) over
// net::HttpClient (one keep-alive pool per server). Optional HTTP Basic auth (the server's `auth = True`).
// Reads (GET) are retried with exponential backoff and full jitter on transport errors and 502-504; writes
// are never resent blindly. Error replies ({"message", "status"}) become gns3::ApiError with the server's
// message ("GNS3 export project lab1: 409 Project must be stopped in order to export it").
// Behaviour to expect (API.md): an imported or duplicated project is `closed` and must be opened before its
// nodes start (node calls on a closed project answer 403 "The project is not opened"); after a server
// restart every project is closed. Runs on the event-loop thread of its executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "gns3/types.hpp"
#include "net/http_client.hpp"
#include "net/retry.hpp"

namespace np::gns3 {

struct ClientOptions {
    std::string url = "http://127.0.0.1:3080";  // "/v2" is appended when the URL has no path
    std::string user, password;                 // Basic auth when user is set
    net::TlsOptions tls;                        // for an https:// URL (a reverse proxy in front of GNS3)
    net::BackoffPolicy retry{std::chrono::milliseconds(200), std::chrono::milliseconds(3000), 4};
    std::chrono::milliseconds request_timeout{60'000};
    std::chrono::milliseconds transfer_timeout{600'000};  // import and export of portable projects
};

// An error reply of the server: its HTTP status and message.
class ApiError : public core::Error {
 public:
    ApiError(core::Code code, std::string message, bool retryable, int status, std::string server_message)
        : core::Error(code, std::move(message), retryable),
          status_(status),
          server_message_(std::move(server_message)) {}
    int status() const { return status_; }
    const std::string& server_message() const { return server_message_; }

 private:
    int status_;
    std::string server_message_;
};

// Builds the error for a non-2xx reply (exposed for unit tests): 400 invalid, 401 unauthenticated,
// 403 forbidden, 404 not_found, 409 conflict, 5xx upstream (502-504 retryable).
ApiError api_error(int status, std::string_view reason, std::string_view body, std::string_view what);

struct ExportOptions {
    bool include_images = false, include_snapshots = false, reset_mac_addresses = false,
         keep_compute_ids = false;
    std::string compression = "zip";  // zip | none | bzip2 | lzma
};

class Client {
 public:
    Client(boost::asio::any_io_executor executor, ClientOptions options,
           net::Random& random = net::default_random());

    boost::asio::awaitable<Version> version();
    boost::asio::awaitable<std::vector<Compute>> computes();

    boost::asio::awaitable<std::vector<Project>> projects();
    boost::asio::awaitable<Project> project(std::string project_id);
    // A project by id, or by name when exactly one project has that name; not_found / conflict otherwise.
    boost::asio::awaitable<Project> find_project(std::string name_or_id);
    // POST /projects: a new, opened, empty project (auto_close false: a headless lab stays open).
    boost::asio::awaitable<Project> create_project(std::string name, std::string project_id);
    // POST /projects/{id}/import?name=: a portable project (.gns3project zip); `project_id` empty: a new
    // random UUID. The project is `closed` afterwards.
    boost::asio::awaitable<Project> import_project(std::string zip, std::string name, std::string project_id);
    boost::asio::awaitable<Project> open_project(std::string project_id);
    boost::asio::awaitable<void> close_project(std::string project_id);
    boost::asio::awaitable<void> delete_project(std::string project_id);
    // The portable project (zip bytes); 409 while a node runs.
    boost::asio::awaitable<std::string> export_project(std::string project_id, ExportOptions options);
    boost::asio::awaitable<Project> duplicate_project(std::string project_id, std::string name,
                                                      bool reset_mac_addresses);
    boost::asio::awaitable<std::vector<Snapshot>> snapshots(std::string project_id);
    boost::asio::awaitable<Snapshot> create_snapshot(std::string project_id, std::string name);
    boost::asio::awaitable<Project> restore_snapshot(std::string project_id, std::string snapshot_id);

    boost::asio::awaitable<std::vector<Node>> nodes(std::string project_id);
    boost::asio::awaitable<Node> node(std::string project_id, std::string node_id);
    // All nodes of the project (204 from the server).
    boost::asio::awaitable<void> start_nodes(std::string project_id);
    boost::asio::awaitable<void> stop_nodes(std::string project_id);
    boost::asio::awaitable<void> reload_nodes(std::string project_id);
    // One node; the server answers with the node.
    boost::asio::awaitable<Node> start_node(std::string project_id, std::string node_id);
    boost::asio::awaitable<Node> stop_node(std::string project_id, std::string node_id);
    boost::asio::awaitable<Node> reload_node(std::string project_id, std::string node_id);

    boost::asio::awaitable<std::vector<Link>> links(std::string project_id);
    // A file of the project folder (GET /projects/{id}/files/{path}); "<name>.gns3" is the topology file,
    // which parse_project_file_nodes reads.
    boost::asio::awaitable<std::string> project_file(std::string project_id, std::string path);

    // The host of the server's URL (where consoles listening on every address are reached).
    const std::string& host() const;
    const net::ClientStats& http_stats() const;

    // No default arguments in this class: GCC 12 destroys a defaulted class-type temporary of a co_await
    // expression twice (the call's arguments are spelled out by the callers).
    // One call: returns the reply body of a 2xx, throws ApiError otherwise. Exposed for the CLI and tests.
    boost::asio::awaitable<std::string> call(std::string method, std::string path, std::string body,
                                             std::string what, bool idempotent,
                                             std::chrono::milliseconds timeout);

    struct Shared;

 private:
    std::shared_ptr<Shared> shared_;
};

// A random lowercase UUID (version 4), as GNS3 clients choose for an imported project.
std::string random_uuid();

}  // namespace np::gns3
