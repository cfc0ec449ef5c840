// Task-waiting logic with injected time: poll back-off, completion from one list read, misses, deadlines.
#include "pve/tasks.hpp"

#include <gtest/gtest.h>

namespace np::pve {
namespace {

using namespace std::chrono_literals;
using TP = std::chrono::steady_clock::time_point;

std::string upid(int pid, int start, const char* type = "qmclone", const char* id = "9000") {
    char buf[128];
    std::snprintf(buf, sizeof buf, "UPID:pve1:%08X:00000001:%08X:%s:%s:root@pam:", pid, start, type, id);
    return buf;
}

TaskListItem item(const std::string& u, const char* status, std::int64_t endtime) {
    TaskListItem t;
    t.upid = u;
    t.node = "pve1";
    t.type = "qmclone";
    t.status = status;
    t.endtime = endtime;
    return t;
}

TEST(PollSchedule, GrowsWhileNothingFinishesAndResetsOnProgress) {
    PollSchedule s({250ms, 2000ms, 2.0, 3});
    EXPECT_EQ(s.next(false), 500ms);
    EXPECT_EQ(s.next(false), 1000ms);
    EXPECT_EQ(s.next(false), 2000ms);
    EXPECT_EQ(s.next(false), 2000ms);  // capped
    EXPECT_EQ(s.next(true), 250ms);    // something finished: poll eagerly again
    EXPECT_EQ(s.next(false), 500ms);
}

TEST(PollSchedule, AfterProgressWaitsAFifthOfTheTypicalTaskNeverUnderMin) {
    PollSchedule s({20ms, 2000ms, 1.5, 3});
    EXPECT_EQ(s.next(true), 20ms);  // nothing observed yet: min
    s.observe(1500ms);              // clones of a busy cluster
    EXPECT_EQ(s.next(true), 300ms);
    for (int i = 0; i < 40; ++i) s.observe(5ms);  // an idle cluster: the average follows
    EXPECT_EQ(s.next(true), 20ms);
    s.observe(60'000ms);
    EXPECT_EQ(s.next(true), 2000ms);  // capped at max
}

TEST(PollSchedule, GrowthBelowOneStillMovesForward) {
    PollSchedule s({10ms, 15ms, 1.0, 3});
    EXPECT_EQ(s.next(false), 11ms);
    EXPECT_EQ(s.next(false), 12ms);
}

TEST(TaskBook, OneListReadCompletesManyTasks) {
    TaskBook book(3);
    TP t0{};
    auto a = upid(1, 0x100), b = upid(2, 0x105), c = upid(3, 0x0FF);
    ASSERT_TRUE(book.add(a, t0 + 60s));
    ASSERT_TRUE(book.add(b, t0 + 60s));
    ASSERT_TRUE(book.add(c, t0 + 60s));
    EXPECT_FALSE(book.add("garbage", t0 + 60s));
    EXPECT_EQ(book.earliest_start(), 0x0FF);  // `since` for the list call

    TaskListItem running = item(b, "", 0);
    auto done =
        book.apply({item(a, "OK", 0x110), running, item(c, "can't lock file 'x' - got timeout", 0x111),
                    item(upid(9, 0x100), "OK", 0x120)});  // someone else's task: ignored
    ASSERT_EQ(done.size(), 2u);
    EXPECT_EQ(book.size(), 1u);
    for (const auto& f : done) {
        EXPECT_EQ(f.status.status, "stopped");
        if (f.upid == a) {
            EXPECT_TRUE(f.status.succeeded());
        }
        if (f.upid == c) {
            EXPECT_FALSE(f.status.succeeded());
        }
    }
    auto later = book.apply({item(b, "WARNINGS: 2", 0x130)});
    ASSERT_EQ(later.size(), 1u);
    EXPECT_TRUE(later[0].status.succeeded());  // warnings count as success
    EXPECT_TRUE(book.empty());
}

TEST(TaskBook, TasksMissingFromTheListAreReportedAfterNRounds) {
    TaskBook book(2);
    auto a = upid(1, 0x100), b = upid(2, 0x100);
    book.add(a, TP{} + 60s);
    book.add(b, TP{} + 60s);
    book.apply({item(a, "", 0)});
    EXPECT_TRUE(book.missing().empty());
    book.apply({item(a, "", 0)});
    ASSERT_EQ(book.missing(), std::vector<std::string>{b});
    book.apply({item(a, "", 0), item(b, "", 0)});  // seen again: the count restarts
    EXPECT_TRUE(book.missing().empty());
}

TEST(TaskBook, DeadlinesExpireOnlyLateTasks) {
    TaskBook book;
    TP t0{};
    auto a = upid(1, 0x100), b = upid(2, 0x100);
    book.add(a, t0 + 10s);
    book.add(b, t0 + 30s);
    EXPECT_TRUE(book.expire(t0 + 9s).empty());
    EXPECT_EQ(book.expire(t0 + 10s), std::vector<std::string>{a});
    EXPECT_EQ(book.size(), 1u);
    EXPECT_EQ(book.expire(t0 + 31s), std::vector<std::string>{b});
    EXPECT_TRUE(book.empty());
}

TEST(TaskStatus, SuccessIsOkOrWarnings) {
    TaskStatus s;
    s.status = "running";
    EXPECT_FALSE(s.succeeded());
    s.status = "stopped";
    s.exitstatus = "OK";
    EXPECT_TRUE(s.succeeded());
    s.exitstatus = "WARNINGS: 1";
    EXPECT_TRUE(s.succeeded());
    s.exitstatus = "unexpected status";
    EXPECT_FALSE(s.succeeded());
}

}  // namespace
}  // namespace np::pve
