// Test helper: a temporary directory that plays a cgroup filesystem. Control files are
// regular files, so tests can see exactly what a backend wrote; removed when dropped.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "sys/file.h"

namespace cryo::cgroup::testing {

inline std::string read_fixture(std::string const& name)
{
    std::ifstream in(std::string(CRYO_FIXTURES) + "/" + name);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

class FixtureTree {
public:
    FixtureTree()
    {
        // tmpfs when there is one: fixture trees are many tiny files.
        char const* tmp = std::getenv("TMPDIR");
        std::string base = tmp && *tmp ? tmp : ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        std::string pattern = base + "/cryo-cgroup-test.XXXXXX";
        char* made = ::mkdtemp(pattern.data());
        EXPECT_NE(made, nullptr);
        m_root = pattern;
    }
    FixtureTree(FixtureTree const&) = delete;
    FixtureTree& operator=(FixtureTree const&) = delete;
    ~FixtureTree() { (void)sys::remove_all(m_root); }

    std::string const& root() const { return m_root; }
    std::string path(std::string const& relative) const { return m_root + "/" + relative; }

    void mkdir(std::string const& relative) const { MUST(sys::mkdir_all(path(relative), 0755)); }
    // Creates the file (and its directory) with `content`.
    void write(std::string const& relative, std::string const& content) const
    {
        auto full = path(relative);
        MUST(sys::mkdir_all(full.substr(0, full.find_last_of('/')), 0755));
        std::ofstream(full, std::ios::trunc) << content;
    }
    // Creates empty control files in a directory.
    void touch(std::string const& dir, std::initializer_list<char const*> files) const
    {
        for (auto const* file : files)
            write(dir + "/" + file, "");
    }
    std::string read(std::string const& relative) const
    {
        auto text = sys::read_file(path(relative));
        return text ? *text : "<missing: " + text.error().message() + ">";
    }
    bool exists(std::string const& relative) const { return sys::exists(path(relative)); }

    // A mountinfo fixture with /sys/fs/cgroup replaced by this tree, written to
    // <root>/mountinfo; returns its path.
    std::string mountinfo(std::string const& fixture) const
    {
        auto text = read_fixture(fixture);
        std::string out;
        std::string const from = "/sys/fs/cgroup";
        size_t pos = 0;
        for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size())
            out += text.substr(pos, hit - pos) + m_root + "/fs";
        out += text.substr(pos);
        write("mountinfo", out);
        return path("mountinfo");
    }
    // Where hierarchies live for mountinfo(): <root>/fs.
    std::string fs_root() const { return m_root + "/fs"; }

private:
    std::string m_root;
};

} // namespace cryo::cgroup::testing
