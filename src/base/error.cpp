#include "base/error.h"

#include <cstdio>
#include <cstring>

namespace cryo {

Error Error::from_errno(int code, std::string op)
{
    return Error(code, std::move(op));
}

std::string Error::message() const
{
    std::string out;
    for (auto it = m_frames.rbegin(); it != m_frames.rend(); ++it) {
        if (!out.empty())
            out += ": ";
        out += *it;
    }
    if (m_code != 0) {
        if (!out.empty())
            out += ": ";
        out += strerror(m_code);
    }
    return out;
}

void must_failed(char const* expr, Error const& error, char const* file, int line)
{
    fprintf(stderr, "cryo: MUST(%s) failed at %s:%d: %s\n", expr, file, line, error.message().c_str());
    abort();
}

} // namespace cryo
