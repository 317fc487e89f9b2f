#include "rootfs/seccomp.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/scope_guard.h"
#include "sys/file.h"
#include "sys/seccomp.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace cryo::rootfs {

namespace {

template<typename T>
struct Named {
    std::string_view name;
    T value;
};

constexpr std::array<Named<SeccompAction>, 9> action_names { {
    { "SCMP_ACT_KILL", SeccompAction::Kill },
    { "SCMP_ACT_KILL_PROCESS", SeccompAction::KillProcess },
    { "SCMP_ACT_KILL_THREAD", SeccompAction::KillThread },
    { "SCMP_ACT_TRAP", SeccompAction::Trap },
    { "SCMP_ACT_ERRNO", SeccompAction::Errno },
    { "SCMP_ACT_TRACE", SeccompAction::Trace },
    { "SCMP_ACT_ALLOW", SeccompAction::Allow },
    { "SCMP_ACT_LOG", SeccompAction::Log },
    { "SCMP_ACT_NOTIFY", SeccompAction::Notify },
} };

constexpr std::array<Named<SeccompOp>, 7> op_names { {
    { "SCMP_CMP_NE", SeccompOp::NotEqual },
    { "SCMP_CMP_LT", SeccompOp::LessThan },
    { "SCMP_CMP_LE", SeccompOp::LessEqual },
    { "SCMP_CMP_EQ", SeccompOp::Equal },
    { "SCMP_CMP_GE", SeccompOp::GreaterEqual },
    { "SCMP_CMP_GT", SeccompOp::GreaterThan },
    { "SCMP_CMP_MASKED_EQ", SeccompOp::MaskedEqual },
} };

constexpr std::array<Named<unsigned>, 4> flag_names { {
    { "SECCOMP_FILTER_FLAG_TSYNC", SECCOMP_FILTER_FLAG_TSYNC },
    { "SECCOMP_FILTER_FLAG_LOG", SECCOMP_FILTER_FLAG_LOG },
    { "SECCOMP_FILTER_FLAG_SPEC_ALLOW", SECCOMP_FILTER_FLAG_SPEC_ALLOW },
    { "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV },
} };

template<typename T, size_t N>
Result<T> lookup(std::array<Named<T>, N> const& table, std::string_view name, std::string_view what)
{
    for (auto const& entry : table) {
        if (entry.name == name)
            return entry.value;
    }
    return Error::format("unknown seccomp {} \"{}\"", what, name);
}

uint32_t libseccomp_action(SeccompAction action, std::optional<unsigned> errno_ret)
{
    unsigned code = errno_ret.value_or(EPERM);
    switch (action) {
    case SeccompAction::Kill:
        return SCMP_ACT_KILL;
    case SeccompAction::KillProcess:
        return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::KillThread:
        return SCMP_ACT_KILL_THREAD;
    case SeccompAction::Trap:
        return SCMP_ACT_TRAP;
    case SeccompAction::Errno:
        return SCMP_ACT_ERRNO(code);
    case SeccompAction::Trace:
        return SCMP_ACT_TRACE(code);
    case SeccompAction::Allow:
        return SCMP_ACT_ALLOW;
    case SeccompAction::Log:
        return SCMP_ACT_LOG;
    case SeccompAction::Notify:
        return SCMP_ACT_NOTIFY;
    }
    return SCMP_ACT_KILL_PROCESS;
}

scmp_compare libseccomp_op(SeccompOp op)
{
    switch (op) {
    case SeccompOp::NotEqual:
        return SCMP_CMP_NE;
    case SeccompOp::LessThan:
        return SCMP_CMP_LT;
    case SeccompOp::LessEqual:
        return SCMP_CMP_LE;
    case SeccompOp::Equal:
        return SCMP_CMP_EQ;
    case SeccompOp::GreaterEqual:
        return SCMP_CMP_GE;
    case SeccompOp::GreaterThan:
        return SCMP_CMP_GT;
    case SeccompOp::MaskedEqual:
        return SCMP_CMP_MASKED_EQ;
    }
    return SCMP_CMP_EQ;
}

// "SCMP_ARCH_X86_64" -> libseccomp's token, or 0 when this libseccomp does not know it.
uint32_t arch_token(std::string_view name)
{
    constexpr std::string_view prefix = "SCMP_ARCH_";
    if (name.starts_with(prefix))
        name.remove_prefix(prefix.size());
    std::string lowered(name);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return seccomp_arch_resolve_name(lowered.c_str());
}

Result<void> add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, std::vector<scmp_arg_cmp> const& args)
{
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()), args.data());
    if (rc < 0)
        return Error::from_errno(-rc, "seccomp_rule_add");
    return {};
}

} // namespace

Result<SeccompAction> seccomp_action_from_name(std::string_view name)
{
    return lookup(action_names, name, "action");
}

Result<SeccompOp> seccomp_op_from_name(std::string_view name)
{
    return lookup(op_names, name, "operator");
}

Result<unsigned> seccomp_flag_from_name(std::string_view name)
{
    return lookup(flag_names, name, "flag");
}

Result<SeccompProgram> compile(SeccompProfile const& profile)
{
    SeccompProgram program;
    uint32_t default_action = libseccomp_action(profile.default_action, profile.default_errno);
    scmp_filter_ctx ctx = seccomp_init(default_action);
    if (!ctx)
        return Error::make("seccomp: invalid default action");
    ScopeGuard release([&] { seccomp_release(ctx); });

    for (auto const& name : profile.architectures) {
        uint32_t arch = arch_token(name);
        if (arch == 0)
            continue; // an architecture this libseccomp predates cannot run here either
        int rc = seccomp_arch_add(ctx, arch);
        if (rc < 0 && rc != -EEXIST)
            return Error::from_errno(-rc, fmt::format("seccomp: add architecture {}", name));
    }
    for (auto const& name : profile.flags)
        program.flags |= TRY(seccomp_flag_from_name(name));

    for (auto const& rule : profile.rules) {
        uint32_t action = libseccomp_action(rule.action, rule.errno_ret);
        // libseccomp refuses a rule that repeats the default action; it changes nothing.
        if (action == default_action)
            continue;
        if (rule.action == SeccompAction::Notify)
            program.needs_listener = true;
        std::vector<scmp_arg_cmp> args;
        args.reserve(rule.args.size());
        for (auto const& arg : rule.args)
            args.push_back(scmp_arg_cmp { arg.index, libseccomp_op(arg.op), arg.value, arg.value_two });
        // Conditions on distinct arguments are ANDed in one rule; several conditions on the
        // same argument cannot be, so they become one rule each (ORed), as runc does.
        bool repeated_index = false;
        for (size_t i = 0; i < args.size() && !repeated_index; ++i)
            for (size_t j = i + 1; j < args.size(); ++j)
                repeated_index |= args[i].arg == args[j].arg;
        for (auto const& name : rule.names) {
            int nr = seccomp_syscall_resolve_name(name.c_str());
            if (nr == __NR_SCMP_ERROR)
                continue; // unknown on these architectures: skipped like runc
            if (!repeated_index) {
                TRY(add_rule(ctx, action, nr, args).context("seccomp rule for {}", name));
                continue;
            }
            for (auto const& arg : args)
                TRY(add_rule(ctx, action, nr, { arg }).context("seccomp rule for {}", name));
        }
    }

    int memfd = ::memfd_create("cryo-seccomp", MFD_CLOEXEC);
    if (memfd < 0)
        return Error::from_errno("memfd_create");
    Fd bpf(memfd);
    int rc = seccomp_export_bpf(ctx, bpf.get());
    if (rc < 0)
        return Error::from_errno(-rc, "seccomp_export_bpf");
    if (::lseek(bpf.get(), 0, SEEK_SET) < 0)
        return Error::from_errno("lseek");
    auto bytes = TRY(sys::read_all(bpf));
    if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0)
        return Error::format("seccomp: exported filter has {} bytes", bytes.size());
    program.filter.resize(bytes.size() / sizeof(sock_filter));
    std::memcpy(program.filter.data(), bytes.data(), bytes.size());
    return program;
}

Result<Fd> load(SeccompProgram const& program)
{
    unsigned flags = program.flags;
    if (program.needs_listener) {
        // TSYNC and NEW_LISTENER exclude each other; the container init has one thread.
        flags &= ~static_cast<unsigned>(SECCOMP_FILTER_FLAG_TSYNC);
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    }
    return sys::seccomp_set_mode_filter(program.filter, flags);
}

} // namespace cryo::rootfs
