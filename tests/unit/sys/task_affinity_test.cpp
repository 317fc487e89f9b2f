// CPU affinity wrappers (sys/task_attrs.h): read, pin to the current CPU, give the mask back.
#include <gtest/gtest.h>

#include <sched.h>
#include <thread>
#include <unistd.h>

#include "sys/task_attrs.h"

using namespace cryo;

TEST(TaskAffinity, PinToCurrentCpuAndBack)
{
    // On a thread of its own, so the test process's main thread keeps its mask whatever happens.
    std::thread([] {
        pid_t tid = ::gettid();
        auto before = sys::cpu_affinity(tid);
        ASSERT_TRUE(before) << before.error().message();
        ASSERT_GE(CPU_COUNT(&*before), 1);
        auto pinned = sys::pin_to_current_cpu(tid);
        ASSERT_TRUE(pinned) << pinned.error().message();
        auto now = sys::cpu_affinity(tid);
        ASSERT_TRUE(now);
        EXPECT_EQ(CPU_COUNT(&*now), 1);
        EXPECT_TRUE(CPU_ISSET(::sched_getcpu(), &*now)); // pinned where it runs
        ASSERT_TRUE(sys::set_cpu_affinity(tid, *before));
        auto back = sys::cpu_affinity(tid);
        ASSERT_TRUE(back);
        EXPECT_TRUE(CPU_EQUAL(&*back, &*before));
    }).join();
}

TEST(TaskAffinity, ErrorsNameTheTask)
{
    auto missing = sys::cpu_affinity(-5);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("sched_getaffinity -5"), std::string::npos) << missing.error().message();
    cpu_set_t none;
    CPU_ZERO(&none);
    auto empty = sys::set_cpu_affinity(::gettid(), none); // an empty mask is refused (EINVAL)
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().message().find("sched_setaffinity"), std::string::npos) << empty.error().message();
}
