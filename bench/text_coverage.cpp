// text_coverage: which functions of a program a command executes, in every process of its
// tree (forks and clones included), for bench/text_order.sh. Runs CMD under ptrace; in each
// process that execs TARGET it puts an int3 on the entry of every function listed in SYMS,
// and on each first hit records the name, puts the original byte back and lets the process
// go on: each function costs one trap per process. Other programs (a shell driving TARGET,
// the container's own processes) run traced but untouched, so their children are followed.
//
//   text_coverage SYMS OUT TARGET CMD ARG...
//
// SYMS: "OFFSET NAME" lines (hex offsets in TARGET, as `nm` prints for a PIE). OUT gets one
// name per executed function, in the order of their first call.

#include "ptrace_tree.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <signal.h>
#include <string>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <unistd.h>
#include <vector>

namespace {

struct Breakpoint {
    std::vector<std::string> names;
    unsigned char original { 0 };
};

unsigned long exe_base(pid_t pid)
{
    std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
    std::string line;
    // The first mapping is the executable's first segment (offset 0) for a PIE.
    if (std::getline(maps, line))
        return std::stoul(line.substr(0, line.find('-')), nullptr, 16);
    return 0;
}

bool poke_byte(pid_t pid, unsigned long address, unsigned char value, unsigned char* old)
{
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, pid, reinterpret_cast<void*>(address), nullptr);
    if (errno != 0)
        return false;
    if (old)
        *old = static_cast<unsigned char>(word & 0xff);
    long patched = (word & ~0xffL) | value;
    return ptrace(PTRACE_POKETEXT, pid, reinterpret_cast<void*>(address), reinterpret_cast<void*>(patched)) == 0;
}

} // namespace

int main(int argc, char** argv)
{
    if (argc < 5) {
        fputs("usage: text_coverage SYMS OUT TARGET CMD ARG...\n", stderr);
        return 2;
    }
    std::map<unsigned long, Breakpoint> by_offset;
    {
        std::ifstream syms(argv[1]);
        std::string offset, name;
        while (syms >> offset >> name)
            by_offset[std::stoul(offset, nullptr, 16)].names.push_back(name);
    }
    std::ofstream out(argv[2]);
    char target[4096];
    if (!realpath(argv[3], target)) {
        perror(argv[3]);
        return 2;
    }

    long options
        = PTRACE_O_TRACEEXEC | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL;
    pid_t child = ptrace_tree_start(argv + 4, options, PTRACE_CONT);
    if (child < 0)
        return 2;

    // Load base of TARGET per process that runs it (0: not TARGET, left alone).
    std::map<pid_t, unsigned long> base_of;
    std::set<unsigned long> seen;
    std::set<pid_t> known { child };
    auto on_stop = [&](pid_t pid, int signal, int event) {
        if (signal == SIGTRAP && event == PTRACE_EVENT_EXEC) {
            base_of[pid] = 0;
            char exe[4096];
            auto link = "/proc/" + std::to_string(pid) + "/exe";
            ssize_t n = readlink(link.c_str(), exe, sizeof exe - 1);
            if (n > 0 && std::string(exe, static_cast<size_t>(n)) == target) {
                unsigned long base = exe_base(pid);
                for (auto& [offset, bp] : by_offset)
                    poke_byte(pid, base + offset, 0xcc, &bp.original);
                base_of[pid] = base;
            }
            ptrace(PTRACE_CONT, pid, nullptr, nullptr);
            return;
        }
        if (signal == SIGTRAP && event != 0) {
            // fork, vfork or clone: the new task has the parent's memory (or shares it).
            unsigned long message = 0;
            ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &message);
            base_of[static_cast<pid_t>(message)] = base_of[pid];
            ptrace(PTRACE_CONT, pid, nullptr, nullptr);
            return;
        }
        if (signal == SIGSTOP && !known.contains(pid)) {
            known.insert(pid); // a new task's first stop
            ptrace(PTRACE_CONT, pid, nullptr, nullptr);
            return;
        }
        unsigned long base = base_of[pid];
        if (signal == SIGTRAP && base == 0) {
            // A new task can stop here before its parent's fork event was read.
            char exe[4096];
            auto link = "/proc/" + std::to_string(pid) + "/exe";
            ssize_t n = readlink(link.c_str(), exe, sizeof exe - 1);
            if (n > 0 && std::string(exe, static_cast<size_t>(n)) == target)
                base = base_of[pid] = exe_base(pid);
        }
        if (signal == SIGTRAP && base != 0) {
            user_regs_struct regs {};
            ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
            unsigned long address = regs.rip - 1;
            auto it = by_offset.find(address - base);
            if (address >= base && it != by_offset.end()) {
                if (seen.insert(it->first).second)
                    for (auto const& name : it->second.names)
                        out << name << '\n';
                poke_byte(pid, address, it->second.original, nullptr);
                regs.rip = address;
                ptrace(PTRACE_SETREGS, pid, nullptr, &regs);
                ptrace(PTRACE_CONT, pid, nullptr, nullptr);
                return;
            }
        }
        ptrace(PTRACE_CONT, pid, nullptr, reinterpret_cast<void*>(static_cast<long>(signal)));
    };
    return ptrace_tree_wait(child, on_stop, [&](pid_t pid) { base_of.erase(pid); });
}
