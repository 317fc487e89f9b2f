// Thin wrappers of the SysV IPC syscalls (shmget/shmat/shmctl, semget/semctl, msgget/msgsnd/
// msgrcv/msgctl). They act on the ipc namespace of the calling thread. No fds are involved.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <vector>

#include "base/error.h"
#include "base/fd.h"

namespace cryo::sys {

Result<int> shmget(key_t key, size_t size, int flags);
Result<struct shmid_ds> shm_stat(int id);
Result<void> shm_set(int id, struct shmid_ds const& ds); // IPC_SET: uid, gid, mode
Result<void> shm_lock(int id); // SHM_LOCK
Result<void> shm_remove(int id); // IPC_RMID
// A segment attached for the lifetime of the object; detached when dropped.
class ShmAttachment {
public:
    static Result<ShmAttachment> attach(int id, int flags);
    // The segment's shmem file, opened read-only through /proc/self/map_files (needs
    // CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN): lseek(SEEK_DATA) on it tells the pages that
    // exist from those never touched. `size` is the segment's size.
    Result<Fd> open_file(uint64_t size) const;
    ShmAttachment(ShmAttachment&& other) noexcept;
    ShmAttachment& operator=(ShmAttachment&&) = delete;
    ~ShmAttachment();
    void* address() const { return m_address; }

private:
    explicit ShmAttachment(void* address)
        : m_address(address)
    {
    }
    void* m_address { nullptr };
};

// The ranges of `fd` in [0, size) that hold data, by lseek SEEK_DATA/SEEK_HOLE (holes read
// as zeros and take no memory or disk); [{0, size}] where the file system cannot tell.
struct DataRange {
    uint64_t offset { 0 };
    uint64_t length { 0 };
    bool operator==(DataRange const&) const = default;
};
Result<std::vector<DataRange>> data_ranges(FdRef fd, uint64_t size);

Result<int> semget(key_t key, int count, int flags);
Result<struct semid_ds> sem_stat(int id);
Result<void> sem_set(int id, struct semid_ds const& ds);
Result<std::vector<uint16_t>> sem_get_all(int id, size_t count);
Result<void> sem_set_all(int id, std::vector<uint16_t> values);
Result<void> sem_remove(int id);

Result<int> msgget(key_t key, int flags);
Result<struct msqid_ds> msg_stat(int id);
Result<void> msg_set(int id, struct msqid_ds const& ds); // uid, gid, mode, msg_qbytes
// Copies the message at `index` (0 = first) without removing it (MSG_COPY, needs
// CONFIG_CHECKPOINT_RESTORE); nullopt past the last one.
struct SysvMessage {
    long type { 0 };
    std::vector<uint8_t> text;
};
Result<std::optional<SysvMessage>> msg_copy(int id, size_t index, size_t max_size);
Result<void> msg_send(int id, long type, std::span<uint8_t const> text); // IPC_NOWAIT
Result<void> msg_remove(int id);

} // namespace cryo::sys
