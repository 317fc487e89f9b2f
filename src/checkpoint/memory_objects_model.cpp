#include <fmt/format.h>

#include "checkpoint/memory_model.h"

namespace cryo::checkpoint {

char const* to_string(MemoryObjectKind kind)
{
    switch (kind) {
    case MemoryObjectKind::SharedAnonymous:
        return "shared-anonymous";
    case MemoryObjectKind::DeletedFile:
        return "deleted-file";
    case MemoryObjectKind::Memfd:
        return "memfd";
    }
    return "?";
}

bool memory_object_kind_from_string(std::string const& text, MemoryObjectKind& kind)
{
    for (auto k : { MemoryObjectKind::SharedAnonymous, MemoryObjectKind::DeletedFile, MemoryObjectKind::Memfd })
        if (text == to_string(k)) {
            kind = k;
            return true;
        }
    return false;
}

std::string memory_object_data_name(uint32_t id)
{
    return fmt::format("memory-{}.data", id);
}

} // namespace cryo::checkpoint
