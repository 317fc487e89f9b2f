// Dump side of open files. collect_open_files (per process, from collect.cpp) reads
// /proc/PID/fd and fdinfo, classifies every fd, refuses what cryo cannot restore with one
// error naming the fd and what it is, and groups fds of the process that share one file
// description (kcmp). finish_open_files (per tree, from dump.cpp, before any page is
// written) merges descriptions shared between processes, numbers them tree-wide, checks
// socket peers, and saves pipe data, deleted files, memfds and socket queues into the
// image. Nothing here consumes or changes the processes' state for good: data is copied
// with tee(2) and MSG_PEEK, and a changed SO_PEEK_OFF is put back on every path.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "base/error.h"
#include "checkpoint/image.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

class SocketDefaults;

// `socket_defaults`: fresh sockets' option values (socket_options.h), kept by the caller so
// that every process of a dump shares them. `runtime_stdio` (a container's dump, else null):
// descriptions of those files get their FileDescription::stdio_mask.
Result<void> collect_open_files(int pid, Process& process, SocketDefaults& socket_defaults,
                                RuntimeStdio const* runtime_stdio = nullptr);
// external_unix (dump --ext-unix-sk): a unix socket connected to a named socket outside the
// tree is kept with that name (FileDescription::external_peer) instead of refused.
Result<void> finish_open_files(ProcessTree& tree, ImageWriter& image, bool external_unix = false);

// Pure grouping (unit-tested): candidates with different keys never share a description;
// for equal keys, `same(a, b)` decides. Returns the group of each candidate, groups numbered
// from 0 in order of first appearance.
struct DescriptionCandidate {
    uint64_t key_a { 0 }; // e.g. device
    uint64_t key_b { 0 }; // e.g. inode
};
Result<std::vector<uint32_t>> group_descriptions(std::vector<DescriptionCandidate> const& candidates,
                                                 std::function<Result<bool>(size_t, size_t)> const& same);

// Whether a character device may be reopened by path: null, zero, full, random, urandom,
// /dev/tty, virtual consoles and pseudo-terminals.
bool is_supported_char_device(unsigned major, unsigned minor);

} // namespace cryo::checkpoint
