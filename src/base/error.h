// Error and Result<T>: the one error type of cryo. An Error is an errno (or 0 for a
// logical error) plus a chain of context frames; message() reads outermost first:
// "create web: prepare rootfs: mount proc on /proc: Operation not permitted".
#pragma once

#include <cerrno>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <fmt/format.h>

namespace cryo {

class Error {
public:
    // An error from a failed syscall or library call: `op` names what failed.
    static Error from_errno(int code, std::string op);
    static Error from_errno(std::string op) { return from_errno(errno, std::move(op)); }
    // A logical error with no errno ("invalid container id \"a/b\"").
    static Error make(std::string message) { return Error(0, std::move(message)); }
    template<typename... Args>
    static Error format(fmt::format_string<Args...> f, Args&&... args)
    {
        return Error(0, fmt::format(f, std::forward<Args>(args)...));
    }

    int code() const { return m_code; }
    bool is_errno(int code) const { return m_code == code; }

    // Adds an outer frame ("prepare rootfs").
    Error& add_context(std::string frame)
    {
        m_frames.push_back(std::move(frame));
        return *this;
    }
    // Frames innermost first; the innermost is the failed operation.
    std::vector<std::string> const& frames() const { return m_frames; }
    std::string message() const;

private:
    Error(int code, std::string op)
        : m_code(code)
    {
        m_frames.push_back(std::move(op));
    }

    int m_code { 0 };
    std::vector<std::string> m_frames;
};

template<typename T>
class [[nodiscard]] Result {
public:
    using ValueType = T;

    Result(T value)
        : m_storage(std::in_place_index<0>, std::move(value))
    {
    }
    template<typename U>
        requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::decay_t<U>, Error>
                 && !std::is_same_v<std::decay_t<U>, Result>)
    Result(U&& value)
        : m_storage(std::in_place_index<0>, T(std::forward<U>(value)))
    {
    }
    Result(Error error)
        : m_storage(std::in_place_index<1>, std::move(error))
    {
    }

    bool has_value() const { return m_storage.index() == 0; }
    bool is_error() const { return !has_value(); }
    explicit operator bool() const { return has_value(); }

    T& value() & { return std::get<0>(m_storage); }
    T const& value() const& { return std::get<0>(m_storage); }
    T&& value() && { return std::get<0>(std::move(m_storage)); }
    T release_value() { return std::get<0>(std::move(m_storage)); }
    T* operator->() { return &value(); }
    T const* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    T const& operator*() const& { return value(); }

    Error& error() & { return std::get<1>(m_storage); }
    Error const& error() const& { return std::get<1>(m_storage); }
    Error release_error() { return std::get<1>(std::move(m_storage)); }

    T value_or(T fallback) && { return has_value() ? release_value() : std::move(fallback); }

    // Adds a context frame to an error; does nothing (and formats nothing) on success.
    // Returns by value: a Result&& would dangle inside TRY(f().context(...)).
    template<typename... Args>
    Result context(fmt::format_string<Args...> f, Args&&... args) &&
    {
        if (is_error())
            error().add_context(fmt::format(f, std::forward<Args>(args)...));
        return std::move(*this);
    }

private:
    std::variant<T, Error> m_storage;
};

template<>
class [[nodiscard]] Result<void> {
public:
    using ValueType = void;

    Result() = default;
    Result(Error error)
        : m_error(std::move(error))
    {
    }

    bool has_value() const { return !m_error.has_value(); }
    bool is_error() const { return m_error.has_value(); }
    explicit operator bool() const { return has_value(); }
    void release_value() { }
    void value() const { }
    Error& error() & { return *m_error; }
    Error const& error() const& { return *m_error; }
    Error release_error() { return std::move(*m_error); }

    template<typename... Args>
    Result context(fmt::format_string<Args...> f, Args&&... args) &&
    {
        if (is_error())
            m_error->add_context(fmt::format(f, std::forward<Args>(args)...));
        return std::move(*this);
    }

private:
    std::optional<Error> m_error;
};

using Unit = Result<void>;

[[noreturn]] void must_failed(char const* expr, Error const& error, char const* file, int line);

} // namespace cryo

// Propagates an error to the caller; yields the value otherwise (GNU statement expression).
#define TRY(expr)                                                   \
    ({                                                              \
        auto&& _cryo_try_result = (expr);                           \
        if (_cryo_try_result.is_error()) [[unlikely]]               \
            return _cryo_try_result.release_error();                \
        _cryo_try_result.release_value();                           \
    })

// Asserts success: an error here is a bug, and aborts with the message.
#define MUST(expr)                                                          \
    ({                                                                      \
        auto&& _cryo_must_result = (expr);                                  \
        if (_cryo_must_result.is_error()) [[unlikely]]                      \
            ::cryo::must_failed(#expr, _cryo_must_result.error(), __FILE__, __LINE__); \
        _cryo_must_result.release_value();                                  \
    })
