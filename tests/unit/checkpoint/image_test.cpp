#include <gtest/gtest.h>

#include <cstdlib>

#include "checkpoint/codec.h"
#include "checkpoint/crc32c.h"
#include "checkpoint/image.h"
#include "sys/file.h"
#include "temp_dir.h"

using namespace cryo;
using namespace cryo::checkpoint;

namespace {

using cryo::test::TempDir;

} // namespace

TEST(Crc32c, KnownVectors)
{
    // RFC 3720 B.4 test vectors.
    std::string zeros(32, '\0');
    EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8a9136aau);
    std::string ones(32, '\xff');
    EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62a8ab43u);
    EXPECT_EQ(crc32c("123456789", 9), 0xe3069283u);
    // Incremental == one shot, at odd split points.
    std::string text = "The quick brown fox jumps over the lazy dog, twice or more.";
    for (size_t split = 0; split <= text.size(); ++split)
        EXPECT_EQ(crc32c_update(crc32c(text.data(), split), text.data() + split, text.size() - split),
                  crc32c(text.data(), text.size()));
}

TEST(Image, ManifestRoundTripAndTamper)
{
    Manifest m;
    m.root_pid = 42;
    m.pids = { 42, 43 };
    m.files["pages-42.img"] = { 8192, 0xdeadbeef };
    auto text = encode_manifest(m);
    auto back = MUST(decode_manifest(text));
    EXPECT_EQ(back.root_pid, 42);
    EXPECT_EQ(back.pids, (std::vector<int> { 42, 43 }));
    EXPECT_EQ(back.files.at("pages-42.img").crc32c, 0xdeadbeefu);

    auto tampered = text;
    tampered.replace(tampered.find("8192"), 4, "8193");
    auto r = decode_manifest(tampered);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("checksum mismatch"), std::string::npos);

    auto newer = text;
    newer.replace(newer.find("\"version\": 1"), 12, "\"version\": 9");
    r = decode_manifest(newer);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("version 9 is not supported"), std::string::npos);

    EXPECT_FALSE(decode_manifest("{\"format\":\"something-else\",\"version\":1}"));
    EXPECT_FALSE(decode_manifest("not json"));
    EXPECT_FALSE(decode_manifest(text.substr(0, text.size() / 2)));
}

TEST(Image, ManifestKeepsStripingAndRefusesBadStriping)
{
    Manifest m;
    m.version = 3;
    m.root_pid = 7;
    m.pids = { 7 };
    FileEntry part0 { 3 << 20, 0x1234 };
    part0.stripes = 2;
    part0.stripe_size = 1 << 20;
    m.files["pages-7.img"] = part0;
    m.files["pages-7.1.img"] = { 2 << 20, 0x5678 };
    auto back = MUST(decode_manifest(encode_manifest(m)));
    EXPECT_EQ(back.version, 3);
    EXPECT_EQ(back.files.at("pages-7.img").stripes, 2u);
    EXPECT_EQ(back.files.at("pages-7.img").stripe_size, uint64_t { 1 << 20 });
    EXPECT_EQ(back.files.at("pages-7.1.img").stripes, 1u); // not written for other files
    EXPECT_EQ(page_file_name(7, 1), "pages-7.1.img");

    for (auto [stripes, size] :
         { std::pair { 2U, uint64_t { 0 } }, { 2U, uint64_t { 1000 } }, { 100000U, uint64_t { 1 << 20 } } }) {
        auto bad = m;
        bad.files["pages-7.img"].stripes = stripes;
        bad.files["pages-7.img"].stripe_size = size;
        auto r = decode_manifest(encode_manifest(bad));
        ASSERT_FALSE(r) << stripes << " " << size;
        EXPECT_NE(r.error().message().find("pages-7.img: bad striping"), std::string::npos) << r.error().message();
    }
}

TEST(Image, WriteCommitReadVerify)
{
    TempDir tmp;
    std::string dir = tmp.path + "/img";
    {
        auto w = MUST(ImageWriter::create(dir));
        MUST(w.write_file("a.json", "{\"x\":1}"));
        auto sink = MUST(w.create_file("pages-1.img"));
        std::string block(10000, 'p');
        MUST(sink.write(block.data(), block.size()));
        MUST(sink.write(block.data(), 5));
        MUST(w.close_file(std::move(sink)));
        EXPECT_FALSE(sys::exists(dir)); // invisible until commit
        Manifest m;
        m.root_pid = 1;
        m.pids = { 1 };
        MUST(w.commit(m));
    }
    EXPECT_TRUE(sys::exists(dir + "/manifest.json"));
    auto entries = MUST(sys::list_dir(tmp.path));
    EXPECT_EQ(entries.size(), 1u); // no temp dir left
    auto r = MUST(ImageReader::open(dir));
    EXPECT_EQ(MUST(r.read_file("a.json")), "{\"x\":1}");
    auto src = MUST(r.open_file("pages-1.img"));
    std::string got(10005, '\0');
    MUST(src.read(got.data(), got.size()));
    MUST(src.finish());
    EXPECT_FALSE(r.read_file("missing.json"));

    // A flipped byte is named; a truncated file is named.
    MUST(sys::write_file(dir + "/a.json", "{\"x\":2}"));
    auto bad = r.read_file("a.json");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("a.json: checksum mismatch"), std::string::npos);
    ASSERT_EQ(::truncate((dir + "/pages-1.img").c_str(), 100), 0);
    auto trunc = r.open_file("pages-1.img");
    ASSERT_FALSE(trunc);
    EXPECT_NE(trunc.error().message().find("pages-1.img: size is 100 bytes"), std::string::npos);
}

TEST(Image, DroppedWriterLeavesNothing)
{
    TempDir tmp;
    {
        auto w = MUST(ImageWriter::create(tmp.path + "/img"));
        MUST(w.write_file("x", "y"));
    }
    EXPECT_TRUE(MUST(sys::list_dir(tmp.path)).empty());
}

TEST(Image, RefusesNonEmptyTarget)
{
    TempDir tmp;
    MUST(sys::write_file_atomic(tmp.path + "/file", "x"));
    auto w = ImageWriter::create(tmp.path);
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message().find("is not empty"), std::string::npos);
}

TEST(Codec, ProcessRoundTrip)
{
    Process p;
    p.pid = 7;
    p.ppid = 1;
    p.pgid = 7;
    p.sid = 5;
    p.comm = "wo\"rk";
    p.umask = 027;
    p.cwd = "/srv";
    p.root = "/";
    p.credentials.uid[0] = 1000;
    p.credentials.gid[3] = 100;
    p.credentials.groups = { 4, 27 };
    p.mm.brk = 0x5000;
    p.mm.auxv = { 33, 0x7fff0000, 0, 0 };
    p.mm.exe_path = "/bin/x";
    MemoryArea text;
    text.start = 0x1000;
    text.end = 0x3000;
    text.read = text.exec = true;
    text.kind = AreaKind::FilePrivate;
    text.name = "/bin/x";
    text.file_offset = 0x2000;
    p.areas.push_back(text);
    MemoryArea stack;
    stack.start = 0x7000;
    stack.end = 0x9000;
    stack.read = stack.write = true;
    stack.name = "[stack]";
    stack.growsdown = stack.huge = true;
    p.areas.push_back(stack);
    p.pages = { { 0x7000, 2 } };
    Thread t;
    t.tid = 7;
    t.regs.rip = 0x1234;
    t.regs.fs_base = 0x7f00;
    t.regs.orig_rax = ~0ULL;
    t.xstate = { 1, 2, 255 };
    t.sigmask = 1ULL << 9;
    t.rseq_address = 0x7f10;
    t.rseq_size = 32;
    t.rseq_signature = 0x53053053;
    p.threads.push_back(t);
    p.signal_actions.push_back({ 10, 0x4000, 0x14000004, 0x4100, 0 });
    p.rlimits.push_back({ 7, 1024, 4096 });

    auto back = MUST(decode_process(encode_process(p)));
    EXPECT_EQ(back.comm, "wo\"rk");
    EXPECT_EQ(back.umask, 027u);
    EXPECT_EQ(back.credentials.uid[0], 1000u);
    EXPECT_EQ(back.credentials.groups, (std::vector<uint32_t> { 4, 27 }));
    EXPECT_EQ(back.mm.auxv, p.mm.auxv);
    ASSERT_EQ(back.areas.size(), 2u);
    EXPECT_EQ(back.areas[0].kind, AreaKind::FilePrivate);
    EXPECT_TRUE(back.areas[0].exec);
    EXPECT_FALSE(back.areas[0].write);
    EXPECT_EQ(back.areas[0].file_offset, 0x2000u);
    EXPECT_TRUE(back.areas[1].growsdown);
    EXPECT_TRUE(back.areas[1].huge);
    EXPECT_EQ(back.page_count(), 2u);
    ASSERT_EQ(back.threads.size(), 1u);
    EXPECT_EQ(back.threads[0].regs.rip, 0x1234u);
    EXPECT_EQ(back.threads[0].regs.fs_base, 0x7f00u);
    EXPECT_EQ(back.threads[0].regs.orig_rax, ~0ULL);
    EXPECT_EQ(back.threads[0].xstate, t.xstate);
    EXPECT_EQ(back.threads[0].rseq_signature, 0x53053053u);
    EXPECT_EQ(back.signal_actions[0].flags, 0x14000004u);
    EXPECT_EQ(back.rlimits[0].hard, 4096u);
}

TEST(Codec, ForwardCompatibleAndStrict)
{
    Process p;
    p.pid = 3;
    Thread only;
    only.tid = 3;
    p.threads.push_back(only);
    auto text = encode_process(p);
    // Unknown keys from a newer minor writer are ignored.
    auto extended = text;
    extended.insert(extended.find('{') + 1, "\"future_field\": {\"a\": [1,2]},");
    EXPECT_TRUE(decode_process(extended));
    auto newer = text;
    newer.replace(newer.find("\"schema\": "), 11, "\"schema\": 99");
    auto r = decode_process(newer);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("schema 99"), std::string::npos);
    auto unaligned = MUST(decode_process(text));
    (void)unaligned;
    Process q = p;
    MemoryArea unaligned_area;
    unaligned_area.start = 0x1001;
    unaligned_area.end = 0x3000;
    q.areas.push_back(unaligned_area);
    auto bad = decode_process(encode_process(q));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("page-aligned"), std::string::npos);
    EXPECT_FALSE(decode_process("{\"schema\": 1}"));
    EXPECT_FALSE(from_hex("abc"));
    EXPECT_FALSE(from_hex("zz"));
    EXPECT_EQ(MUST(from_hex("00ff10")), (std::vector<uint8_t> { 0, 255, 16 }));
}
