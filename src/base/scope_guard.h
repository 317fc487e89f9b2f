// ScopeGuard always runs its callback when dropped; ArmedScopeGuard runs it unless disarmed
// (rollback of a half-created cgroup, mount or state dir on an error path).
#pragma once

#include <utility>

namespace cryo {

template<typename F>
class ScopeGuard {
public:
    explicit ScopeGuard(F f)
        : m_f(std::move(f))
    {
    }
    ScopeGuard(ScopeGuard const&) = delete;
    ScopeGuard& operator=(ScopeGuard const&) = delete;
    ~ScopeGuard() { m_f(); }

private:
    F m_f;
};

template<typename F>
class ArmedScopeGuard {
public:
    explicit ArmedScopeGuard(F f)
        : m_f(std::move(f))
    {
    }
    ArmedScopeGuard(ArmedScopeGuard const&) = delete;
    ArmedScopeGuard& operator=(ArmedScopeGuard const&) = delete;
    ~ArmedScopeGuard()
    {
        if (m_armed)
            m_f();
    }
    void disarm() { m_armed = false; }

private:
    F m_f;
    bool m_armed { true };
};

} // namespace cryo
