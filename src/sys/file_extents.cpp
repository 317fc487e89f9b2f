#include "sys/file_extents.h"

#include <algorithm>
#include <cerrno>
#include <unistd.h>

namespace cryo::sys {

Result<std::vector<std::pair<uint64_t, uint64_t>>> data_extents(FdRef fd, uint64_t size)
{
    std::vector<std::pair<uint64_t, uint64_t>> out;
    uint64_t at = 0;
    while (at < size) {
        off_t data = ::lseek(fd.get(), static_cast<off_t>(at), SEEK_DATA);
        if (data < 0) {
            if (errno == ENXIO)
                break; // no data after `at`
            if (errno == EINVAL && out.empty()) {
                out.emplace_back(0, size); // no SEEK_DATA here: everything is data
                return out;
            }
            return Error::from_errno("lseek SEEK_DATA");
        }
        if (static_cast<uint64_t>(data) >= size)
            break;
        off_t hole = ::lseek(fd.get(), data, SEEK_HOLE);
        if (hole < 0)
            return Error::from_errno("lseek SEEK_HOLE");
        uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
        out.emplace_back(static_cast<uint64_t>(data), end - static_cast<uint64_t>(data));
        at = end;
    }
    return out;
}

} // namespace cryo::sys
