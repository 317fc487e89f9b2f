#include "sys/sysvipc.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <unistd.h>

namespace cryo::sys {

Result<int> shmget(key_t key, size_t size, int flags)
{
    int id = ::shmget(key, size, flags);
    if (id < 0)
        return Error::from_errno("shmget");
    return id;
}

Result<struct shmid_ds> shm_stat(int id)
{
    struct shmid_ds ds { };
    if (::shmctl(id, IPC_STAT, &ds) < 0)
        return Error::from_errno("shmctl IPC_STAT");
    return ds;
}

Result<void> shm_set(int id, struct shmid_ds const& ds)
{
    auto copy = ds;
    if (::shmctl(id, IPC_SET, &copy) < 0)
        return Error::from_errno("shmctl IPC_SET");
    return {};
}

Result<void> shm_lock(int id)
{
    if (::shmctl(id, SHM_LOCK, nullptr) < 0)
        return Error::from_errno("shmctl SHM_LOCK");
    return {};
}

Result<void> shm_remove(int id)
{
    if (::shmctl(id, IPC_RMID, nullptr) < 0)
        return Error::from_errno("shmctl IPC_RMID");
    return {};
}

Result<ShmAttachment> ShmAttachment::attach(int id, int flags)
{
    void* address = ::shmat(id, nullptr, flags);
    if (address == reinterpret_cast<void*>(-1)) // SAFETY: shmat's documented error value
        return Error::from_errno("shmat");
    return ShmAttachment(address);
}

ShmAttachment::ShmAttachment(ShmAttachment&& other) noexcept
    : m_address(std::exchange(other.m_address, nullptr))
{
}

ShmAttachment::~ShmAttachment()
{
    if (m_address)
        ::shmdt(m_address);
}

Result<Fd> ShmAttachment::open_file(uint64_t size) const
{
    auto start = reinterpret_cast<uintptr_t>(m_address); // SAFETY: only printed as a number
    uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    uint64_t end = start + (size + page - 1) / page * page;
    auto path = fmt::format("/proc/self/map_files/{:x}-{:x}", start, end);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return Error::from_errno(fmt::format("open {}", path));
    return Fd(fd);
}

Result<std::vector<DataRange>> data_ranges(FdRef fd, uint64_t size)
{
    std::vector<DataRange> out;
    uint64_t position = 0;
    while (position < size) {
        off_t data = ::lseek(fd.get(), static_cast<off_t>(position), SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            break; // only a hole up to the end
        if (data < 0 && errno == EINVAL && out.empty() && position == 0)
            return std::vector<DataRange> { { 0, size } }; // no SEEK_DATA here: all data
        if (data < 0)
            return Error::from_errno("lseek SEEK_DATA");
        if (static_cast<uint64_t>(data) >= size)
            break;
        off_t hole = ::lseek(fd.get(), data, SEEK_HOLE);
        if (hole < 0)
            return Error::from_errno("lseek SEEK_HOLE");
        uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
        out.push_back({ static_cast<uint64_t>(data), end - static_cast<uint64_t>(data) });
        position = end;
    }
    return out;
}

// semctl's fourth argument; glibc leaves its definition to the caller (see semctl(2)).
union SemArgument {
    int value;
    struct semid_ds* buffer;
    unsigned short* array;
};

Result<int> semget(key_t key, int count, int flags)
{
    int id = ::semget(key, count, flags);
    if (id < 0)
        return Error::from_errno("semget");
    return id;
}

Result<struct semid_ds> sem_stat(int id)
{
    struct semid_ds ds { };
    SemArgument argument { .buffer = &ds };
    if (::semctl(id, 0, IPC_STAT, argument) < 0)
        return Error::from_errno("semctl IPC_STAT");
    return ds;
}

Result<void> sem_set(int id, struct semid_ds const& ds)
{
    auto copy = ds;
    SemArgument argument { .buffer = &copy };
    if (::semctl(id, 0, IPC_SET, argument) < 0)
        return Error::from_errno("semctl IPC_SET");
    return {};
}

Result<std::vector<uint16_t>> sem_get_all(int id, size_t count)
{
    std::vector<uint16_t> values(count);
    SemArgument argument { .array = values.data() };
    if (::semctl(id, 0, GETALL, argument) < 0)
        return Error::from_errno("semctl GETALL");
    return values;
}

Result<void> sem_set_all(int id, std::vector<uint16_t> values)
{
    SemArgument argument { .array = values.data() };
    if (::semctl(id, 0, SETALL, argument) < 0)
        return Error::from_errno("semctl SETALL");
    return {};
}

Result<void> sem_remove(int id)
{
    if (::semctl(id, 0, IPC_RMID) < 0)
        return Error::from_errno("semctl IPC_RMID");
    return {};
}

Result<int> msgget(key_t key, int flags)
{
    int id = ::msgget(key, flags);
    if (id < 0)
        return Error::from_errno("msgget");
    return id;
}

Result<struct msqid_ds> msg_stat(int id)
{
    struct msqid_ds ds { };
    if (::msgctl(id, IPC_STAT, &ds) < 0)
        return Error::from_errno("msgctl IPC_STAT");
    return ds;
}

Result<void> msg_set(int id, struct msqid_ds const& ds)
{
    auto copy = ds;
    if (::msgctl(id, IPC_SET, &copy) < 0)
        return Error::from_errno("msgctl IPC_SET");
    return {};
}

Result<std::optional<SysvMessage>> msg_copy(int id, size_t index, size_t max_size)
{
    // struct msgbuf: a long, then the text.
    std::vector<uint8_t> buffer(sizeof(long) + max_size);
    ssize_t n = ::msgrcv(id, buffer.data(), max_size, static_cast<long>(index), IPC_NOWAIT | MSG_COPY);
    if (n < 0 && errno == ENOMSG)
        return std::optional<SysvMessage> {};
    if (n < 0)
        return Error::from_errno(fmt::format("msgrcv MSG_COPY {}", index));
    SysvMessage message;
    std::memcpy(&message.type, buffer.data(), sizeof(long));
    message.text.assign(buffer.begin() + sizeof(long), buffer.begin() + sizeof(long) + n);
    return std::optional<SysvMessage>(std::move(message));
}

Result<void> msg_send(int id, long type, std::span<uint8_t const> text)
{
    std::vector<uint8_t> buffer(sizeof(long) + text.size());
    std::memcpy(buffer.data(), &type, sizeof(long));
    if (!text.empty())
        std::memcpy(buffer.data() + sizeof(long), text.data(), text.size());
    int r;
    do {
        r = ::msgsnd(id, buffer.data(), text.size(), IPC_NOWAIT);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return Error::from_errno("msgsnd");
    return {};
}

Result<void> msg_remove(int id)
{
    if (::msgctl(id, IPC_RMID, nullptr) < 0)
        return Error::from_errno("msgctl IPC_RMID");
    return {};
}

} // namespace cryo::sys
