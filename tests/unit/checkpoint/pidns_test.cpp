#include <gtest/gtest.h>

#include "checkpoint/pidns.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

Process process(int pid, int ppid, int pgid, int sid, std::vector<int> tids)
{
    Process p;
    p.pid = pid;
    p.ppid = ppid;
    p.pgid = pgid;
    p.sid = sid;
    for (int tid : tids) {
        Thread t;
        t.tid = tid;
        p.threads.push_back(t);
    }
    return p;
}

} // namespace

TEST(CheckpointPidNs, CodecRoundTrip)
{
    NsPids pids;
    pids.inner = { { 4242, 1 }, { 4250, 7 }, { 4251, 8 } };
    auto decoded = decode_ns_pids(encode_ns_pids(pids));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(pids.inner, decoded->inner);
    EXPECT_EQ(7, decoded->of(4250));
    EXPECT_EQ(0, decoded->of(99)); // not in the image
}

TEST(CheckpointPidNs, DecodeRejectsBadInput)
{
    EXPECT_FALSE(decode_ns_pids("not json").has_value());
    EXPECT_FALSE(decode_ns_pids(R"({"inner": {"12x": 1}})").has_value());
    EXPECT_FALSE(decode_ns_pids(R"({"inner": {"12": 0}})").has_value());
    EXPECT_FALSE(decode_ns_pids(R"({"inner": {"-3": 2}})").has_value());
    EXPECT_FALSE(decode_ns_pids(R"({"other": {}})").has_value());
    auto error = decode_ns_pids("[").error().message();
    EXPECT_NE(std::string::npos, error.find(kNsPidsName)) << error;
}

TEST(CheckpointPidNs, RewritesTreeToNamespaceIds)
{
    // A container init (host 500, pid 1) with a child that has a thread, and a grandchild
    // in its own group; the init's parent (host 400) is outside the tree.
    std::vector<Process> tree { process(500, 400, 500, 500, { 500 }), process(510, 500, 500, 500, { 510, 511 }),
                                process(520, 510, 520, 500, { 520 }) };
    NsPids pids;
    pids.inner = { { 500, 1 }, { 510, 5 }, { 511, 6 }, { 520, 9 } };
    ASSERT_TRUE(to_namespace_ids(tree, pids).has_value());
    EXPECT_EQ(1, tree[0].pid);
    EXPECT_EQ(0, tree[0].ppid); // outside: none
    EXPECT_EQ(1, tree[0].sid);
    EXPECT_EQ(5, tree[1].pid);
    EXPECT_EQ(1, tree[1].ppid);
    EXPECT_EQ(1, tree[1].pgid);
    EXPECT_EQ(5, tree[1].threads[0].tid);
    EXPECT_EQ(6, tree[1].threads[1].tid);
    EXPECT_EQ(9, tree[2].pid);
    EXPECT_EQ(5, tree[2].ppid);
    EXPECT_EQ(9, tree[2].pgid);
    EXPECT_EQ(1, tree[2].sid);
}

TEST(CheckpointPidNs, MissingProcessOrThreadIsAnError)
{
    std::vector<Process> tree { process(500, 1, 500, 500, { 500, 501 }) };
    NsPids pids;
    pids.inner = { { 500, 1 } };
    auto r = to_namespace_ids(tree, pids);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(std::string::npos, r.error().message().find("thread of process 500")) << r.error().message();
    pids.inner = { { 501, 2 } };
    tree = { process(500, 1, 500, 500, { 500 }) };
    EXPECT_FALSE(to_namespace_ids(tree, pids).has_value());
}

TEST(CheckpointPidNs, ShellJobRefusedWithoutTheFlag)
{
    // Root 100 in the caller's group 50 and session 40 (started by a shell), child 101 in
    // the root's group.
    std::vector<Process> job { process(100, 50, 50, 40, { 100 }), process(101, 100, 100, 40, { 101 }) };
    auto refused = check_shell_job(job, false);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ("process 100 is in session 40 whose leader is not in the dumped tree (a shell job): needs --shell-job",
              refused.error().message());
    EXPECT_TRUE(check_shell_job(job, true).has_value());

    // Own session (setsid) but a group led from outside: the group is named.
    std::vector<Process> group { process(100, 50, 100, 100, { 100 }), process(101, 100, 77, 100, { 101 }) };
    auto named = check_shell_job(group, false);
    ASSERT_FALSE(named.has_value());
    EXPECT_EQ("process 101 is in process group 77 whose leader is not in the dumped tree (a shell job): needs "
              "--shell-job",
              named.error().message());

    // A session and groups all led from inside (a daemon, a container): accepted.
    std::vector<Process> daemon { process(100, 1, 100, 100, { 100 }), process(101, 100, 101, 100, { 101, 102 }),
                                  process(103, 101, 101, 100, { 103 }) };
    EXPECT_TRUE(check_shell_job(daemon, false).has_value());
}
