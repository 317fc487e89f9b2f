#include "sys/loop.h"

#include <cerrno>
#include <cstring>
#include <linux/loop.h>
#include <sys/ioctl.h>

#include "sys/file.h"

namespace cryo::sys {

Result<LoopDevice> loop_attach(FdRef backing, LoopOptions const& options)
{
    auto control = TRY(open("/dev/loop-control", O_RDWR | O_CLOEXEC).context("loop device"));
    loop_config config;
    std::memset(&config, 0, sizeof config);
    config.fd = static_cast<uint32_t>(backing.get());
    config.block_size = 0;
    if (options.autoclear)
        config.info.lo_flags |= LO_FLAGS_AUTOCLEAR;
    if (options.read_only)
        config.info.lo_flags |= LO_FLAGS_READ_ONLY;
    if (options.direct_io)
        config.info.lo_flags |= LO_FLAGS_DIRECT_IO;
    // GET_FREE and CONFIGURE are two steps: a concurrent losetup may take the device in
    // between, which CONFIGURE reports as EBUSY. A bounded number of retries.
    for (int attempt = 0; attempt < 64; ++attempt) {
        int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
        if (number < 0)
            return Error::from_errno("loop device: LOOP_CTL_GET_FREE");
        auto path = fmt::format("/dev/loop{}", number);
        int flags = (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
        auto device = open(path, flags);
        if (device.is_error()) {
            // udev may not have made the node yet on a host with devtmpfs: it appears with the
            // device, so ENOENT here is a real error, not a race.
            return device.release_error().add_context("loop device");
        }
        // SAFETY: LOOP_CONFIGURE reads a struct loop_config that lives on our stack for the call.
        if (::ioctl(device->get(), LOOP_CONFIGURE, &config) == 0)
            return LoopDevice { .fd = device.release_value(), .path = path };
        if (errno != EBUSY)
            return Error::from_errno(fmt::format("loop device: LOOP_CONFIGURE {}", path));
    }
    return Error::make("loop device: every free device was taken by someone else (64 tries)");
}

} // namespace cryo::sys
