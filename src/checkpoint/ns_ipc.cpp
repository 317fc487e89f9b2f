// Dump and restore of SysV IPC namespaces (see checkpoint/ns_state.h). Every SysV call acts on
// the ipc namespace of the calling task, so the work is done by a forked child that joined the
// target namespace (cryo's own threads never move) and sends an error back over a pipe. The
// restore reads and checks the whole image in the parent first; the child only applies it.
#include <algorithm>
#include <cstring>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/scope_guard.h"
#include "checkpoint/crc32c.h"
#include "checkpoint/ns_state.h"
#include "checkpoint/ns_state_model.h"
#include "sys/clone.h"
#include "sys/file.h"
#include "sys/file_kinds.h"
#include "sys/ns.h"
#include "sys/process.h"
#include "sys/sysvipc.h"

namespace cryo::checkpoint {

namespace {

// An Error crosses the pipe as its errno and its frames, innermost first, NUL-separated.
std::string serialize_error(Error const& error)
{
    std::string out = std::to_string(error.code());
    for (auto const& frame : error.frames()) {
        out += '\0';
        out += frame;
    }
    return out;
}

Error deserialize_error(std::string const& text)
{
    std::vector<std::string> parts;
    size_t start = 0;
    for (;;) {
        auto end = text.find('\0', start);
        parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    int code = std::atoi(parts[0].c_str());
    if (parts.size() < 2)
        return Error::make("the namespace helper process failed without a message");
    auto error = code ? Error::from_errno(code, parts[1]) : Error::make(parts[1]);
    for (size_t i = 2; i < parts.size(); ++i)
        error.add_context(parts[i]);
    return error;
}

// Runs `work` in a child forked with glibc's fork (so malloc stays usable there even when
// the caller has threads), after the child joined the ipc namespace of `pid`.
template<typename Work>
Result<void> run_in_ipc_namespace(int pid, Work&& work)
{
    auto ns = TRY(sys::open_ns(pid, "ipc").context("open ipc namespace of {}", pid));
    auto [read_end, write_end] = TRY(sys::pipe(O_CLOEXEC));
    pid_t child = ::fork();
    if (child < 0)
        return Error::from_errno("fork");
    if (child == 0) {
        read_end.reset();
        auto result = sys::setns(ns, CLONE_NEWIPC).context("join ipc namespace of {}", pid);
        // Hold no fd of the caller's but the pipe: a copy of, say, a FIFO's write end would
        // delay the EOF someone waits for. (No destructor runs here: the child ends in _exit.)
        unsigned keep = static_cast<unsigned>(write_end.get());
        if (result && keep > 3)
            result = sys::close_range(3, keep - 1, 0);
        if (result)
            result = sys::close_range(keep + 1, ~0u, 0);
        if (result)
            result = work();
        if (result)
            sys::exit_now(0);
        (void)sys::write_all(write_end, serialize_error(result.error()));
        sys::exit_now(1);
    }
    write_end.reset();
    auto message = sys::read_all(read_end);
    auto status = TRY(sys::waitpid(child));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return {};
    if (message && !message->empty())
        return deserialize_error(*message);
    return Error::format("the ipc namespace helper process died (status {:#x})", status);
}

std::string trim(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

std::string shm_file_name(int id)
{
    return fmt::format("ipc-shm-{}.img", id);
}

IpcOwner owner_of(struct ipc_perm const& perm)
{
    return { .key = perm.__key,
             .uid = perm.uid,
             .gid = perm.gid,
             .cuid = perm.cuid,
             .cgid = perm.cgid,
             .mode = perm.mode & 0777u };
}

// ---- dump (in the child) ----

// Writes a segment's contents to `path` (temp + fsync + rename) as a sparse file: pages never
// touched are holes, neither read (reading would allocate them, in the container's segment
// too) nor written. Returns the CRC-32C of all `size` bytes, holes as zeros.
Result<uint32_t> write_shm_image(sys::ShmAttachment const& attachment, uint64_t size, std::string const& path)
{
    std::vector<sys::DataRange> ranges { { 0, size } };
    if (auto file = attachment.open_file(size))
        ranges = TRY(sys::data_ranges(*file, size));
    auto const* bytes = static_cast<uint8_t const*>(attachment.address());
    auto tmp = path + ".tmp";
    auto out = TRY(sys::open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    ArmedScopeGuard remove_tmp([&] { (void)sys::unlink(tmp); });
    TRY(sys::ftruncate(out, size).context("truncate {}", tmp));
    static std::vector<uint8_t> const zeros(1 << 20);
    uint32_t crc = 0;
    auto zero_crc = [&](uint64_t length) {
        for (; length > 0; length -= std::min<uint64_t>(length, zeros.size()))
            crc = crc32c_update(crc, zeros.data(), std::min<uint64_t>(length, zeros.size()));
    };
    uint64_t position = 0;
    for (auto const& range : ranges) {
        zero_crc(range.offset - position);
        crc = crc32c_update(crc, bytes + range.offset, range.length);
        TRY(sys::pwrite_all(out, bytes + range.offset, range.length, range.offset).context("write {}", tmp));
        position = range.offset + range.length;
    }
    zero_crc(size - position);
    if (::fsync(out.get()) < 0)
        return Error::from_errno(fmt::format("fsync {}", tmp));
    if (::rename(tmp.c_str(), path.c_str()) < 0)
        return Error::from_errno(fmt::format("rename {} to {}", tmp, path));
    remove_tmp.disarm();
    return crc;
}

Result<void> dump_in_namespace(std::string const& dir)
{
    IpcState state;
    for (auto const& name : kIpcSysctls) {
        auto value = TRY(sys::read_file("/proc/sys/kernel/" + name).context("read sysctl kernel.{}", name));
        state.sysctls.emplace_back(name, trim(value));
    }

    auto shm_table = TRY(sys::read_file("/proc/sysvipc/shm"));
    for (auto const& entry : TRY(parse_sysvipc(shm_table, "shmid").context("/proc/sysvipc/shm"))) {
        auto ds = TRY(sys::shm_stat(entry.id).context("dump shm {}", entry.id));
        ShmSegment s;
        s.id = entry.id;
        s.owner = owner_of(ds.shm_perm);
        s.size = ds.shm_segsz;
        s.destroyed = (ds.shm_perm.mode & SHM_DEST) != 0;
        s.locked = (ds.shm_perm.mode & SHM_LOCKED) != 0;
        s.data_file = shm_file_name(s.id);
        // Read-only attach: linux attaches segments already marked for removal too (shmat(2)).
        auto attachment = TRY(sys::ShmAttachment::attach(s.id, SHM_RDONLY).context("dump shm {}", s.id));
        s.crc32c = TRY(write_shm_image(attachment, s.size, dir + "/" + s.data_file).context("dump shm {}", s.id));
        state.shm.push_back(std::move(s));
    }

    auto sem_table = TRY(sys::read_file("/proc/sysvipc/sem"));
    for (auto const& entry : TRY(parse_sysvipc(sem_table, "semid").context("/proc/sysvipc/sem"))) {
        auto ds = TRY(sys::sem_stat(entry.id).context("dump semaphores {}", entry.id));
        SemaphoreSet s;
        s.id = entry.id;
        s.owner = owner_of(ds.sem_perm);
        s.values = TRY(sys::sem_get_all(entry.id, ds.sem_nsems).context("dump semaphores {}", entry.id));
        state.semaphores.push_back(std::move(s));
    }

    auto msg_table = TRY(sys::read_file("/proc/sysvipc/msg"));
    for (auto const& entry : TRY(parse_sysvipc(msg_table, "msqid").context("/proc/sysvipc/msg"))) {
        auto ds = TRY(sys::msg_stat(entry.id).context("dump queue {}", entry.id));
        MessageQueue q;
        q.id = entry.id;
        q.owner = owner_of(ds.msg_perm);
        q.max_bytes = ds.msg_qbytes;
        // No message is longer than all the queue's bytes together.
        size_t max_size = std::max<size_t>(ds.__msg_cbytes, 1);
        for (size_t i = 0; i < ds.msg_qnum; ++i) {
            auto message = TRY(sys::msg_copy(entry.id, i, max_size).context("dump queue {}", entry.id));
            if (!message)
                return Error::format("dump queue {}: message {} of {} vanished", entry.id, i, ds.msg_qnum);
            q.messages.push_back({ .type = message->type, .text = std::move(message->text) });
        }
        state.queues.push_back(std::move(q));
    }

    TRY(sys::write_file_atomic(dir + "/" + kIpcFile, encode_ipc_state(state), 0600));
    return {};
}

// ---- restore (in the child) ----

// Runs `work` with effective uid/gid `uid`/`gid`, then turns back into root (the kernel gives
// the effective capabilities back on the return to euid 0, see capabilities(7)). The child is
// single-threaded, so the set*id calls change nothing but this task.
template<typename Work>
auto as_user(uid_t uid, gid_t gid, Work&& work) -> decltype(work())
{
    if (::setresgid(-1, gid, -1) < 0)
        return Error::from_errno(fmt::format("setresgid {}", gid));
    if (::setresuid(-1, uid, -1) < 0) {
        (void)::setresgid(-1, 0, -1);
        return Error::from_errno(fmt::format("setresuid {}", uid));
    }
    auto result = work();
    if (::setresuid(-1, 0, -1) < 0 || ::setresgid(-1, 0, -1) < 0)
        return Error::from_errno("return to uid 0");
    return result;
}

// In an ipc namespace owned by another user namespace, its sysctls belong to that namespace's
// root and only it may write them, whatever our capabilities (ipc_permissions() in
// ipc/ipc_sysctl.c): write as the file's owner.
Result<void> write_sysctl(std::string const& name, std::string const& value)
{
    auto path = "/proc/sys/kernel/" + name;
    auto st = TRY(sys::stat(path).context("write sysctl kernel.{}", name));
    auto write = [&] { return sys::write_file(path, value); };
    auto written = st.st_uid == 0 && st.st_gid == 0 ? write() : as_user(st.st_uid, st.st_gid, write);
    return std::move(written).context("write sysctl kernel.{}={}", name, value);
}

// Makes the next object of its kind get `id` (kernel.{shm,sem,msg}_next_id, linux 3.4+ with
// CONFIG_CHECKPOINT_RESTORE; the kernel resets it to -1 after one use).
Result<void> set_next_id(char const* kind, int id)
{
    // Not as the namespace's root: these files are writable only with CAP_CHECKPOINT_RESTORE
    // (or CAP_SYS_ADMIN) over the namespace, which root has and loses with another euid.
    auto name = fmt::format("{}_next_id", kind);
    return sys::write_file("/proc/sys/kernel/" + name, std::to_string(id))
        .context("write sysctl kernel.{}={}", name, id);
}

Result<void> check_id(int got, int wanted)
{
    if (got != wanted)
        return Error::format("created with id {} instead (is the namespace fresh?)", got);
    return {};
}

template<typename Ds>
void set_owner(Ds& ds, IpcOwner const& owner)
{
    // The perm member is shm_perm, sem_perm or msg_perm: all struct ipc_perm.
    auto& perm = [&]() -> struct ipc_perm&
    {
        if constexpr (std::is_same_v<Ds, struct shmid_ds>)
            return ds.shm_perm;
        else if constexpr (std::is_same_v<Ds, struct semid_ds>)
            return ds.sem_perm;
        else
            return ds.msg_perm;
    }
    ();
    perm.uid = owner.uid;
    perm.gid = owner.gid;
    perm.mode = owner.mode;
}

// Reads the data ranges of `file` into the segment; its holes are left alone, so pages that
// were never touched stay unallocated in the new segment too.
Result<void> fill_segment(FdRef file, uint8_t* segment, uint64_t size)
{
    for (auto const& range : TRY(sys::data_ranges(file, size))) {
        for (uint64_t done = 0; done < range.length;) {
            size_t n = TRY(sys::pread(file, segment + range.offset + done,
                                      std::min<uint64_t>(range.length - done, 1 << 20), range.offset + done));
            if (n == 0)
                return Error::format("short read at {} of {} bytes", range.offset + done, size);
            done += n;
        }
    }
    return {};
}

Result<void> restore_shm(ShmSegment const& s, std::string const& dir)
{
    TRY(set_next_id("shm", s.id));
    // Created as its creator: the only way to set cuid/cgid.
    int id = TRY(as_user(s.owner.cuid, s.owner.cgid, [&] {
        return sys::shmget(s.owner.key, s.size, IPC_CREAT | IPC_EXCL | static_cast<int>(s.owner.mode));
    }));
    TRY(check_id(id, s.id));
    {
        // Straight from the file into the segment: no copy of a large segment in our memory.
        auto file = TRY(sys::open(dir + "/" + s.data_file, O_RDONLY));
        auto attachment = TRY(sys::ShmAttachment::attach(id, 0));
        TRY(fill_segment(file, static_cast<uint8_t*>(attachment.address()), s.size).context("read {}", s.data_file));
    }
    auto ds = TRY(sys::shm_stat(id));
    set_owner(ds, s.owner);
    TRY(sys::shm_set(id, ds));
    if (s.locked)
        TRY(sys::shm_lock(id));
    return {};
}

Result<void> restore_semaphores(SemaphoreSet const& s)
{
    TRY(set_next_id("sem", s.id));
    int id = TRY(as_user(s.owner.cuid, s.owner.cgid, [&] {
        return sys::semget(s.owner.key, static_cast<int>(s.values.size()),
                           IPC_CREAT | IPC_EXCL | static_cast<int>(s.owner.mode));
    }));
    TRY(check_id(id, s.id));
    TRY(sys::sem_set_all(id, s.values));
    auto ds = TRY(sys::sem_stat(id));
    set_owner(ds, s.owner);
    TRY(sys::sem_set(id, ds));
    return {};
}

Result<void> restore_queue(MessageQueue const& q, size_t msgmax)
{
    // A new queue takes kernel.msgmnb as its size, and raising msg_qbytes above msgmnb later
    // would need CAP_SYS_RESOURCE: so msgmnb is the queue's size while it is made.
    TRY(write_sysctl("msgmnb", std::to_string(q.max_bytes)));
    size_t longest = 0;
    for (auto const& m : q.messages)
        longest = std::max(longest, m.text.size());
    TRY(write_sysctl("msgmax", std::to_string(std::max(longest, msgmax))));
    TRY(set_next_id("msg", q.id));
    int id = TRY(as_user(q.owner.cuid, q.owner.cgid, [&] {
        return sys::msgget(q.owner.key, IPC_CREAT | IPC_EXCL | static_cast<int>(q.owner.mode));
    }));
    TRY(check_id(id, q.id));
    for (size_t i = 0; i < q.messages.size(); ++i)
        TRY(sys::msg_send(id, q.messages[i].type, q.messages[i].text).context("message {}", i));
    auto ds = TRY(sys::msg_stat(id));
    set_owner(ds, q.owner);
    ds.msg_qbytes = q.max_bytes;
    TRY(sys::msg_set(id, ds));
    return {};
}

Result<void> restore_in_namespace(IpcState const& state, std::string const& dir)
{
    // A failed creation leaves its *_next_id armed, and the kernel refuses to write -1 into
    // it: an object made and removed at once uses it up, so the namespace's next object is
    // not silently given a recorded id.
    ArmedScopeGuard disarm([] {
        for (auto kind : { "shm", "sem", "msg" }) {
            auto armed = sys::read_file(fmt::format("/proc/sys/kernel/{}_next_id", kind));
            if (!armed || trim(*armed) == "-1")
                continue;
            if (kind == std::string_view("shm")) {
                if (auto id = sys::shmget(IPC_PRIVATE, 1, 0600))
                    (void)sys::shm_remove(*id);
            } else if (kind == std::string_view("sem")) {
                if (auto id = sys::semget(IPC_PRIVATE, 1, 0600))
                    (void)sys::sem_remove(*id);
            } else if (auto id = sys::msgget(IPC_PRIVATE, 0600)) {
                (void)sys::msg_remove(*id);
            }
        }
    });
    std::string msgmnb, msgmax;
    for (auto const& [name, value] : state.sysctls) {
        if (name == "msgmnb")
            msgmnb = value;
        else if (name == "msgmax")
            msgmax = value;
        else if (name != "shm_rmid_forced" || value == "0")
            TRY(write_sysctl(name, value));
    }
    for (auto const& s : state.shm)
        TRY(restore_shm(s, dir).context("restore shm {}", s.id));
    for (auto const& s : state.semaphores)
        TRY(restore_semaphores(s).context("restore semaphores {}", s.id));
    size_t default_msgmax = msgmax.empty() ? 8192 : std::stoul(msgmax);
    for (auto const& q : state.queues)
        TRY(restore_queue(q, default_msgmax).context("restore queue {}", q.id));
    // The namespace's own limits last: the queues above needed them widened for a moment.
    if (!msgmnb.empty())
        TRY(write_sysctl("msgmnb", msgmnb));
    if (!msgmax.empty())
        TRY(write_sysctl("msgmax", msgmax));
    disarm.disarm();
    return {};
}

} // namespace

Result<void> dump_ipc_namespace(int pid, std::string const& dir)
{
    TRY(sys::mkdir_all(dir, 0700).context("dump ipc namespace of {}: create {}", pid, dir));
    return run_in_ipc_namespace(pid, [&] { return dump_in_namespace(dir); }).context("dump ipc namespace of {}", pid);
}

Result<void> restore_ipc_namespace(int pid, std::string const& dir)
{
    auto text
        = TRY(sys::read_file(dir + "/" + kIpcFile).context("restore ipc namespace of {}: read {}", pid, kIpcFile));
    auto state = TRY(decode_ipc_state(text).context("restore ipc namespace of {}", pid));
    for (auto const& name : { "msgmnb", "msgmax" })
        for (auto const& [key, value] : state.sysctls)
            if (key == name && (value.empty() || value.find_first_not_of("0123456789") != std::string::npos))
                return Error::format("restore ipc namespace of {}: sysctl {} \"{}\" is not a number", pid, key, value);
    // Every segment file is checked (size, then checksum, read in chunks) before anything is
    // created: a corrupt image creates nothing.
    std::vector<uint8_t> chunk(1 << 20);
    for (auto const& s : state.shm) {
        auto what = [&] { return fmt::format("restore ipc namespace of {}: shm {}: {}", pid, s.id, s.data_file); };
        auto file = TRY(sys::open(dir + "/" + s.data_file, O_RDONLY).context("{}", what()));
        auto st = TRY(sys::fstat(file).context("{}", what()));
        if (static_cast<uint64_t>(st.st_size) != s.size)
            return Error::format("{}: holds {} bytes, expected {}", what(), st.st_size, s.size);
        uint32_t crc = 0;
        for (uint64_t done = 0; done < s.size;) {
            size_t n = TRY(
                sys::read(file, chunk.data(), std::min<uint64_t>(chunk.size(), s.size - done)).context("{}", what()));
            if (n == 0)
                return Error::format("{}: short read", what());
            crc = crc32c_update(crc, chunk.data(), n);
            done += n;
        }
        if (crc != s.crc32c)
            return Error::format("{}: checksum mismatch (expected {:08x}, got {:08x}): the image is corrupt", what(),
                                 s.crc32c, crc);
    }
    return run_in_ipc_namespace(pid, [&] { return restore_in_namespace(state, dir); })
        .context("restore ipc namespace of {}", pid);
}

} // namespace cryo::checkpoint
