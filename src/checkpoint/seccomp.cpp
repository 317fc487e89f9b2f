#include "checkpoint/seccomp.h"

#include <algorithm>
#include <cstring>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#include "checkpoint/remote.h"
#include "sys/seccomp_ptrace.h"

namespace cryo::checkpoint {

namespace {

constexpr uint64_t kCapSysAdmin = 1ULL << 21; // CAP_SYS_ADMIN
constexpr uint32_t kSeccompRetUserNotif = 0x7fc00000U; // SECCOMP_RET_USER_NOTIF
constexpr uint32_t kSeccompRetActionFull = 0xffff0000U;
constexpr uint64_t kKnownFlags = SECCOMP_FILTER_FLAG_LOG; // the only flag the kernel reports

// The ptrace options a Tracee was attached with (the mapping of Tracee::seize in
// sys/tracee.cpp): PTRACE_SETOPTIONS replaces the whole set, so adding
// PTRACE_O_SUSPEND_SECCOMP must repeat them.
unsigned long ptrace_options(sys::Tracee::Options const& o)
{
    unsigned long out = PTRACE_O_TRACESYSGOOD;
    if (o.exit_kill)
        out |= PTRACE_O_EXITKILL;
    if (o.trace_clone)
        out |= PTRACE_O_TRACECLONE;
    if (o.trace_fork)
        out |= PTRACE_O_TRACEFORK;
    return out;
}

SeccompFilter to_model(std::vector<sock_filter> const& program, uint64_t flags)
{
    SeccompFilter f;
    f.log = (flags & SECCOMP_FILTER_FLAG_LOG) != 0;
    for (auto const& i : program)
        f.program.push_back({ i.code, i.jt, i.jf, i.k });
    return f;
}

std::vector<sock_filter> to_kernel(SeccompFilter const& filter)
{
    std::vector<sock_filter> out;
    for (auto const& i : filter.program)
        out.push_back({ i.code, i.jt, i.jf, i.k });
    return out;
}

} // namespace

SeccompTable share_seccomp_chains(std::vector<std::vector<SeccompFilter>> const& chains)
{
    SeccompTable table;
    for (size_t t = 0; t < chains.size(); ++t) {
        auto const& chain = chains[t];
        std::vector<uint32_t> indices;
        for (size_t i = 0; i < chain.size(); ++i) {
            // Shared with an earlier thread whose chain agrees on positions 0..i.
            std::optional<uint32_t> shared;
            for (size_t u = 0; u < t && !shared; ++u) {
                auto const& other = chains[u];
                if (other.size() > i
                    && std::equal(chain.begin(), chain.begin() + static_cast<long>(i) + 1, other.begin()))
                    shared = table.chains[u][i];
            }
            if (!shared) {
                table.filters.push_back(chain[i]);
                shared = static_cast<uint32_t>(table.filters.size() - 1);
            }
            indices.push_back(*shared);
        }
        table.chains.push_back(std::move(indices));
    }
    return table;
}

std::string seccomp_filter_problem(SeccompFilter const& filter)
{
    for (auto const& i : filter.program)
        if (i.code == (BPF_RET | BPF_K) && (i.k & kSeccompRetActionFull) == kSeccompRetUserNotif)
            return "it returns SECCOMP_RET_USER_NOTIF (a user-space notifier, which a restore cannot "
                   "reconnect)";
    return {};
}

Result<std::vector<SeccompStep>> plan_seccomp(Process const& p)
{
    std::vector<SeccompStep> steps;
    auto const& filters = p.state.seccomp_filters;
    bool any = false;
    for (size_t t = 0; t < p.threads.size(); ++t) {
        auto const& s = p.threads[t].state;
        any |= s.seccomp_mode != SeccompMode::Disabled;
        if (s.seccomp_mode != SeccompMode::Filter && !s.seccomp_chain.empty())
            return Error::format("thread {}: seccomp filters without filter mode", p.threads[t].tid);
        if (s.seccomp_mode == SeccompMode::Filter && s.seccomp_chain.empty())
            return Error::format("thread {}: seccomp filter mode without filters", p.threads[t].tid);
        for (auto index : s.seccomp_chain)
            if (index >= filters.size())
                return Error::format("thread {}: seccomp filter {} is not in the image", p.threads[t].tid, index);
    }
    if (!any)
        return steps;

    // The prefix that every thread's chain starts with.
    size_t common = p.threads.empty() ? 0 : p.threads[0].state.seccomp_chain.size();
    for (auto const& t : p.threads) {
        auto const& lead = p.threads[0].state.seccomp_chain;
        auto const& chain = t.state.seccomp_chain;
        size_t n = 0;
        while (n < common && n < chain.size() && chain[n] == lead[n])
            ++n;
        common = n;
    }
    bool tsync = p.threads.size() > 1;
    for (size_t i = 0; i < common; ++i)
        steps.push_back({ .thread = 0,
                          .mode = SeccompMode::Filter,
                          .filter = p.threads[0].state.seccomp_chain[i],
                          .tsync = tsync });
    for (size_t t = 0; t < p.threads.size(); ++t) {
        auto const& chain = p.threads[t].state.seccomp_chain;
        for (size_t i = common; i < chain.size(); ++i)
            steps.push_back({ .thread = t, .mode = SeccompMode::Filter, .filter = chain[i], .tsync = false });
    }
    for (size_t t = 0; t < p.threads.size(); ++t)
        if (p.threads[t].state.seccomp_mode == SeccompMode::Strict)
            steps.push_back({ .thread = t, .mode = SeccompMode::Strict, .filter = 0, .tsync = false });
    return steps;
}

SeccompPoint seccomp_point(Process const& p)
{
    auto const& c = p.credentials;
    return c.no_new_privs || (c.cap_effective & kCapSysAdmin) ? SeccompPoint::AfterCredentials
                                                              : SeccompPoint::BeforeCredentials;
}

Result<void> collect_seccomp(FrozenProcess& frozen, Process& p, sys::Tracee::Options trace_options)
{
    std::vector<sys::SeccompStatus> statuses;
    bool any = false;
    for (auto& t : frozen.threads) {
        statuses.push_back(TRY(sys::read_seccomp_status(frozen.pid, t.tid())));
        any |= statuses.back().mode != 0;
    }
    if (!any)
        return {};
    // From here on cryo's remote syscalls (signal actions, rlimits, scratch pages ...) pass
    // whatever the filters say; the tree never sees the difference.
    for (auto& t : frozen.threads)
        TRY(sys::ptrace_suspend_seccomp(t.tid(), ptrace_options(trace_options)).context("thread {}", t.tid()));

    std::vector<std::vector<SeccompFilter>> chains;
    for (size_t i = 0; i < frozen.threads.size(); ++i) {
        int tid = frozen.threads[i].tid();
        std::vector<SeccompFilter> chain;
        if (statuses[i].mode == 2) {
            for (unsigned index = 0;; ++index) {
                auto program = TRY(sys::ptrace_seccomp_filter(tid, index)
                                       .context("thread {}: read seccomp filter {} (cryo must not run under seccomp "
                                                "itself)",
                                                tid, index));
                if (!program)
                    break;
                uint64_t flags = TRY(sys::ptrace_seccomp_flags(tid, index).context("thread {}", tid));
                if (flags & ~kKnownFlags)
                    return Error::format("thread {}: seccomp filter {} has install flags {:#x} that cannot be "
                                         "restored",
                                         tid, index, flags & ~kKnownFlags);
                chain.push_back(to_model(*program, flags));
                if (auto problem = seccomp_filter_problem(chain.back()); !problem.empty())
                    return Error::format("thread {}: seccomp filter {} cannot be checkpointed: {}", tid, index,
                                         problem);
            }
            // A filter attached between the two reads is impossible (the tree is stopped);
            // this catches a kernel whose indices mean something else.
            if (chain.size() != static_cast<size_t>(statuses[i].filters))
                return Error::format("thread {}: read {} seccomp filters, /proc says {}", tid, chain.size(),
                                     statuses[i].filters);
        }
        p.threads.at(i).state.seccomp_mode = static_cast<SeccompMode>(statuses[i].mode);
        chains.push_back(std::move(chain));
    }
    auto table = share_seccomp_chains(chains);
    p.state.seccomp_filters = std::move(table.filters);
    for (size_t i = 0; i < table.chains.size(); ++i)
        p.threads.at(i).state.seccomp_chain = std::move(table.chains[i]);
    return {};
}

Result<void> restore_seccomp(Process const& p, sys::Tracee& leader, std::vector<sys::Tracee>& threads,
                             sys::Tracee::Options trace_options, SeccompPoint point)
{
    auto steps = TRY(plan_seccomp(p));
    if (steps.empty() || seccomp_point(p) != point)
        return {};
    auto thread_at = [&](size_t i) -> sys::Tracee& { return i == 0 ? leader : threads.at(i - 1); };
    if (threads.size() + 1 != p.threads.size())
        return Error::format("{} threads restored, the image has {}", threads.size() + 1, p.threads.size());
    // Installed filters must not judge the remote syscalls still to come (credentials,
    // unmapping the scratch pages): suspend them for cryo until it lets the threads go.
    for (size_t i = 0; i < p.threads.size(); ++i)
        TRY(sys::ptrace_suspend_seccomp(thread_at(i).tid(), ptrace_options(trace_options))
                .context("thread {}", p.threads[i].tid));

    // struct sock_fprog, then the program, in a scratch area of the process's own.
    size_t longest = 0;
    for (auto const& f : p.state.seccomp_filters)
        longest = std::max(longest, f.program.size());
    uint64_t size = (sizeof(struct sock_fprog) + longest * sizeof(sock_filter) + 4095) & ~uint64_t { 4095 };
    auto scratch = TRY(RemoteScratch::map(leader, std::max<uint64_t>(size, 4096)));
    for (auto const& step : steps) {
        auto& t = thread_at(step.thread);
        int tid = p.threads[step.thread].tid;
        if (step.mode == SeccompMode::Strict) {
            TRY(t.syscall_checked("seccomp SECCOMP_SET_MODE_STRICT", SYS_seccomp, { SECCOMP_SET_MODE_STRICT, 0, 0 })
                    .context("thread {}", tid));
            continue;
        }
        auto const& filter = p.state.seccomp_filters.at(step.filter);
        auto program = to_kernel(filter);
        struct sock_fprog header { };
        header.len = static_cast<unsigned short>(program.size());
        // SAFETY: an address in the tracee, kept as a pointer-sized number for the kernel.
        header.filter = reinterpret_cast<sock_filter*>(scratch.address() + sizeof header);
        TRY(scratch.write(0, &header, sizeof header));
        TRY(scratch.write(sizeof header, program.data(), program.size() * sizeof(sock_filter)));
        uint64_t flags = (step.tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0) | (filter.log ? SECCOMP_FILTER_FLAG_LOG : 0);
        uint64_t r = TRY(t.syscall_checked("seccomp SECCOMP_SET_MODE_FILTER", SYS_seccomp,
                                           { SECCOMP_SET_MODE_FILTER, flags, scratch.address() })
                             .context("thread {}: seccomp filter {}", tid, step.filter));
        // TSYNC names the thread that could not be synchronised instead of failing.
        if (r != 0)
            return Error::format("thread {}: seccomp filter {}: thread {} could not take it (TSYNC)", tid, step.filter,
                                 r);
    }
    TRY(scratch.unmap());
    return {};
}

} // namespace cryo::checkpoint
