// Real labs for the eval integration tests: FRR routers running OSPF and Linux hosts in network namespaces,
// built by fixture.sh under a prefix unique to the process (and to the lab), removed afterwards. Shared by
// real_devices_test.cpp and settle_stress_test.cpp.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

#include "eval/engine.hpp"
#include "eval/spec.hpp"

namespace np::eval::labs {

inline const std::string kSource = NETPRAXIS_SOURCE_DIR;
inline const std::string kFixture = kSource + "/tests/integration/eval/fixture.sh";

inline std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline int sh(const std::string& cmd) {
    return std::system(cmd.c_str());
}

inline bool have(const char* tool) {
    return sh(std::string("command -v ") + tool + " >/dev/null 2>&1") == 0;
}

// A port the kernel just gave out (TCP or UDP), so parallel runs do not collide.
inline std::uint16_t free_port(int type) {
    int fd = ::socket(AF_INET, type, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

inline void require_tools() {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
}

inline std::map<std::string, CheckStatus> statuses(const Evaluation& e) {
    std::map<std::string, CheckStatus> m;
    for (const auto& c : e.checks) m[c.id] = c.status;
    return m;
}

inline std::string dump(const Evaluation& e) {
    return report_text(e) + "\n" + report_json(e, false, true);
}

// ---------------------------------------------------------------- FRR + Linux

// The devices of a fixture.sh `ospf-up` lab: FRR routers r1, r2 and Linux hosts h1, h2 in its namespaces.
inline std::map<std::string, DeviceTarget> lab_targets(const std::string& prefix) {
    std::map<std::string, DeviceTarget> t;
    for (std::string n : {"r1", "r2"})
        t[n] = DeviceTarget{n, "frr", "exec", "", 0, "", "", "", "", "", prefix + n, prefix + n};
    for (std::string n : {"h1", "h2"})
        t[n] = DeviceTarget{n, "linux", "exec", "", 0, "", "", "", "", "", prefix + n, ""};
    return t;
}

enum class OspfMode { correct, partial, broken };

// `tag` tells apart labs up at the same time in one process (one character: interface names are short).
class OspfLab {
 public:
    OspfLab(const Spec& spec, const std::string& student, OspfMode mode, char tag = 'o')
        : prefix_("npev" + std::to_string(getpid()) + tag) {
        Values v = derive_values(spec.variables, spec.id, student);
        const Subnet a = v.at("lan_a").subnet, b = v.at("lan_b").subnet;
        std::string area = v.at("area").str();
        auto host = [](const Subnet& s, int n) { return ipv4_text(s.host(n)); };
        auto conf = [&](const std::string& id, const Subnet& lan, bool networks) {
            std::string c =
                "interface eth1\n ip ospf network point-to-point\n ip ospf hello-interval 1\n ip ospf "
                "dead-interval 4\n"
                "exit\n!\nrouter ospf\n ospf router-id " +
                id + "\n";
            if (networks)
                c += " network 10.255.12.0/30 area " + area + "\n network " + lan.cidr() + " area " + area +
                     "\n";
            return c + "exit\n";
        };
        std::string h1_addr = host(a, mode == OspfMode::broken ? 11 : 10) + "/24";
        std::string env = "R1_LAN=" + host(a, 1) + "/24 R2_LAN=" + host(b, 1) + "/24 H1_ADDR=" + h1_addr +
                          " H1_GW=" + (mode == OspfMode::partial ? std::string() : host(a, 1)) +
                          " H2_ADDR=" + host(b, 10) + "/24 H2_GW=" + host(b, 1) +
                          " R1_CONF=" + quote(conf("1.1.1.1", a, true)) +
                          " R2_CONF=" + quote(conf("2.2.2.2", b, mode != OspfMode::broken));
        down();
        up_rc_ = sh(env + " " + kFixture + " ospf-up " + prefix_);
    }
    ~OspfLab() { down(); }
    bool up() const { return up_rc_ == 0; }

    std::map<std::string, DeviceTarget> targets() const { return lab_targets(prefix_); }

 private:
    void down() { sh(kFixture + " ospf-down " + prefix_); }
    std::string prefix_;
    int up_rc_ = -1;
};

}  // namespace np::eval::labs
