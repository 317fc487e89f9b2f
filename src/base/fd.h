// Fd owns a file descriptor and closes it when dropped; FdRef borrows one. A raw int fd
// does not leave sys/: everything above it passes Fd/FdRef.
#pragma once

#include <fcntl.h>
#include <unistd.h>
#include <utility>

namespace cryo {

class FdRef {
public:
    constexpr FdRef() = default;
    constexpr explicit FdRef(int fd)
        : m_fd(fd)
    {
    }
    // The current working directory for *at() calls.
    static constexpr FdRef cwd() { return FdRef(AT_FDCWD); }

    constexpr int get() const { return m_fd; }
    constexpr bool valid() const { return m_fd >= 0 || m_fd == AT_FDCWD; }
    constexpr bool operator==(FdRef const&) const = default;

private:
    int m_fd { -1 };
};

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd)
        : m_fd(fd)
    {
    }
    Fd(Fd&& other) noexcept
        : m_fd(std::exchange(other.m_fd, -1))
    {
    }
    Fd& operator=(Fd&& other) noexcept
    {
        if (this != &other) {
            reset();
            m_fd = std::exchange(other.m_fd, -1);
        }
        return *this;
    }
    Fd(Fd const&) = delete;
    Fd& operator=(Fd const&) = delete;
    ~Fd() { reset(); }

    int get() const { return m_fd; }
    FdRef ref() const { return FdRef(m_fd); }
    operator FdRef() const { return FdRef(m_fd); }
    bool valid() const { return m_fd >= 0; }
    explicit operator bool() const { return valid(); }

    // Gives up ownership without closing.
    [[nodiscard]] int release() { return std::exchange(m_fd, -1); }
    void reset()
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = -1;
    }

private:
    int m_fd { -1 };
};

} // namespace cryo
