// cryo image import|ls|inspect|rm|mount|unmount|commit: the layer store from the command line
// (docs/image-store.md). All logic lives in the image layer; this file parses and prints.
#include <unistd.h>

#include "base/log.h"
#include "cli/options.h"
#include "image/images.h"
#include "image/import.h"
#include "image/overlay.h"
#include "runtime/extras_image.h"
#include "runtime/state_store.h"

namespace cryo::cli {

namespace {

constexpr FlagSpec k_flags[] = {
    { .name = "store",
      .kind = FlagKind::Value,
      .help = "image store directory (default $CRYO_STORE, else /var/lib/cryo)" },
    { .name = "format",
      .alias = "f",
      .kind = FlagKind::Value,
      .help = "ls/inspect output: table or json",
      .fallback = "table" },
    { .name = "quiet", .alias = "q", .help = "ls: print image names only" },
    { .name = "replace", .help = "import/commit: replace an existing image of that name" },
};

constexpr std::string_view k_usage
    = "import NAME SOURCE [--replace] | ls [--format json] | inspect NAME | rm NAME... | "
      "mount NAME DIR | unmount DIR | commit DIR NAME [--replace] | bundle NAME DIR | df [--format json]  "
      "[--store DIR]";

Result<image::Store> open_store(Invocation const& invocation)
{
    return image::Store::open(invocation.args.value_or("store", image::default_store_root()));
}

Result<void> want_args(std::vector<std::string> const& positionals, size_t count, std::string_view usage)
{
    if (positionals.size() != count)
        return Error::format("usage: cryo image {}", usage);
    return {};
}

// A one-line progress display on stderr, only when it is a terminal.
class Progress {
public:
    explicit Progress(std::string name)
        : m_name(std::move(name))
        , m_enabled(isatty(STDERR_FILENO) == 1)
    {
    }
    ~Progress()
    {
        if (m_shown)
            write_err("\r\033[K");
    }
    image::ProgressFn callback()
    {
        if (!m_enabled)
            return {};
        return [this](std::string_view what, uint64_t done, uint64_t total) {
            unsigned percent = total ? static_cast<unsigned>(done * 100 / total) : 0;
            if (m_shown && percent == m_last_percent && what == m_last_what)
                return;
            m_shown = true;
            m_last_percent = percent;
            m_last_what = std::string(what);
            std::string bar(20, ' ');
            for (unsigned i = 0; i < percent / 5; ++i)
                bar[i] = '#';
            write_err(fmt::format("\r\033[Kimporting {}: {} [{}] {:3}% {}", m_name, what, bar, percent,
                                  image::human_size(done)));
        };
    }

private:
    static void write_err(std::string const& text) { (void)!::write(STDERR_FILENO, text.data(), text.size()); }

    std::string m_name;
    bool m_enabled;
    bool m_shown { false };
    unsigned m_last_percent { 0 };
    std::string m_last_what;
};

std::string short_digest(std::string const& digest)
{
    return digest.substr(0, 12);
}

Result<int> image_import(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 3, "import NAME SOURCE [--replace] [--store DIR]"));
    auto store = TRY(open_store(invocation));
    Progress progress(args[1]);
    auto record = TRY(image::import_image(
        store, args[1], args[2],
        image::ImportOptions { .replace = invocation.args.flag("replace"), .progress = progress.callback() }));
    print_out(
        fmt::format("{} {} layer(s), top {}\n", record.name, record.layers.size(), short_digest(record.layers.back())));
    return 0;
}

Result<int> image_ls(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 1, "ls [--format table|json] [-q] [--store DIR]"));
    auto format = invocation.args.value_or("format", "table");
    if (format != "table" && format != "json")
        return Error::format("invalid format option \"{}\" (table or json)", format);
    auto store = TRY(open_store(invocation));
    auto images = TRY(image::list_images(store));
    if (invocation.args.flag("quiet")) {
        std::string out;
        for (auto const& details : images)
            out += details.record.name + "\n";
        print_out(out);
    } else if (format == "json") {
        print_out(image::images_json(images));
    } else {
        size_t width = 4;
        for (auto const& details : images)
            width = std::max(width, details.record.name.size());
        std::string out = fmt::format("{:<{}}   {:<12}   {:>6}   {:>10}   {:<10}   {}\n", "NAME", width, "TOP LAYER",
                                      "LAYERS", "SIZE", "KIND", "CREATED");
        for (auto const& details : images) {
            auto const& r = details.record;
            out += fmt::format("{:<{}}   {:<12}   {:>6}   {:>10}   {:<10}   {}\n", r.name, width,
                               short_digest(r.layers.back()), r.layers.size(), image::human_size(details.size), r.kind,
                               r.created);
        }
        print_out(out);
    }
    return 0;
}

Result<int> image_inspect(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 2, "inspect NAME [--store DIR]"));
    auto store = TRY(open_store(invocation));
    print_out(image::image_details_json(TRY(image::inspect_image(store, args[1])), true));
    return 0;
}

Result<int> image_rm(Invocation const& invocation, std::vector<std::string> const& args)
{
    if (args.size() < 2)
        return Error::make("usage: cryo image rm NAME... [--store DIR]");
    auto store = TRY(open_store(invocation));
    for (size_t i = 1; i < args.size(); ++i) {
        auto removed = TRY(image::remove_image(store, args[i]).context("rm {}", args[i]));
        print_out(fmt::format("{} removed ({} layer(s) freed)\n", args[i], removed.removed_layers.size()));
    }
    return 0;
}

Result<int> image_mount(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 3, "mount NAME DIR [--store DIR]"));
    auto store = TRY(open_store(invocation));
    auto mounts = TRY(image::prepare_container_rootfs(store, args[1], args[2]).context("mount {}", args[1]));
    auto mounted = image::mount_rootfs(mounts);
    if (mounted.is_error()) {
        (void)image::release_container_rootfs(store, args[2]);
        return mounted.release_error();
    }
    print_out(mounts.target + "\n");
    return 0;
}

Result<int> image_unmount(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 2, "unmount DIR [--store DIR]"));
    auto store = TRY(open_store(invocation));
    TRY(image::release_container_rootfs(store, args[1]).context("unmount {}", args[1]));
    return 0;
}

Result<int> image_commit(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 3, "commit DIR NAME [--replace] [--store DIR]"));
    auto store = TRY(open_store(invocation));
    auto base = TRY(store.container_image(args[1]).context("commit {}", args[2]));
    auto record = TRY(image::commit(store, args[1] + "/upper", base, args[2],
                                    image::CommitOptions { .replace = invocation.args.flag("replace") }));
    print_out(
        fmt::format("{} {} layer(s), top {}\n", record.name, record.layers.size(), short_digest(record.layers.back())));
    return 0;
}

Result<int> image_bundle(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 3, "bundle NAME DIR [--store DIR]"));
    auto store = TRY(open_store(invocation));
    TRY(runtime::write_image_bundle(store, args[1], args[2]).context("bundle {}", args[1]));
    print_out(args[2] + "\n");
    return 0;
}

// The writable layer of every container made from an image (under --root): what it uses and
// its limit.
Result<int> image_df(Invocation const& invocation, std::vector<std::string> const& args)
{
    TRY(want_args(args, 1, "df [--format table|json]"));
    auto format = invocation.args.value_or("format", "table");
    if (format != "table" && format != "json")
        return Error::format("invalid format option \"{}\" (table or json)", format);
    runtime::StateStore states(invocation.context.root);
    struct Row {
        std::string id;
        runtime::ImageUse use;
        runtime::DiskUsage usage;
    };
    std::vector<Row> rows;
    for (auto const& id : TRY(states.ids())) {
        auto dir = states.root() + "/" + id;
        auto use = runtime::read_image_use(dir);
        if (!use || !*use)
            continue;
        auto usage = runtime::container_disk_usage(dir);
        if (!usage)
            continue; // deleted meanwhile
        rows.push_back(Row { .id = id, .use = **use, .usage = *usage });
    }
    std::string out;
    if (format == "json") {
        out = "[";
        for (size_t i = 0; i < rows.size(); ++i) {
            auto const& row = rows[i];
            out += fmt::format("{}{{\"id\":\"{}\",\"image\":\"{}\",\"used\":{},\"limit\":{},\"available\":{}}}",
                               i ? "," : "", log::json_escape(row.id), log::json_escape(row.use.image),
                               row.usage.used_bytes, row.usage.limit_bytes, row.usage.available_bytes);
        }
        out += "]\n";
    } else {
        size_t id_width = 2, image_width = 5;
        for (auto const& row : rows) {
            id_width = std::max(id_width, row.id.size());
            image_width = std::max(image_width, row.use.image.size());
        }
        out = fmt::format("{:<{}}   {:<{}}   {:>10}   {:>10}\n", "ID", id_width, "IMAGE", image_width, "USED", "LIMIT");
        for (auto const& row : rows)
            out += fmt::format("{:<{}}   {:<{}}   {:>10}   {:>10}\n", row.id, id_width, row.use.image, image_width,
                               image::human_size(row.usage.used_bytes),
                               row.usage.limit_bytes ? image::human_size(row.usage.limit_bytes) : "-");
    }
    print_out(out);
    return 0;
}

Result<int> run_image(Invocation const& invocation)
{
    auto const& args = invocation.args.positionals();
    std::string_view sub = args.empty() ? "" : std::string_view(args[0]);
    if (sub == "import")
        return image_import(invocation, args);
    if (sub == "ls" || sub == "list")
        return image_ls(invocation, args);
    if (sub == "inspect")
        return image_inspect(invocation, args);
    if (sub == "rm" || sub == "remove")
        return image_rm(invocation, args);
    if (sub == "mount")
        return image_mount(invocation, args);
    if (sub == "unmount" || sub == "umount")
        return image_unmount(invocation, args);
    if (sub == "commit")
        return image_commit(invocation, args);
    if (sub == "bundle")
        return image_bundle(invocation, args);
    if (sub == "df")
        return image_df(invocation, args);
    if (sub.empty())
        return Error::format("usage: cryo image {}", k_usage);
    return Error::format("image: unknown command \"{}\" (import, ls, inspect, rm, mount, unmount, commit, bundle, df)",
                         sub);
}

} // namespace

extern constinit VerbSpec const verb_image {
    .name = "image",
    .summary = "manage images in the layer store (import, ls, inspect, rm, mount, unmount, commit, bundle, df)",
    .usage = k_usage,
    .description = "Images live in a content-addressed layer store (--store, default /var/lib/cryo).\n"
                   "   SOURCE of import: a root file system tarball (plain, gzip, zstd, xz), a directory,\n"
                   "   an OCI image layout (directory or tar) or a docker/podman save archive.\n"
                   "   mount NAME DIR prepares DIR/upper, DIR/work and mounts an overlay on DIR/rootfs;\n"
                   "   unmount DIR undoes it; commit DIR NAME stores DIR/upper as a new image on top.\n"
                   "   bundle NAME DIR: an OCI bundle (DIR/config.json running the image's command and the\n"
                   "   overlay on DIR/rootfs) for clients that want one; `unmount DIR` releases it.\n"
                   "   df: the writable layer of each container made with --image (used, --disk-limit).",
    .flags = k_flags,
    .run = run_image,
};

} // namespace cryo::cli
