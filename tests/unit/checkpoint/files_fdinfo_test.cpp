// fdinfo kind-specific lines and unix_diag answers, parsed from fixtures and built messages.
#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <vector>

#include "sys/fdinfo.h"
#include "sys/file.h"
#include "sys/sock_diag.h"

using namespace cryo;

namespace {

sys::FdInfo fixture(char const* name)
{
    auto text = sys::read_file(std::string(CRYO_FIXTURES) + "/" + name);
    EXPECT_TRUE(text) << name;
    auto info = sys::parse_fdinfo(text ? *text : "");
    EXPECT_TRUE(info) << name;
    return info ? *info : sys::FdInfo {};
}

} // namespace

TEST(FilesFdinfo, EventfdCountIsHexadecimalAndSemaphoreRead)
{
    auto info = fixture("fdinfo_eventfd");
    EXPECT_EQ(info.flags, 04002u);
    auto e = sys::parse_eventfd_fdinfo(info);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->count, 42u);
    EXPECT_TRUE(e->semaphore);
    EXPECT_EQ(sys::fdinfo_inode(info), 26u);
}

TEST(FilesFdinfo, EventfdWithoutSemaphoreLineIsNotASemaphore)
{
    auto e = sys::parse_eventfd_fdinfo(fixture("fdinfo_eventfd_old"));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->count, 0u);
    EXPECT_FALSE(e->semaphore);
}

TEST(FilesFdinfo, EventfdCountMissingOrBadIsAnError)
{
    auto info = fixture("fdinfo_regular_append");
    EXPECT_FALSE(sys::parse_eventfd_fdinfo(info));
    info.extra["eventfd-count"] = "  zz";
    EXPECT_FALSE(sys::parse_eventfd_fdinfo(info));
    info.extra["eventfd-count"] = "ff";
    info.extra["eventfd-semaphore"] = "2";
    EXPECT_FALSE(sys::parse_eventfd_fdinfo(info));
}

TEST(FilesFdinfo, RegularFileFlagsAndPosition)
{
    auto info = fixture("fdinfo_regular_append");
    EXPECT_EQ(info.pos, 12345u);
    EXPECT_EQ(info.flags & O_ACCMODE, static_cast<uint32_t>(O_WRONLY));
    EXPECT_TRUE(info.flags & O_APPEND);
    EXPECT_FALSE(info.flags & O_CLOEXEC);
    EXPECT_EQ(sys::fdinfo_inode(info), 10969374u);
    EXPECT_EQ(sys::fdinfo_scm_fds(info), std::nullopt);
}

TEST(FilesFdinfo, UnixSocketFdsInFlight)
{
    auto info = fixture("fdinfo_unix_socket");
    EXPECT_TRUE(info.flags & O_CLOEXEC);
    EXPECT_EQ(sys::fdinfo_scm_fds(info), 2u);
}

namespace {

void put_attribute(std::vector<unsigned char>& out, uint16_t type, void const* data, size_t size)
{
    struct nlattr attr { };
    attr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + size);
    attr.nla_type = type;
    size_t at = out.size();
    out.resize(at + NLA_ALIGN(attr.nla_len));
    std::memcpy(out.data() + at, &attr, sizeof attr);
    std::memcpy(out.data() + at + NLA_HDRLEN, data, size);
}

std::vector<unsigned char> diag_message(uint32_t inode, uint8_t type, uint8_t state)
{
    struct unix_diag_msg msg { };
    msg.udiag_family = AF_UNIX;
    msg.udiag_type = type;
    msg.udiag_state = state;
    msg.udiag_ino = inode;
    std::vector<unsigned char> out(NLMSG_ALIGN(sizeof msg));
    std::memcpy(out.data(), &msg, sizeof msg);
    return out;
}

} // namespace

TEST(FilesSockDiag, ParsesPeerShutdownQueueAndAbstractName)
{
    auto m = diag_message(1234, SOCK_SEQPACKET, 1);
    uint32_t peer = 1235;
    put_attribute(m, UNIX_DIAG_PEER, &peer, sizeof peer);
    uint8_t shutdown = 2;
    put_attribute(m, UNIX_DIAG_SHUTDOWN, &shutdown, 1);
    struct unix_diag_rqlen rq {
        17, 100
    };
    put_attribute(m, UNIX_DIAG_RQLEN, &rq, sizeof rq);
    char name[] = { '\0', 'c', 'r', 'y', 'o' };
    put_attribute(m, UNIX_DIAG_NAME, name, sizeof name);
    auto d = sys::parse_unix_diag(m.data(), m.size());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->inode, 1234u);
    EXPECT_EQ(d->type, SOCK_SEQPACKET);
    EXPECT_EQ(d->state, 1);
    EXPECT_EQ(d->peer_inode, 1235u);
    EXPECT_EQ(d->shutdown, 2u);
    EXPECT_EQ(d->receive_queue, 17u);
    EXPECT_EQ(d->name, "@cryo");
}

TEST(FilesSockDiag, PathNameAndNoPeer)
{
    auto m = diag_message(9, SOCK_STREAM, 10);
    char path[] = "/run/x.sock";
    put_attribute(m, UNIX_DIAG_NAME, path, sizeof path - 1);
    auto d = sys::parse_unix_diag(m.data(), m.size());
    ASSERT_TRUE(d);
    EXPECT_EQ(d->name, "/run/x.sock");
    EXPECT_EQ(d->peer_inode, 0u);
}

TEST(FilesSockDiag, RejectsTruncatedMessagesAndAttributes)
{
    auto m = diag_message(9, SOCK_STREAM, 1);
    EXPECT_FALSE(sys::parse_unix_diag(m.data(), 4));
    uint32_t peer = 5;
    put_attribute(m, UNIX_DIAG_PEER, &peer, sizeof peer);
    EXPECT_FALSE(sys::parse_unix_diag(m.data(), m.size() - 2));
    // An attribute that claims more bytes than there are.
    struct nlattr bad {
        200, UNIX_DIAG_PEER
    };
    std::memcpy(m.data() + NLMSG_ALIGN(sizeof(struct unix_diag_msg)), &bad, sizeof bad);
    EXPECT_FALSE(sys::parse_unix_diag(m.data(), m.size()));
}

TEST(FilesSockDiag, AsksTheKernelAboutASocketpair)
{
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    Fd a(fds[0]), b(fds[1]);
    ASSERT_EQ(::write(b.get(), "hello", 5), 5);
    ASSERT_EQ(::shutdown(b.get(), SHUT_WR), 0);
    auto st_a = sys::fstat(a);
    auto st_b = sys::fstat(b);
    ASSERT_TRUE(st_a && st_b);
    auto d = sys::unix_socket_diag(st_a->st_ino);
    ASSERT_TRUE(d) << d.error().message();
    ASSERT_TRUE(d->has_value());
    EXPECT_EQ((*d)->type, SOCK_STREAM);
    EXPECT_EQ((*d)->peer_inode, st_b->st_ino);
    EXPECT_EQ((*d)->receive_queue, 5u);
    EXPECT_EQ((*d)->shutdown, 1u); // the peer stopped sending: our receive side is shut
    EXPECT_EQ((*d)->name, "");
}

TEST(FilesFdinfo, SignalfdMask)
{
    auto mask = sys::parse_signalfd_fdinfo(fixture("fdinfo_signalfd"));
    ASSERT_TRUE(mask);
    EXPECT_EQ(*mask, (1ULL << (SIGUSR2 - 1)) | (1ULL << (35 - 1))); // SIGUSR2 and SIGRTMIN+1 (35)
    EXPECT_FALSE(sys::parse_signalfd_fdinfo(fixture("fdinfo_eventfd")));
}

TEST(FilesFdinfo, TimerfdRemainingTimeIntervalAndTicks)
{
    auto t = sys::parse_timerfd_fdinfo(fixture("fdinfo_timerfd"));
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ(t->clock_id, 1);
    EXPECT_EQ(t->ticks, 3u);
    EXPECT_EQ(t->settime_flags, 1u);
    EXPECT_EQ(t->value_ns, 99972914843ULL);
    EXPECT_EQ(t->interval_ns, 1000000500ULL);
    auto info = fixture("fdinfo_timerfd");
    info.extra["it_value"] = "(1, 1000000000)"; // nanoseconds out of range
    EXPECT_FALSE(sys::parse_timerfd_fdinfo(info));
    info.extra.erase("it_value");
    EXPECT_FALSE(sys::parse_timerfd_fdinfo(info));
}

TEST(FilesFdinfo, EpollTargetsInOrder)
{
    auto targets = sys::parse_epoll_fdinfo(fixture("fdinfo_epoll"));
    ASSERT_TRUE(targets) << targets.error().message();
    ASSERT_EQ(targets->size(), 2u);
    EXPECT_EQ((*targets)[0].fd, 4);
    EXPECT_EQ((*targets)[0].events, 0x1cu);
    EXPECT_EQ((*targets)[0].data, 7u);
    EXPECT_EQ((*targets)[0].inode, 0x4e27fu);
    EXPECT_EQ((*targets)[1].fd, 3);
    EXPECT_EQ((*targets)[1].events, 0x80000019u);
    EXPECT_EQ((*targets)[1].data, 0x1122334455667788ULL);
    // An epoll watching nothing has no tfd lines.
    auto none = sys::parse_epoll_fdinfo(fixture("fdinfo_eventfd_old"));
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    auto info = fixture("fdinfo_epoll");
    info.extra["tfd"] = "x events: 1 data: 2 pos:0 ino:3 sdev:f";
    EXPECT_FALSE(sys::parse_epoll_fdinfo(info));
    info.extra["tfd"] = "4 events: 1 pos:0 ino:3 sdev:f"; // no data
    EXPECT_FALSE(sys::parse_epoll_fdinfo(info));
}

TEST(FilesFdinfo, InotifyWatchesWithHandles)
{
    auto watches = sys::parse_inotify_fdinfo(fixture("fdinfo_inotify"));
    ASSERT_TRUE(watches) << watches.error().message();
    ASSERT_EQ(watches->size(), 2u);
    auto const& w = (*watches)[0];
    EXPECT_EQ(w.wd, 2);
    EXPECT_EQ(w.inode, 0x2ddu);
    EXPECT_EQ(w.device, 0xfe00000u);
    EXPECT_EQ(w.mask, 0x80000002u); // IN_ONESHOT | IN_MODIFY; ignored_mask is not mistaken for it
    EXPECT_EQ(w.handle_type, 1);
    EXPECT_EQ(w.handle, (std::vector<uint8_t> { 0xdd, 0x02, 0, 0, 0, 0, 0, 0 }));
    EXPECT_EQ((*watches)[1].wd, 1);
    EXPECT_EQ((*watches)[1].mask, 0x100u);
    auto info = fixture("fdinfo_inotify");
    info.extra["inotify wd"] = "3 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:abc";
    EXPECT_FALSE(sys::parse_inotify_fdinfo(info)); // odd number of hex digits
}

TEST(FilesFdinfo, MountPointOfDevice)
{
    constexpr char mountinfo[] = "22 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
                                 "30 22 254:0 /srv/data /mnt/with\\040space rw - ext4 /dev/vda rw\n"
                                 "31 22 0:45 /sub /mnt/bind rw - tmpfs tmpfs rw\n"
                                 "32 22 0:45 / /run/x rw - tmpfs tmpfs rw\n"
                                 "33 22 0:50 /a /only/bind rw - tmpfs tmpfs rw\n";
    EXPECT_EQ(sys::mount_point_of_device(mountinfo, 254, 0), "/");
    EXPECT_EQ(sys::mount_point_of_device(mountinfo, 0, 45), "/run/x"); // the one mounting the root
    EXPECT_EQ(sys::mount_point_of_device(mountinfo, 0, 50), "/only/bind");
    EXPECT_EQ(sys::mount_point_of_device(mountinfo, 8, 1), std::nullopt);
    EXPECT_EQ(sys::mount_point_of_device("40 1 7:1 / /mnt/a\\040b rw - ext4 x rw\n", 7, 1), "/mnt/a b");
}

// What each kind-specific field accepts as a number (pinned when the parsers moved onto
// sys/text.h): "key: value" fields may have blanks before the value, never after it; the base
// is the kernel's (hex counts and masks, octal timerfd flags, decimal inode and fd numbers);
// no sign, no "0x", nothing beyond the field's type.
TEST(FilesFdinfo, FieldNumbersAreWholeAndInTheKernelsBase)
{
    auto eventfd = [](std::string count) {
        sys::FdInfo info;
        info.extra["eventfd-count"] = std::move(count);
        return sys::parse_eventfd_fdinfo(info);
    };
    EXPECT_EQ(eventfd(" \t2a")->count, 0x2au);
    EXPECT_EQ(eventfd("ffffffffffffffff")->count, 0xffffffffffffffffu);
    for (char const* bad : { "", " \t", "2a ", "2a\n", "-1", "+1", "0x2a", "2g", "10000000000000000" })
        EXPECT_FALSE(eventfd(bad)) << bad;
    EXPECT_EQ(eventfd("2g").error().message(), "fdinfo: no valid eventfd-count line");

    sys::FdInfo info;
    info.extra["eventfd-count"] = "0";
    info.extra["eventfd-semaphore"] = "2";
    EXPECT_EQ(sys::parse_eventfd_fdinfo(info).error().message(), "fdinfo: bad eventfd-semaphore line");
    info.extra["eventfd-semaphore"] = "";
    EXPECT_FALSE(sys::parse_eventfd_fdinfo(info));

    info.extra["ino"] = "26";
    EXPECT_EQ(sys::fdinfo_inode(info), 26u);
    for (char const* bad : { "1a", "26 ", "+26", "18446744073709551616" }) {
        info.extra["ino"] = bad;
        EXPECT_EQ(sys::fdinfo_inode(info), std::nullopt) << bad;
    }
    info.extra["scm_fds"] = "\t3";
    EXPECT_EQ(sys::fdinfo_scm_fds(info), 3u);

    auto timer = fixture("fdinfo_timerfd");
    timer.extra["settime flags"] = "17"; // octal
    EXPECT_EQ(sys::parse_timerfd_fdinfo(timer)->settime_flags, 15u);
    timer.extra["settime flags"] = "8";
    EXPECT_EQ(sys::parse_timerfd_fdinfo(timer).error().message(), "fdinfo: bad or missing timerfd lines");
}

TEST(FilesFdinfo, EpollAndInotifyFieldNumbers)
{
    auto info = fixture("fdinfo_epoll");
    info.extra["tfd"] = "-3 events:\tffffffff data: 0 pos:0 ino:0 sdev:f"; // fd is a signed decimal
    auto targets = sys::parse_epoll_fdinfo(info);
    ASSERT_TRUE(targets) << targets.error().message();
    EXPECT_EQ((*targets)[0].fd, -3);
    EXPECT_EQ((*targets)[0].events, 0xffffffffu);
    for (char const* bad : {
             "4 events: 100000000 data: 2 pos:0 ino:3 sdev:f", // beyond uint32_t
             "4 events: 1 data: 0x2 pos:0 ino:3 sdev:f",
             "4 events: 1 data: 2 pos:0 ino:-3 sdev:f",
             "4x events: 1 data: 2 pos:0 ino:3 sdev:f",
             "4 events: 1 data: 2 pos:0 ino: sdev:f",
         }) {
        info.extra["tfd"] = bad;
        EXPECT_FALSE(sys::parse_epoll_fdinfo(info)) << bad;
    }
    info.extra["tfd"] = "4 events: 1 data: 2 pos:0 ino:3g sdev:f";
    EXPECT_EQ(sys::parse_epoll_fdinfo(info).error().message(),
              "fdinfo: bad epoll line \"tfd: 4 events: 1 data: 2 pos:0 ino:3g sdev:f\"");

    auto watch = fixture("fdinfo_inotify");
    watch.extra["inotify wd"] = "3 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:2 fhandle-type:-1 f_handle:0aFf";
    auto watches = sys::parse_inotify_fdinfo(watch);
    ASSERT_TRUE(watches) << watches.error().message();
    EXPECT_EQ((*watches)[0].handle_type, -1);
    EXPECT_EQ((*watches)[0].handle, (std::vector<uint8_t> { 0x0a, 0xff }));
    watch.extra["inotify wd"] = "3 ino:1 sdev:1 mask:100000000 ignored_mask:0 fhandle-type:1 f_handle:00";
    EXPECT_EQ(sys::parse_inotify_fdinfo(watch).error().message(),
              "fdinfo: bad inotify line \"inotify wd:3 ino:1 sdev:1 mask:100000000 ignored_mask:0 fhandle-type:1 "
              "f_handle:00\"");
    for (char const* handle : { "0g", "-1", "+1", "0x" }) {
        watch.extra["inotify wd"] = std::string("3 ino:1 sdev:1 mask:1 fhandle-type:1 f_handle:") + handle;
        auto parsed = sys::parse_inotify_fdinfo(watch);
        ASSERT_FALSE(parsed) << handle;
        EXPECT_EQ(parsed.error().message(), std::string("fdinfo: bad inotify f_handle ") + handle);
    }
}
