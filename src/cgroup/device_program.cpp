#include "cgroup/device_program.h"

#include <cstddef>

#include "cgroup/plan.h"

namespace cryo::cgroup {

namespace {

// Registers of the generated program.
constexpr uint8_t r0 = 0, ctx = 1, access = 2, type = 3, major = 4, minor = 5, scratch = 6;

bpf_insn make(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    bpf_insn insn {};
    insn.code = code;
    insn.dst_reg = dst & 0xf;
    insn.src_reg = src & 0xf;
    insn.off = off;
    insn.imm = imm;
    return insn;
}

bpf_insn load_u32(uint8_t dst, int16_t offset)
{
    return make(BPF_LDX | BPF_MEM | BPF_W, dst, ctx, offset, 0);
}
bpf_insn mov_imm(uint8_t dst, int32_t imm)
{
    return make(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov_reg(uint8_t dst, uint8_t src)
{
    return make(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn and_imm(uint8_t dst, int32_t imm)
{
    return make(BPF_ALU64 | BPF_AND | BPF_K, dst, 0, 0, imm);
}
bpf_insn rsh_imm(uint8_t dst, int32_t imm)
{
    return make(BPF_ALU64 | BPF_RSH | BPF_K, dst, 0, 0, imm);
}
bpf_insn jne_imm(uint8_t dst, int32_t imm, int16_t off)
{
    return make(BPF_JMP | BPF_JNE | BPF_K, dst, 0, off, imm);
}
bpf_insn jeq_imm(uint8_t dst, int32_t imm, int16_t off)
{
    return make(BPF_JMP | BPF_JEQ | BPF_K, dst, 0, off, imm);
}
bpf_insn exit_insn()
{
    return make(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

} // namespace

Result<std::vector<bpf_insn>> device_program(std::vector<DeviceRule> const& rules)
{
    std::vector<bpf_insn> program {
        load_u32(access, offsetof(bpf_cgroup_dev_ctx, access_type)),
        load_u32(major, offsetof(bpf_cgroup_dev_ctx, major)),
        load_u32(minor, offsetof(bpf_cgroup_dev_ctx, minor)),
        mov_reg(type, access),
        and_imm(type, 0xffff),
        // `access` now holds the request's bits still undecided.
        rsh_imm(access, 16),
    };
    for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
        auto const& rule = *it;
        TRY(device_rule_line(rule)); // validates type and access
        std::string type_name = rule.type.value_or("a");
        std::string letters = rule.access.value_or("rwm");
        if (letters.empty())
            letters = "rwm";
        int32_t bits = 0;
        for (char c : letters)
            bits |= c == 'r' ? BPF_DEVCG_ACC_READ : c == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;

        std::vector<bpf_insn> body;
        if (rule.allow) {
            // These bits are granted; done once nothing requested is left undecided.
            body = { and_imm(access, ~bits), jne_imm(access, 0, 2), mov_imm(r0, 1), exit_insn() };
        } else {
            // Any undecided requested bit this rule names is denied.
            body = { mov_reg(scratch, access), and_imm(scratch, bits), jeq_imm(scratch, 0, 2), mov_imm(r0, 0),
                     exit_insn() };
        }
        std::vector<std::pair<uint8_t, int32_t>> checks; // register must equal value
        if (type_name == "b")
            checks.emplace_back(type, BPF_DEVCG_DEV_BLOCK);
        else if (type_name == "c")
            checks.emplace_back(type, BPF_DEVCG_DEV_CHAR);
        if (rule.major && *rule.major >= 0)
            checks.emplace_back(major, static_cast<int32_t>(*rule.major));
        if (rule.minor && *rule.minor >= 0)
            checks.emplace_back(minor, static_cast<int32_t>(*rule.minor));
        // A mismatch skips the rest of this rule's checks and its body.
        for (size_t i = 0; i < checks.size(); ++i) {
            auto skip = static_cast<int16_t>(checks.size() - i - 1 + body.size());
            program.push_back(jne_imm(checks[i].first, checks[i].second, skip));
        }
        program.insert(program.end(), body.begin(), body.end());
        // A rule for every device and every bit decides all that is left: earlier rules
        // can never matter.
        if (checks.empty() && bits == (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD))
            break;
    }
    program.push_back(mov_imm(r0, 1));
    program.push_back(exit_insn());
    return program;
}

} // namespace cryo::cgroup
