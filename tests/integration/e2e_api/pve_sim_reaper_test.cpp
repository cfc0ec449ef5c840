// `netpraxis pve-sim --gns3-guests` never leaves its guests' devices behind (issue 10; one SIGKILLed run once
// left 159 VPCS spinning): VM 100 started, examples/gns3-vpcs-router imported into its GNS3 server and
// started (real VPCS, FRR in namespaces, TAP bridges), then pve-sim ends by SIGKILL (its reaper removes
// everything) or by SIGTERM (it stops its guests itself). Root, VPCS and FRR; lab prefixes "q2" and "q3"
// (octets 74 and 75), apart from other tests'.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "pve/client.hpp"
#include "pve_sim_process.hpp"
#include "shell.hpp"

using namespace np::testkit;
namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// Each test its own simulator address and namespace prefix (ctest runs them at the same time): 74 % 36 = 2,
// prefix "q2"; 75: "q3".
std::string prefix_of(int octet) {
    return std::string("q") + "0123456789abcdefghijklmnopqrstuvwxyz"[octet % 36];
}

std::string run(const std::string& cmd) {
    return np::testkit::shell_output(cmd);
}

std::set<std::string> netns(int octet) {
    std::set<std::string> out;
    std::istringstream in(run("ip netns list 2>/dev/null"));
    for (std::string line; std::getline(in, line);)
        if (line.starts_with(prefix_of(octet))) out.insert(line.substr(0, line.find(' ')));
    return out;
}

// PIDs of programs named `comm` whose working directory is under `dir` (VPCS runs in its node's folder).
std::set<pid_t> pids_under(const fs::path& dir, const std::string& comm) {
    std::set<pid_t> out;
    auto base = fs::weakly_canonical(dir).string();
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        auto name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream c(e.path() / "comm");
        std::string cm;
        std::getline(c, cm);
        std::error_code lec;
        auto cwd = fs::read_symlink(e.path() / "cwd", lec).string();
        if (!lec && cm == comm && cwd.rfind(base, 0) == 0) out.insert(std::stoi(name));
    }
    return out;
}

bool alive(pid_t pid) {
    std::ifstream s("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(s)), {});
    auto p = stat.rfind(')');
    return !stat.empty() && !(p != std::string::npos && p + 2 < stat.size() && stat[p + 2] == 'Z');
}

template <class F>
bool poll_until(F done, int seconds = 60) {
    for (int i = 0; i < seconds * 10; ++i) {
        if (done()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return done();
}

bool have_devices() {
    return geteuid() == 0 && access("/usr/lib/frr/frrinit.sh", X_OK) == 0 &&
           access("/usr/bin/vpcs", X_OK) == 0;
}

struct PveSimGuests : ::testing::Test {
    fs::path dir = fs::temp_directory_path() / ("np-pvesim-reaper-" + std::to_string(getpid()));
    void SetUp() override {
        if (!have_devices()) GTEST_SKIP() << "needs root, VPCS and FRR";
        fs::create_directories(dir);
    }
    void TearDown() override {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    int octet = 74;
    std::unique_ptr<PveSimProcess> start_sim(int with_octet, std::string console_ports) {
        octet = with_octet;
        auto sim = std::make_unique<PveSimProcess>(
            dir / "state", PveSimOptions{.address_octet = octet, .console_ports = std::move(console_ports)});
        EXPECT_NE(sim->port(), 0);
        return sim;
    }

    // VM 100 started; the example project imported, opened and started in its GNS3 server; returns the
    // PID of its VPCS PC1.
    pid_t start_lab(const PveSimProcess& sim) {
        asio::io_context io;
        np::pve::ClientOptions o;
        o.url = "http://127.0.0.1:" + std::to_string(sim.port());
        o.credentials.user = "root@pam";
        o.credentials.password = "rootpass";
        np::pve::Client c(io.get_executor(), o);
        auto started = asio::co_spawn(io, c.start(np::pve::GuestKind::qemu, "pve1", 100), asio::use_future);
        io.run();
        started.get();
        std::string gns3 = std::string(NETPRAXIS_BINARY) + " --log-level warn gns3 --url http://127." +
                           std::to_string(octet) + ".0.100:3080 ";
        EXPECT_TRUE(poll_until([&] { return !run(gns3 + "version 2>/dev/null").empty(); }));
        auto project =
            fs::path(NETPRAXIS_SOURCE_DIR) / "examples" / "gns3-vpcs-router" / "gns3-vpcs-router.gns3project";
        auto imported = run(gns3 + "import " + project.string() + " --name lab --open 2>&1");
        EXPECT_NE(imported.find("opened"), std::string::npos) << imported;
        auto out = run(gns3 + "start lab 2>&1");
        std::set<pid_t> vpcs;
        EXPECT_TRUE(poll_until([&] { return !(vpcs = pids_under(dir / "state" / "100", "vpcs")).empty(); }))
            << out;
        EXPECT_FALSE(netns(octet).empty()) << "the router's and PCs' namespaces";
        return vpcs.empty() ? -1 : *vpcs.begin();
    }
};

TEST_F(PveSimGuests, PveSimKilledTakesItsGuestsDevicesWithIt) {
    auto sim = start_sim(74, "14000-14249");
    pid_t vpcs = start_lab(*sim);
    ASSERT_GT(vpcs, 0);
    sim->kill_hard();
    EXPECT_TRUE(poll_until([&] { return !alive(vpcs); })) << "VPCS " << vpcs << " outlived pve-sim";
    EXPECT_TRUE(poll_until([&] { return pids_under(dir / "state", "vpcs").empty(); }));
    EXPECT_TRUE(poll_until([&] { return netns(octet).empty(); })) << *netns(octet).begin();
}

TEST_F(PveSimGuests, PveSimTerminatedStopsItsGuestsDevices) {
    auto sim = start_sim(75, "14250-14499");
    pid_t vpcs = start_lab(*sim);
    ASSERT_GT(vpcs, 0);
    kill(sim->pid(), SIGTERM);
    sim.reset();  // waits for it (SIGKILL only after 60 s)
    EXPECT_FALSE(alive(vpcs));
    EXPECT_TRUE(pids_under(dir / "state", "vpcs").empty());
    EXPECT_TRUE(netns(octet).empty());
}

}  // namespace
