// SshStream: an interactive shell channel (with a PTY) through libssh. libssh is blocking, so every call
// runs on the worker pool (core::WorkerPool) and the event loop only awaits it. Reads poll in short slices
// so a deadline is honoured without holding a worker thread for long.
#include <libssh/libssh.h>

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "core/offload.hpp"
#include "eval/session.hpp"

namespace np::eval {
namespace {

namespace asio = boost::asio;

class SshStream final : public ByteStream {
 public:
    SshStream(DeviceTarget target, core::WorkerPool& pool) : target_(std::move(target)), pool_(pool) {}
    ~SshStream() override { close(); }

    asio::awaitable<void> connect(Deadline deadline) override {
        auto seconds = std::max<long>(
            1, std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now())
                   .count());
        co_await pool_.run([this, seconds] { connect_blocking(seconds); });
    }

    asio::awaitable<bool> read_some(std::string& out, Deadline deadline) override {
        while (true) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) co_return false;
            int slice = static_cast<int>(std::min<long>(left.count(), 200));
            int n = co_await pool_.run([this, slice] {
                return ssh_channel_read_timeout(channel_, buf_.data(), static_cast<uint32_t>(buf_.size()), 0,
                                                slice);
            });
            if (n > 0) {
                out.append(buf_.data(), static_cast<std::size_t>(n));
                co_return true;
            }
            if (n == SSH_ERROR || ssh_channel_is_eof(channel_))
                throw core::unavailable(target_.name + ": ssh channel closed: " + ssh_get_error(session_));
        }
    }

    asio::awaitable<void> write(std::string data) override {
        int n = co_await pool_.run([this, &data] {
            return ssh_channel_write(channel_, data.data(), static_cast<uint32_t>(data.size()));
        });
        if (n < 0) throw core::unavailable(target_.name + ": ssh write failed: " + ssh_get_error(session_));
    }

    void close() override {
        if (channel_) {
            ssh_channel_close(channel_);
            ssh_channel_free(channel_);
            channel_ = nullptr;
        }
        if (session_) {
            ssh_disconnect(session_);
            ssh_free(session_);
            session_ = nullptr;
        }
    }

 private:
    [[noreturn]] void fail(const std::string& what) {
        std::string msg =
            target_.name + ": ssh " + target_.host + ":" + std::to_string(target_.port) + ": " + what;
        close();
        throw core::unavailable(msg);
    }

    void connect_blocking(long timeout_s) {
        session_ = ssh_new();
        if (!session_) fail("cannot create a libssh session");
        unsigned int port = target_.port ? target_.port : 22;
        ssh_options_set(session_, SSH_OPTIONS_HOST, target_.host.c_str());
        ssh_options_set(session_, SSH_OPTIONS_PORT, &port);
        if (!target_.username.empty()) ssh_options_set(session_, SSH_OPTIONS_USER, target_.username.c_str());
        ssh_options_set(session_, SSH_OPTIONS_TIMEOUT, &timeout_s);
        if (ssh_connect(session_) != SSH_OK) fail(ssh_get_error(session_));
        // Host-key policy: strict (must be in known_hosts), accept-new (TOFU: record unknown keys, refuse
        // changed ones), ignore (lab devices re-created with new keys at every deployment).
        if (target_.host_key_policy != "ignore") {
            switch (ssh_session_is_known_server(session_)) {
                case SSH_KNOWN_HOSTS_OK: break;
                case SSH_KNOWN_HOSTS_CHANGED:
                case SSH_KNOWN_HOSTS_OTHER: fail("the host key changed (possible impersonation)");
                case SSH_KNOWN_HOSTS_NOT_FOUND:
                case SSH_KNOWN_HOSTS_UNKNOWN:
                    if (target_.host_key_policy == "strict") fail("unknown host key (policy strict)");
                    ssh_session_update_known_hosts(session_);
                    break;
                case SSH_KNOWN_HOSTS_ERROR: fail(std::string("known_hosts: ") + ssh_get_error(session_));
            }
        }
        int rc = SSH_AUTH_DENIED;
        if (!target_.key_file.empty()) {
            ssh_key key = nullptr;
            if (ssh_pki_import_privkey_file(target_.key_file.c_str(), nullptr, nullptr, nullptr, &key) !=
                SSH_OK)
                fail("cannot read the private key " + target_.key_file);
            rc = ssh_userauth_publickey(session_, nullptr, key);
            ssh_key_free(key);
        }
        if (rc != SSH_AUTH_SUCCESS && !target_.password.empty())
            rc = ssh_userauth_password(session_, nullptr, target_.password.c_str());
        if (rc != SSH_AUTH_SUCCESS) fail("authentication failed for user '" + target_.username + "'");
        channel_ = ssh_channel_new(session_);
        if (!channel_ || ssh_channel_open_session(channel_) != SSH_OK) fail("cannot open a channel");
        if (ssh_channel_request_pty_size(channel_, "dumb", 511, 200) != SSH_OK) fail("cannot get a pty");
        if (ssh_channel_request_shell(channel_) != SSH_OK) fail("cannot start a shell");
    }

    DeviceTarget target_;
    core::WorkerPool& pool_;
    ssh_session session_ = nullptr;
    ssh_channel channel_ = nullptr;
    std::array<char, 4096> buf_{};
};

}  // namespace

std::unique_ptr<ByteStream> make_ssh_stream(asio::any_io_executor, const DeviceTarget& target,
                                            core::WorkerPool& pool) {
    return std::make_unique<SshStream>(target, pool);
}

std::unique_ptr<Session> make_session(asio::any_io_executor ex, const DeviceTarget& target,
                                      const Platform& platform, core::WorkerPool* pool) {
    if (target.transport == "telnet")
        return make_cli_session(make_telnet_stream(ex, target), target, platform);
    if (target.transport == "exec") {
        if (!platform.exec.empty() && platform.exec.front() == "vtysh")
            return make_frr_vty_session(ex, target, platform);  // issue 14: no vtysh process per show command
        return make_exec_session(ex, target, platform);
    }
    if (target.transport == "ssh") {
        if (!pool) throw core::internal("ssh sessions need a worker pool");
        return make_cli_session(make_ssh_stream(ex, target, *pool), target, platform);
    }
    throw core::invalid(target.name + ": unknown transport '" + target.transport + "' (telnet, ssh, exec)");
}

}  // namespace np::eval
