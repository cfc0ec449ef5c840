// SIGPIPE and libraries that write to sockets with plain write(2) (libldap and its TLS layer, for one):
// a write to a socket the peer closed — or that we shut down to end a stalled handshake — raises SIGPIPE,
// whose default action kills the whole process. Asio and libpq protect themselves (MSG_NOSIGNAL, their own
// masking); these libraries do not, and a library must not change the process-wide disposition for its host.
#pragma once

namespace np::core {

// Blocks SIGPIPE on the calling thread for its lifetime; a SIGPIPE raised meanwhile (the failed write
// still returns EPIPE, which the library reports) is consumed before the old mask comes back.
class SigpipeBlock {
 public:
    SigpipeBlock();
    ~SigpipeBlock();
    SigpipeBlock(const SigpipeBlock&) = delete;
    SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
    bool was_blocked_ = false;
};

// For a program's main(): writes to closed sockets and pipes fail with EPIPE instead of killing the
// process. Children started through lab::local reset it to the default before exec.
void ignore_sigpipe();

}  // namespace np::core
