#include "lab/local/tap_bridge.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace np::lab {
namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) {
    g_stop = 1;
}

void report(int fd, const std::string& text) {
    if (fd < 0) return;
    [[maybe_unused]] auto n = write(fd, text.data(), text.size());
}

int fail(const BridgeOptions& o, const std::string& what) {
    std::string message = "error: " + what + ": " + std::strerror(errno) + "\n";
    report(o.ready_fd, message);
    [[maybe_unused]] auto n = write(2, message.data(), message.size());
    return 1;
}

}  // namespace

int run_tap_bridge(const BridgeOptions& o) {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);

    // The UDP socket is made before entering the namespace, so it lives in the host namespace where
    // VPCS listens on 127.0.0.1.
    int udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (udp < 0) return fail(o, "udp socket");
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_port = htons(o.listen_port);
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(udp, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0)
        return fail(o, "bind 127.0.0.1:" + std::to_string(o.listen_port));
    sockaddr_in peer{};
    peer.sin_family = AF_INET;
    peer.sin_port = htons(o.peer_port);
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    std::string ns_path = "/var/run/netns/" + o.netns;
    int ns = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return fail(o, "open " + ns_path);
    if (setns(ns, CLONE_NEWNET) != 0) return fail(o, "setns " + o.netns);
    close(ns);

    int tap = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (tap < 0) return fail(o, "open /dev/net/tun");
    ifreq ifr{};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, o.ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(tap, TUNSETIFF, &ifr) != 0) return fail(o, "create TAP " + o.ifname + " in " + o.netns);
    int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // in the node namespace now
    ifreq up{};
    std::strncpy(up.ifr_name, o.ifname.c_str(), IFNAMSIZ - 1);
    if (ctl < 0 || ioctl(ctl, SIOCGIFFLAGS, &up) != 0) return fail(o, "read flags of " + o.ifname);
    up.ifr_flags = static_cast<short>(up.ifr_flags | IFF_UP);
    if (ioctl(ctl, SIOCSIFFLAGS, &up) != 0) return fail(o, "bring " + o.ifname + " up");
    close(ctl);

    report(o.ready_fd, "ok\n");
    if (o.ready_fd >= 0) close(o.ready_fd);

    char frame[65536];
    pollfd fds[2] = {{tap, POLLIN, 0}, {udp, POLLIN, 0}};
    while (!g_stop) {
        int r = poll(fds, 2, 1000);
        if (r < 0) {
            if (errno == EINTR) continue;
            return fail(o, "poll");
        }
        if (fds[0].revents & POLLIN) {
            auto n = read(tap, frame, sizeof frame);
            if (n > 0)
                sendto(udp, frame, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer),
                       sizeof peer);
        }
        if (fds[1].revents & POLLIN) {
            sockaddr_in from{};
            socklen_t len = sizeof from;
            auto n = recvfrom(udp, frame, sizeof frame, 0, reinterpret_cast<sockaddr*>(&from), &len);
            // Only frames from our VPCS: anything else on the port is not part of this link.
            if (n > 0 && from.sin_port == peer.sin_port && from.sin_addr.s_addr == peer.sin_addr.s_addr) {
                [[maybe_unused]] auto w = write(tap, frame, static_cast<std::size_t>(n));
            }
        }
        if ((fds[0].revents | fds[1].revents) & (POLLERR | POLLHUP | POLLNVAL))
            return fail(o, "device closed");
    }
    return 0;
}

}  // namespace np::lab
