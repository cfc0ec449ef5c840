#include "core/sigpipe.hpp"

#include <pthread.h>
#include <signal.h>

#include <ctime>

namespace np::core {

SigpipeBlock::SigpipeBlock() {
    sigset_t pipe, old;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    was_blocked_ = sigismember(&old, SIGPIPE) == 1;
}

SigpipeBlock::~SigpipeBlock() {
    if (was_blocked_) return;
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    // A thread-directed SIGPIPE raised while blocked stays pending; take it before unblocking.
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec zero{0, 0};
        while (sigtimedwait(&pipe, nullptr, &zero) == SIGPIPE) {
        }
    }
    pthread_sigmask(SIG_UNBLOCK, &pipe, nullptr);
}

void ignore_sigpipe() {
    ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace np::core
