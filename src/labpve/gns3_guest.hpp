// The proxmox provider's GNS3 side (internal to src/labpve; split from proxmox_provider.cpp): the exercise's
// portable project (read from pve.projects_dir once per content, or uploaded), the template named after it,
// and the GNS3 server inside a VM (client, waiting for it to answer, which nodes are graded).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "gns3/client.hpp"
#include "lab/provider.hpp"
#include "labpve/proxmox_provider.hpp"

namespace np::labpve {

// The name the exercise's project gets inside every VM's GNS3 server (one project per VM).
inline constexpr const char* kProjectName = "netpraxis-lab";

// A projects_dir project's bytes (cached by path, size, mtime and inode).
std::string project_bytes(const std::filesystem::path& dir, const std::string& name);
// The project of a request: the uploaded bytes the server read from its store, or the file of projects_dir
// (empty when the request names an uploaded project whose bytes it did not load).
std::string request_project(const std::filesystem::path& dir, const lab::LabRequest& request);
// "np-tpl-" + 12 hex digits of the project's sha256: one template per project content.
std::string template_name(const lab::LabRequest& request, std::string_view project_zip);

boost::asio::awaitable<void> sleep_for(std::chrono::milliseconds d);
// A node the grading reaches (not plumbing, with a console).
bool graded(const gns3::Node& n);
gns3::Client gns3_client(boost::asio::any_io_executor ex, const ProxmoxOptions& options,
                         const std::string& ip);
// Polls GNS3's version until it answers (the server starts some time after the guest agent); throws timeout
// at `deadline`, unauthenticated for refused credentials, upstream when something that is not GNS3 answers.
boost::asio::awaitable<void> wait_gns3_server(gns3::Client& g, const ProxmoxOptions& options,
                                              std::chrono::steady_clock::time_point deadline);

}  // namespace np::labpve
