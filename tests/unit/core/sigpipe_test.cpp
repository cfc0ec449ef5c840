// core::SigpipeBlock: a write to a closed pipe fails with EPIPE instead of killing the process, and no
// SIGPIPE is left pending for the thread afterwards.
#include "core/sigpipe.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace {

bool sigpipe_pending() {
    sigset_t pending;
    sigpending(&pending);
    return sigismember(&pending, SIGPIPE) == 1;
}

bool sigpipe_blocked() {
    sigset_t now;
    pthread_sigmask(SIG_BLOCK, nullptr, &now);
    return sigismember(&now, SIGPIPE) == 1;
}

TEST(SigpipeBlock, AWriteToAClosedPipeIsEpipeAndNothingStaysPending) {
    ::signal(SIGPIPE, SIG_DFL);  // the default action: without the guard the write below kills the test
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[0]);
    ASSERT_FALSE(sigpipe_blocked());
    {
        np::core::SigpipeBlock guard;
        EXPECT_TRUE(sigpipe_blocked());
        errno = 0;
        EXPECT_EQ(::write(fds[1], "x", 1), -1);
        EXPECT_EQ(errno, EPIPE);
        EXPECT_TRUE(sigpipe_pending());
    }
    EXPECT_FALSE(sigpipe_pending());
    EXPECT_FALSE(sigpipe_blocked());
    ::close(fds[1]);
}

TEST(SigpipeBlock, NestedGuardsLeaveTheOuterMaskAlone) {
    np::core::SigpipeBlock outer;
    { np::core::SigpipeBlock inner; }
    EXPECT_TRUE(sigpipe_blocked());
}

}  // namespace
