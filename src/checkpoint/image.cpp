#include "checkpoint/image.h"

#include <algorithm>
#include <cstdio>
#include <fcntl.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "base/log.h"
#include "checkpoint/crc32c.h"
#include "sys/file.h"

namespace cryo::checkpoint {

using nlohmann::json;

std::string process_file_name(int pid)
{
    return fmt::format("process-{}.json", pid);
}
std::string page_file_name(int pid, unsigned part)
{
    return part == 0 ? fmt::format("pages-{}.img", pid) : fmt::format("pages-{}.{}.img", pid, part);
}

namespace {

std::string hex32(uint32_t v)
{
    return fmt::format("{:08x}", v);
}

Result<uint32_t> parse_hex32(std::string const& s)
{
    if (s.size() != 8)
        return Error::format("bad checksum {:?}", s);
    uint32_t v = 0;
    for (char c : s) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return Error::format("bad checksum {:?}", s);
        v = v << 4 | static_cast<uint32_t>(d);
    }
    return v;
}

std::string parent_of(std::string const& path)
{
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(std::string const& path)
{
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

Result<void> fsync_fd(FdRef fd, std::string const& what)
{
    if (::fsync(fd.get()) < 0)
        return Error::from_errno(fmt::format("fsync {}", what));
    return {};
}

} // namespace

std::string encode_manifest(Manifest const& manifest)
{
    json j;
    j["format"] = kImageFormat;
    j["version"] = manifest.version;
    j["root_pid"] = manifest.root_pid;
    j["pids"] = manifest.pids;
    json files = json::object();
    for (auto const& [name, entry] : manifest.files) {
        files[name] = { { "size", entry.size }, { "crc32c", hex32(entry.crc32c) } };
        if (!entry.compression.empty()) {
            files[name]["compression"] = entry.compression;
            files[name]["raw_size"] = entry.raw_size;
        }
        if (entry.stripes > 1) {
            files[name]["stripes"] = entry.stripes;
            files[name]["stripe_size"] = entry.stripe_size;
        }
    }
    j["files"] = files;
    std::string body = j.dump(2);
    j["checksum"] = hex32(crc32c(body.data(), body.size()));
    return j.dump(2) + "\n";
}

Result<Manifest> decode_manifest(std::string_view text)
{
    try {
        json j = json::parse(text);
        if (!j.is_object() || j.value("format", "") != kImageFormat)
            return Error::make("not a cryo checkpoint image (format is not \"cryo-checkpoint\")");
        int version = j.at("version").get<int>();
        if (version > kImageVersion || version < 1)
            return Error::format("image version {} is not supported (this cryo reads 1 to {})", version, kImageVersion);
        if (!j.contains("checksum"))
            return Error::make("manifest has no checksum");
        auto expected = TRY(parse_hex32(j.at("checksum").get<std::string>()));
        j.erase("checksum");
        std::string body = j.dump(2);
        uint32_t actual = crc32c(body.data(), body.size());
        if (actual != expected)
            return Error::format("manifest checksum mismatch (expected {}, got {})", hex32(expected), hex32(actual));
        Manifest m;
        m.version = version;
        m.root_pid = j.at("root_pid").get<int>();
        m.pids = j.at("pids").get<std::vector<int>>();
        for (auto const& [name, entry] : j.at("files").items()) {
            if (name.empty() || name.find('/') != std::string::npos || name[0] == '.')
                return Error::format("manifest names a file outside the image: {:?}", name);
            FileEntry e {
                entry.at("size").get<uint64_t>(),          TRY(parse_hex32(entry.at("crc32c").get<std::string>())),
                entry.value("compression", std::string()), entry.value("raw_size", uint64_t { 0 }),
                entry.value("stripes", uint32_t { 1 }),    entry.value("stripe_size", uint64_t { 0 })
            };
            if (e.stripes == 0 || e.stripes > kMaxPageStripes
                || (e.stripes > 1 && (e.stripe_size == 0 || e.stripe_size % 4096 != 0)))
                return Error::format("manifest: {}: bad striping ({} stripes of {} bytes)", name, e.stripes,
                                     e.stripe_size);
            m.files[name] = std::move(e);
        }
        return m;
    } catch (json::exception const& e) {
        return Error::format("bad manifest: {}", e.what());
    }
}

Result<void> FileSink::write(void const* data, size_t size)
{
    TRY(sys::write_all(m_fd, std::string_view(static_cast<char const*>(data), size)).context("write {}", m_name));
    m_entry.crc32c = crc32c_update(m_entry.crc32c, data, size);
    m_entry.size += size;
    return {};
}

Result<ImageWriter> ImageWriter::create(std::string const& dir, Durability durability)
{
    if (dir.empty())
        return Error::make("image directory is empty");
    std::string final_dir = dir;
    while (final_dir.size() > 1 && final_dir.back() == '/')
        final_dir.pop_back();
    if (sys::exists(final_dir)) {
        auto entries = TRY(sys::list_dir(final_dir).context("image directory {}", final_dir));
        if (!entries.empty())
            return Error::format("image directory {} is not empty", final_dir);
    }
    ImageWriter w;
    w.m_final = final_dir;
    w.m_durability = durability;
    w.m_temp = fmt::format("{}/.{}.tmp-{}", parent_of(final_dir), base_of(final_dir), ::getpid());
    if (sys::exists(w.m_temp))
        TRY(sys::remove_all(w.m_temp));
    TRY(sys::mkdir(w.m_temp, 0700).context("create image directory"));
    w.m_dir = TRY(sys::open(w.m_temp, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    return w;
}

ImageWriter::~ImageWriter()
{
    if (m_committed || m_temp.empty())
        return;
    auto r = sys::remove_all(m_temp);
    if (!r)
        log::warn("remove temporary image {}: {}", m_temp, r.error().message());
}

Result<FileSink> ImageWriter::create_file(std::string const& name)
{
    FileSink sink;
    sink.m_name = name;
    sink.m_fd = TRY(
        sys::openat(m_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600).context("create image file {}", name));
    return sink;
}

Result<void> ImageWriter::close_file(FileSink sink)
{
    if (m_durability == Durability::Synced)
        TRY(fsync_fd(sink.m_fd, sink.m_name));
    m_files[sink.m_name] = sink.m_entry;
    return {};
}

Result<void> ImageWriter::write_file(std::string const& name, std::string_view data)
{
    auto sink = TRY(create_file(name));
    TRY(sink.write(data.data(), data.size()));
    return close_file(std::move(sink));
}

Result<void> ImageWriter::commit(Manifest manifest)
{
    manifest.files = m_files;
    // Version 1 readers know only raw page files: write 2 (compression) or 3 (striped page
    // files) only when it matters.
    manifest.version = 1;
    for (auto const& [name, entry] : m_files) {
        if (!entry.compression.empty())
            manifest.version = std::max(manifest.version, 2);
        if (entry.stripes > 1)
            manifest.version = std::max(manifest.version, 3);
    }
    std::string text = encode_manifest(manifest);
    auto fd = TRY(sys::openat(m_dir, kManifestName, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    TRY(sys::write_all(fd, text).context("write manifest"));
    bool const synced = m_durability == Durability::Synced;
    if (synced) {
        TRY(fsync_fd(fd, kManifestName));
        TRY(fsync_fd(m_dir, m_temp));
    }
    // rename(2) replaces an empty directory atomically.
    if (::rename(m_temp.c_str(), m_final.c_str()) < 0)
        return Error::from_errno(fmt::format("rename {} to {}", m_temp, m_final));
    m_committed = true;
    if (synced) {
        auto parent = TRY(sys::open(parent_of(m_final), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        TRY(fsync_fd(parent, parent_of(m_final)));
    }
    return {};
}

Result<void> FileSource::read(void* data, size_t size)
{
    auto* out = static_cast<char*>(data);
    size_t got = 0;
    while (got < size) {
        size_t n = TRY(sys::read(m_fd, out + got, size - got).context("read {}", m_name));
        if (n == 0)
            return Error::format("{}: truncated (ends at byte {}, manifest says {})", m_name, m_done + got,
                                 m_expected.size);
        got += n;
    }
    if (m_done + size > m_expected.size)
        return Error::format("{}: longer than the manifest says ({} bytes)", m_name, m_expected.size);
    m_crc = crc32c_update(m_crc, data, size);
    m_done += size;
    return {};
}

Result<void> FileSource::account(void const* data, size_t size)
{
    if (m_done + size > m_expected.size)
        return Error::format("{}: longer than the manifest says ({} bytes)", m_name, m_expected.size);
    m_crc = crc32c_update(m_crc, data, size);
    m_done += size;
    return {};
}

Result<void> FileSource::finish()
{
    // The size was checked against the manifest when the file was opened (fstat).
    if (m_done != m_expected.size)
        return Error::format("{}: read {} of {} bytes", m_name, m_done, m_expected.size);
    if (m_crc != m_expected.crc32c)
        return Error::format("{}: checksum mismatch (expected {}, got {}): the image is corrupt", m_name,
                             hex32(m_expected.crc32c), hex32(m_crc));
    return {};
}

Result<ImageReader> ImageReader::open(std::string const& dir)
{
    ImageReader r;
    r.m_dir = dir;
    auto text = TRY(sys::read_file(dir + "/" + kManifestName).context("image {}", dir));
    r.m_manifest = TRY(decode_manifest(text).context("image {}: {}", dir, kManifestName));
    return r;
}

Result<FileSource> ImageReader::open_file(std::string const& name) const
{
    auto it = m_manifest.files.find(name);
    if (it == m_manifest.files.end())
        return Error::format("image {}: {} is not in the manifest", m_dir, name);
    FileSource source;
    source.m_name = name;
    source.m_expected = it->second;
    source.m_fd = TRY(sys::open(m_dir + "/" + name, O_RDONLY | O_CLOEXEC).context("image {}", m_dir));
    auto st = TRY(sys::fstat(source.m_fd));
    if (static_cast<uint64_t>(st.st_size) != it->second.size)
        return Error::format("image {}: {}: size is {} bytes, manifest says {} (truncated or corrupt)", m_dir, name,
                             st.st_size, it->second.size);
    return source;
}

Result<std::string> ImageReader::read_file(std::string const& name) const
{
    auto source = TRY(open_file(name));
    std::string data(source.m_expected.size, '\0');
    TRY(source.read(data.data(), data.size()).context("image {}", m_dir));
    TRY(source.finish().context("image {}", m_dir));
    return data;
}

} // namespace cryo::checkpoint
