#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <seccomp.h>
#include <unistd.h>

#include "rootfs/seccomp.h"
#include "sys/file.h"

namespace cryo::rootfs {

namespace {

constexpr char cache_magic[8] = { 'c', 'r', 'y', 'o', 'b', 'p', 'f', '1' };

struct CacheHeader {
    char magic[8];
    uint32_t flags;
    uint32_t needs_listener;
    uint32_t key_size;
    uint32_t filter_count;
};

uint64_t fnv1a(std::string_view data)
{
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (unsigned char c : data) {
        hash ^= c;
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::optional<SeccompProgram> decode(std::string_view file, std::string_view key)
{
    CacheHeader header {};
    if (file.size() < sizeof header)
        return std::nullopt;
    std::memcpy(&header, file.data(), sizeof header);
    if (std::memcmp(header.magic, cache_magic, sizeof cache_magic) != 0 || header.key_size != key.size())
        return std::nullopt;
    size_t filter_bytes = size_t(header.filter_count) * sizeof(sock_filter);
    if (file.size() != sizeof header + key.size() + filter_bytes || header.filter_count == 0)
        return std::nullopt;
    if (file.substr(sizeof header, key.size()) != key)
        return std::nullopt;
    SeccompProgram program;
    program.flags = header.flags;
    program.needs_listener = header.needs_listener != 0;
    program.filter.resize(header.filter_count);
    std::memcpy(program.filter.data(), file.data() + sizeof header + key.size(), filter_bytes);
    return program;
}

std::string encode(SeccompProgram const& program, std::string_view key)
{
    CacheHeader header {};
    std::memcpy(header.magic, cache_magic, sizeof cache_magic);
    header.flags = program.flags;
    header.needs_listener = program.needs_listener ? 1 : 0;
    header.key_size = static_cast<uint32_t>(key.size());
    header.filter_count = static_cast<uint32_t>(program.filter.size());
    std::string out;
    out.reserve(sizeof header + key.size() + program.filter.size() * sizeof(sock_filter));
    // SAFETY: CacheHeader and sock_filter are trivially copyable PODs without padding
    // surprises that matter: the same binary reads back what it wrote.
    out.append(reinterpret_cast<char const*>(&header), sizeof header);
    out.append(key);
    out.append(reinterpret_cast<char const*>(program.filter.data()), program.filter.size() * sizeof(sock_filter));
    return out;
}

// Temp file + rename, without fsync: after a crash an entry can only be missing or
// short, and decode() treats both as a miss. The pid keeps concurrent writers apart.
void store(std::string const& path, std::string_view data)
{
    auto slash = path.rfind('/');
    if (!sys::mkdir_all(path.substr(0, slash), 0700))
        return;
    auto temp = fmt::format("{}.{}.tmp", path, ::getpid());
    auto fd = sys::open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (!fd)
        return;
    bool written = bool(sys::write_all(*fd, data));
    fd->reset();
    if (!written || ::rename(temp.c_str(), path.c_str()) < 0)
        (void)sys::unlink(temp);
}

} // namespace

std::string seccomp_cache_key(SeccompProfile const& profile)
{
    auto const* version = seccomp_version();
    std::string key = fmt::format("libseccomp {}.{}.{}\n", version->major, version->minor, version->micro);
    key += fmt::format("default {} {}\n", static_cast<int>(profile.default_action),
                       profile.default_errno ? int(*profile.default_errno) : -1);
    for (auto const& arch : profile.architectures)
        key += fmt::format("arch {}\n", arch);
    for (auto const& flag : profile.flags)
        key += fmt::format("flag {}\n", flag);
    for (auto const& rule : profile.rules) {
        key += fmt::format("rule {} {}", static_cast<int>(rule.action), rule.errno_ret ? int(*rule.errno_ret) : -1);
        for (auto const& name : rule.names)
            key += fmt::format(" {}", name);
        for (auto const& arg : rule.args)
            key += fmt::format(" [{} {} {} {}]", arg.index, arg.value, arg.value_two, static_cast<int>(arg.op));
        key += '\n';
    }
    return key;
}

Result<SeccompProgram> compile_cached(SeccompProfile const& profile, std::string const& cache_dir)
{
    auto key = seccomp_cache_key(profile);
    auto path = fmt::format("{}/{:016x}.bpf", cache_dir, fnv1a(key));
    if (auto file = sys::read_file(path)) {
        if (auto program = decode(*file, key))
            return std::move(*program);
    }
    auto program = TRY(compile(profile));
    store(path, encode(program, key));
    return program;
}

} // namespace cryo::rootfs
