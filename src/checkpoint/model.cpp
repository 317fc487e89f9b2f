#include "checkpoint/model.h"

namespace cryo::checkpoint {

uint64_t Process::page_count() const
{
    uint64_t total = 0;
    for (auto const& run : pages)
        total += run.pages;
    return total;
}

char const* to_string(AreaKind kind)
{
    switch (kind) {
    case AreaKind::Anonymous:
        return "anonymous";
    case AreaKind::SharedAnonymous:
        return "shared-anonymous";
    case AreaKind::FilePrivate:
        return "file-private";
    case AreaKind::FileShared:
        return "file-shared";
    case AreaKind::Vdso:
        return "vdso";
    case AreaKind::Vvar:
        return "vvar";
    case AreaKind::VvarVclock:
        return "vvar-vclock";
    case AreaKind::Vsyscall:
        return "vsyscall";
    }
    return "?";
}

} // namespace cryo::checkpoint
