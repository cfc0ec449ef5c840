#include "lab/local/vpcs_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "core/error.hpp"

namespace np::lab {
namespace {

constexpr unsigned char kIac = 255;

// True when the text ends with a VPCS prompt line such as "pc1> " or "VPCS> ".
bool ends_with_prompt(const std::string& text) {
    static const std::regex prompt(R"((^|\n)[^\s>]+> ?$)");
    return std::regex_search(text, prompt);
}

}  // namespace

std::string strip_telnet(const std::string& bytes) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        auto c = static_cast<unsigned char>(bytes[i]);
        if (c == kIac && i + 1 < bytes.size()) {
            auto cmd = static_cast<unsigned char>(bytes[i + 1]);
            if (cmd >= 251 && cmd <= 254) {  // WILL WONT DO DONT + option
                i += 2;
            } else if (cmd == 250) {  // SB ... IAC SE
                auto end = bytes.find("\xff\xf0", i);
                i = end == std::string::npos ? bytes.size() : end + 1;
            } else {
                i += 1;
            }
            continue;
        }
        if (c == '\r') continue;
        out += static_cast<char>(c);
    }
    return out;
}

std::string vpcs_command(std::uint16_t port, const std::string& command, std::chrono::milliseconds timeout) {
    if (command == "quit" || command == "exit")
        throw core::invalid("`" + command + "` would stop the VPCS process; close the console instead");
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw core::internal("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        throw core::unavailable("cannot connect to the VPCS console on 127.0.0.1:" + std::to_string(port));
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto send_all = [&](const std::string& s) {
        std::size_t off = 0;
        while (off < s.size()) {
            auto n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
            if (n <= 0) throw core::unavailable("VPCS console closed");
            off += static_cast<std::size_t>(n);
        }
    };
    // Reads until a prompt ends the text after `marker` (the echoed command; empty: any prompt).
    auto read_until_prompt = [&](std::string& text, const std::string& marker) {
        char buf[4096];
        auto done = [&] {
            auto at = marker.empty() ? 0 : text.find(marker);
            return at != std::string::npos && ends_with_prompt(text.substr(at + marker.size()));
        };
        while (!done()) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0)
                throw core::timeout("VPCS console 127.0.0.1:" + std::to_string(port) +
                                    " gave no prompt in time; output so far: " + text);
            pollfd p{fd, POLLIN, 0};
            if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
            auto n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) throw core::unavailable("VPCS console closed");
            text += strip_telnet(std::string(buf, static_cast<std::size_t>(n)));
        }
    };
    try {
        std::string text;
        send_all("\r\n");
        read_until_prompt(text, "");
        text.clear();
        send_all(command + "\r\n");
        read_until_prompt(text, command);
        close(fd);
        // Keep what follows the echoed command line, without the final prompt.
        auto at = text.find(command);
        auto first_nl = text.find('\n', at);
        std::string body = first_nl == std::string::npos ? std::string() : text.substr(first_nl + 1);
        auto last_nl = body.rfind('\n');
        body = last_nl == std::string::npos ? std::string() : body.substr(0, last_nl + 1);
        return body;
    } catch (...) {
        close(fd);
        throw;
    }
}

void vpcs_wait_startup(std::uint16_t port, const std::string& name, std::chrono::milliseconds timeout) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw core::internal("socket failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        close(fd);
        throw core::unavailable("cannot connect to the VPCS console on 127.0.0.1:" + std::to_string(port));
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string text;
    char buf[4096];
    const std::string prompt = "\n" + name + "> ";
    while (text.size() < prompt.size() ||
           text.compare(text.size() - prompt.size(), prompt.size(), prompt) != 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                          std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            close(fd);
            throw core::timeout("VPCS on 127.0.0.1:" + std::to_string(port) +
                                " did not finish its startup script in time; it printed: " + text);
        }
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            close(fd);
            throw core::unavailable("VPCS console on 127.0.0.1:" + std::to_string(port) +
                                    " closed during start");
        }
        text += strip_telnet(std::string(buf, static_cast<std::size_t>(n)));
    }
    close(fd);
}

}  // namespace np::lab
