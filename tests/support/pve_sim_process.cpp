#include "pve_sim_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <regex>
#include <vector>

#include "gns3/zip.hpp"
#include "http_client.hpp"

namespace np::testkit {
namespace json = boost::json;
namespace fs = std::filesystem;

PveSimProcess::PveSimProcess(const fs::path& state_dir, const PveSimOptions& options) {
    std::vector<std::string> args{NETPRAXIS_BINARY,
                                  "--log-level",
                                  "warn",
                                  "pve-sim",
                                  "--port",
                                  "0",
                                  "--profile",
                                  options.profile,
                                  "--gns3-guests",
                                  "--gns3-address-octet",
                                  std::to_string(options.address_octet),
                                  "--gns3-state-dir",
                                  state_dir.string()};
    if (options.seed) args.insert(args.end(), {"--seed", std::to_string(options.seed)});
    auto lab_ports = options.lab_ports;
    if (lab_ports.empty()) lab_ports = std::to_string(30000 + (std::random_device{}() % 60) * 100);
    args.insert(args.end(), {"--gns3-lab-ports", lab_ports});
    if (!options.console_ports.empty())
        args.insert(args.end(), {"--gns3-console-ports", options.console_ports});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execv(NETPRAXIS_BINARY, argv.data());
        _exit(127);
    }
    close(out[1]);
    std::string line;  // its first line names the URL it listens on
    char ch;
    while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
    close(out[0]);
    std::smatch m;
    if (std::regex_search(line, m, std::regex("http://127\\.0\\.0\\.1:(\\d+) ")))
        port_ = std::stoi(m[1].str());
}

PveSimProcess::~PveSimProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 1200 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i) usleep(50'000);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
}

void PveSimProcess::kill_hard() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

json::object PveSimProcess::stats() const {
    HttpClient c(static_cast<std::uint16_t>(port_));
    return json::parse(c.request("GET", "/sim/stats").body).as_object();
}

void write_one_pc_project(const fs::path& dir) {
    std::ifstream in(
        fs::path(NETPRAXIS_SOURCE_DIR) / "examples" / "gns3-vpcs-router" / "gns3-vpcs-router.gns3project",
        std::ios::binary);
    auto files = gns3::read_zip(std::string(std::istreambuf_iterator<char>(in), {}));
    auto project = json::parse(files.at("project.gns3")).as_object();
    auto& topo = project.at("topology").as_object();
    json::array keep;
    std::string pc1;
    for (const auto& n : topo.at("nodes").as_array())
        if (n.at("name").as_string() == "PC1") {
            keep.push_back(n);
            pc1 = std::string(n.at("node_id").as_string());
        }
    topo["nodes"] = keep;
    topo["links"] = json::array();
    gns3::Files out{{"project.gns3", json::serialize(project)}};
    for (const auto& [path, bytes] : files)
        if (path.find(pc1) != std::string::npos) out[path] = bytes;
    std::ofstream(dir / "one-pc.gns3project", std::ios::binary) << gns3::write_zip(out);
}

}  // namespace np::testkit
