// The v2 device program, run in a small interpreter of the instructions it uses and
// compared with a direct model of v1's rule semantics over many rule lists and requests.
#include <cstring>
#include <gtest/gtest.h>
#include <random>

#include "cgroup/device_program.h"

using namespace cryo;
using namespace cryo::cgroup;

namespace {

struct Request {
    char type; // 'b' or 'c'
    uint32_t major;
    uint32_t minor;
    std::string access; // subset of "rwm"
};

uint32_t bits_of(std::string const& access)
{
    uint32_t bits = 0;
    for (char c : access)
        bits |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
    return bits;
}

// Executes the program the way the kernel would for the subset device_program emits;
// fails the test on anything else (so a new instruction kind cannot slip by untested).
int run(std::vector<bpf_insn> const& program, Request const& request)
{
    bpf_cgroup_dev_ctx ctx {
        .access_type
        = (bits_of(request.access) << 16) | (request.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR),
        .major = request.major,
        .minor = request.minor,
    };
    uint64_t reg[11] = {};
    size_t pc = 0;
    for (int steps = 0; steps < 100000 && pc < program.size(); ++steps) {
        auto const& insn = program[pc++];
        auto imm = static_cast<uint64_t>(static_cast<int64_t>(insn.imm));
        switch (insn.code) {
        case BPF_LDX | BPF_MEM | BPF_W: {
            EXPECT_EQ(insn.src_reg, 1);
            uint32_t value = 0;
            // SAFETY: offsets come from offsetof(bpf_cgroup_dev_ctx, ...) in the generator.
            std::memcpy(&value, reinterpret_cast<char const*>(&ctx) + insn.off, 4);
            reg[insn.dst_reg] = value;
            break;
        }
        case BPF_ALU64 | BPF_MOV | BPF_K:
            reg[insn.dst_reg] = imm;
            break;
        case BPF_ALU64 | BPF_MOV | BPF_X:
            reg[insn.dst_reg] = reg[insn.src_reg];
            break;
        case BPF_ALU64 | BPF_AND | BPF_K:
            reg[insn.dst_reg] &= imm;
            break;
        case BPF_ALU64 | BPF_RSH | BPF_K:
            reg[insn.dst_reg] >>= insn.imm;
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
            if (reg[insn.dst_reg] != imm)
                pc += insn.off;
            break;
        case BPF_JMP | BPF_JEQ | BPF_K:
            if (reg[insn.dst_reg] == imm)
                pc += insn.off;
            break;
        case BPF_JMP | BPF_EXIT:
            return static_cast<int>(reg[0]);
        default:
            ADD_FAILURE() << "unexpected opcode " << int(insn.code);
            return -1;
        }
        EXPECT_LT(insn.off, 0x7fff);
        EXPECT_GE(insn.off, 0); // forward jumps only
    }
    ADD_FAILURE() << "program ran off its end";
    return -1;
}

// v1 semantics, written the obvious way: each bit decided by the last matching rule.
int model(std::vector<DeviceRule> const& rules, Request const& request)
{
    for (char bit : request.access) {
        bool allowed = true;
        for (auto const& rule : rules) {
            auto type = rule.type.value_or("a");
            auto access = rule.access.value_or("rwm");
            if (access.empty())
                access = "rwm";
            bool matches = (type == "a" || type[0] == request.type)
                && (!rule.major || *rule.major < 0 || *rule.major == request.major)
                && (!rule.minor || *rule.minor < 0 || *rule.minor == request.minor)
                && access.find(bit) != std::string::npos;
            if (matches)
                allowed = rule.allow;
        }
        if (!allowed)
            return 0;
    }
    return 1;
}

DeviceRule rule(bool allow, char const* type, std::optional<int64_t> major, std::optional<int64_t> minor,
                char const* access)
{
    return DeviceRule {
        .allow = allow, .type = std::string(type), .major = major, .minor = minor, .access = std::string(access)
    };
}

} // namespace

TEST(CgroupDeviceProgram, OciDefaultList)
{
    // What runtimes put in a default spec: deny all, then the usual devices.
    std::vector<DeviceRule> rules { DeviceRule { .allow = false, .access = "rwm" },
                                    rule(true, "c", 1, 3, "rwm"), // null
                                    rule(true, "c", 1, 5, "rwm"), // zero
                                    rule(true, "c", 136, {}, "rwm"), // pts
                                    rule(true, "c", 5, 2, "rw"), // ptmx, no mknod
                                    rule(false, "c", 1, 5, "w") }; // later deny wins
    auto program = MUST(device_program(rules));
    EXPECT_EQ(run(program, { 'c', 1, 3, "rw" }), 1);
    EXPECT_EQ(run(program, { 'c', 1, 5, "r" }), 1);
    EXPECT_EQ(run(program, { 'c', 1, 5, "rw" }), 0);
    EXPECT_EQ(run(program, { 'c', 136, 7, "rwm" }), 1);
    EXPECT_EQ(run(program, { 'c', 5, 2, "rw" }), 1);
    EXPECT_EQ(run(program, { 'c', 5, 2, "m" }), 0);
    EXPECT_EQ(run(program, { 'b', 1, 3, "r" }), 0);
    EXPECT_EQ(run(program, { 'c', 10, 200, "r" }), 0);
}

TEST(CgroupDeviceProgram, BitsCanComeFromDifferentRules)
{
    std::vector<DeviceRule> rules { DeviceRule { .allow = false }, rule(true, "c", 1, 3, "r"),
                                    rule(true, "c", 1, 3, "w") };
    auto program = MUST(device_program(rules));
    EXPECT_EQ(run(program, { 'c', 1, 3, "rw" }), 1);
    EXPECT_EQ(run(program, { 'c', 1, 3, "rwm" }), 0);
}

TEST(CgroupDeviceProgram, StopsAtARuleThatDecidesEverything)
{
    std::vector<DeviceRule> many(50, rule(true, "c", 1, 3, "r"));
    many.push_back(DeviceRule { .allow = false });
    // The final deny-all makes the 50 earlier rules dead: only prologue, one rule, epilogue.
    EXPECT_EQ(MUST(device_program(many)).size(), 6u + 5u + 2u);
}

TEST(CgroupDeviceProgram, RejectsInvalidRules)
{
    EXPECT_TRUE(device_program({ rule(true, "x", 1, 1, "r") }).is_error());
    EXPECT_TRUE(device_program({ rule(true, "c", 1, 1, "q") }).is_error());
}

TEST(CgroupDeviceProgram, MatchesTheModelOnRandomRules)
{
    std::mt19937 random(12345);
    auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
    char const* types[] = { "a", "b", "c" };
    char const* accesses[] = { "r", "w", "m", "rw", "rm", "wm", "rwm" };
    for (int round = 0; round < 300; ++round) {
        std::vector<DeviceRule> rules;
        int count = pick(8);
        for (int i = 0; i < count; ++i) {
            std::optional<int64_t> major, minor;
            if (pick(2))
                major = pick(3);
            if (pick(2))
                minor = pick(3);
            rules.push_back(rule(pick(2) == 1, types[pick(3)], major, minor, accesses[pick(7)]));
        }
        auto program = MUST(device_program(rules));
        for (char type : { 'b', 'c' })
            for (uint32_t major = 0; major < 3; ++major)
                for (uint32_t minor = 0; minor < 3; ++minor)
                    for (auto const* access : accesses) {
                        Request request { type, major, minor, access };
                        ASSERT_EQ(run(program, request), model(rules, request))
                            << "round " << round << " request " << type << " " << major << ":" << minor << " "
                            << access;
                    }
    }
}
