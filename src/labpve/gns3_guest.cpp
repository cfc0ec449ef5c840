// The proxmox provider's GNS3 side (gns3_guest.hpp).
#include "labpve/gns3_guest.hpp"

#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/bundle.hpp"
#include "core/digest.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "labpve/project_check.hpp"

namespace np::labpve {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

namespace {

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    if (!in && !in.eof()) throw core::internal("cannot read " + path.string());
    return out.str();
}

}  // namespace

// A projects_dir project, read once per content: the last few read are kept by path, checked against the
// file's size, modification time and inode, so check_request, ensure_template and template_for of a lab (and
// of every lab of a class) read the file once instead of each reading it.
std::string project_bytes(const std::filesystem::path& dir, const std::string& name) {
    if (dir.empty())
        throw core::invalid(
            "the proxmox provider has no pve.projects_dir: set it to the folder holding the "
            "exercises' GNS3 projects");
    struct Cached {
        struct stat st {};
        std::string bytes;
    };
    static std::mutex mutex;
    static std::map<std::string, Cached> cache;
    auto same = [](const struct stat& a, const struct stat& b) {
        return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
               a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
               a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
    };
    auto path = core::resolve_in_bundle(dir, name).string();
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return read_file(path);  // (says what is wrong)
    {
        std::lock_guard lock(mutex);
        if (auto it = cache.find(path); it != cache.end() && same(it->second.st, st)) return it->second.bytes;
    }
    auto bytes = read_file(path);
    std::lock_guard lock(mutex);
    if (cache.size() >= 8) cache.erase(cache.begin());
    cache[path] = Cached{st, bytes};
    return bytes;
}

// The project of a request: the uploaded bytes the server read from its store, or the file of projects_dir
// (read here; empty when the request names an uploaded project whose bytes it did not load).
std::string request_project(const std::filesystem::path& dir, const lab::LabRequest& request) {
    if (!request.gns3_project_bytes.empty() || !request.gns3_project_sha256.empty())
        return request.gns3_project_bytes;
    return project_bytes(dir, request.gns3_project);
}

// One template per project content: the sha256 the store already knows, or the hash of the file's bytes.
std::string template_name(const lab::LabRequest& request, std::string_view project_zip) {
    auto sha =
        request.gns3_project_sha256.empty() ? core::sha256_hex(project_zip) : request.gns3_project_sha256;
    return "np-tpl-" + sha.substr(0, 12);
}

asio::awaitable<void> sleep_for(Ms d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

bool graded(const gns3::Node& n) {
    return !is_plumbing(n.node_type) && n.console && n.console_type != "none";
}

gns3::Client gns3_client(asio::any_io_executor ex, const ProxmoxOptions& options, const std::string& ip) {
    gns3::ClientOptions o;
    o.url = "http://" + ip + ":" + std::to_string(options.gns3_port);
    o.user = options.gns3_user;
    o.password = options.gns3_password;
    o.retry = net::BackoffPolicy{Ms(100), Ms(1000), 2};
    o.request_timeout = Ms(30'000);
    return gns3::Client(ex, o);
}

// Polls GNS3's version until it answers (the server starts some time after the guest agent). Something else
// answering HTTP there (a 404 to /v2/version, three times in a row) is no GNS3 server that will come up: a
// wrong pve.gns3.port, another service on the VM's address. That fails now, not at the boot deadline.
asio::awaitable<void> wait_gns3_server(gns3::Client& g, const ProxmoxOptions& options,
                                       Clock::time_point deadline) {
    int not_gns3 = 0;
    while (true) {
        try {
            co_await g.version();
            co_return;
        } catch (const core::Error& e) {
            if (e.code() == core::Code::unauthenticated)
                throw core::unauthenticated("the GNS3 server of the VM refused pve.gns3.user/password");
            not_gns3 = e.code() == core::Code::not_found ? not_gns3 + 1 : 0;
            if (not_gns3 == 3)
                throw core::upstream("the server at " + g.host() + ":" + std::to_string(options.gns3_port) +
                                     " answers HTTP but is not a GNS3 server (pve.gns3.port?): " + e.what());
            if (Clock::now() >= deadline)
                throw core::timeout("the GNS3 server at " + g.host() + ":" +
                                    std::to_string(options.gns3_port) + " does not answer: " + e.what());
        }
        co_await sleep_for(options.poll_interval);
    }
}

asio::awaitable<void> import_lab_project(asio::any_io_executor executor, const ProxmoxOptions& options,
                                         std::string ip, std::string zip,
                                         std::chrono::steady_clock::time_point deadline) {
    auto g = gns3_client(executor, options, ip);
    co_await wait_gns3_server(g, options, deadline);
    auto p = co_await g.import_project(std::move(zip), kProjectName, "");
    log::info("labpve.project_imported", {{"address", ip}, {"project_id", p.project_id}});
}

void check_gns3_exercise(const std::filesystem::path& projects_dir, const lab::LabRequest& request) {
    const std::string field = "gns3_project";
    if (request.gns3_project.empty())
        throw core::invalid("the proxmox provider builds labs from a GNS3 project",
                            {{"lab.gns3", "is required: name the exercise's portable GNS3 project"}});
    std::string zip;
    try {
        zip = request_project(projects_dir, request);
    } catch (const core::Error& e) {
        if (e.code() != core::Code::invalid) throw;
        throw core::invalid("gns3_project is not usable", {{field, e.what()}});
    }
    if (zip.empty()) return;  // an uploaded project not loaded: its lab exists, checked when it was built
    auto nodes = portable_project_nodes(zip, field);
    auto problems = check_project_devices(nodes, request.devices, field);
    if (!problems.empty())
        throw core::invalid("the GNS3 project and the grading spec do not match (" +
                                std::to_string(problems.size()) +
                                (problems.size() == 1 ? " problem)" : " problems)"),
                            std::move(problems));
}

}  // namespace np::labpve
