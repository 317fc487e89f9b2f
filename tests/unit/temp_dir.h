// A temporary directory for one unit test, removed with everything in it when the test is
// done. Aborts if it cannot be made: a test that cannot make a directory in /tmp cannot run.
#pragma once

#include <cstdlib>
#include <string>

#include "sys/file.h"

namespace cryo::test {

struct TempDir {
    TempDir()
    {
        char name[] = "/tmp/cryo-unit-XXXXXX";
        if (!::mkdtemp(name))
            std::abort();
        path = name;
    }
    ~TempDir() { (void)sys::remove_all(path); }
    TempDir(TempDir const&) = delete;
    TempDir& operator=(TempDir const&) = delete;
    std::string path;
};

} // namespace cryo::test
