// Test driver of the checkpoint engine while (or where) the cryo CLI lacks the verbs:
//   cr_driver dump PID DIR [--leave-running] [--inject STEP]
//   cr_driver restore DIR [--detach]
// Prints the engine's statistics as one JSON line.
#include <cstdio>
#include <cstring>
#include <string>

#include "checkpoint/dump.h"
#include "checkpoint/restore.h"
#include "sys/process.h"

using namespace cryo;

int main(int argc, char** argv)
{
    if (argc >= 4 && std::strcmp(argv[1], "dump") == 0) {
        checkpoint::DumpOptions options {
            .pid = std::atoi(argv[2]), .images_dir = argv[3], .leave_running = false, .inject_failure = {}
        };
        for (int i = 4; i < argc; ++i) {
            if (std::strcmp(argv[i], "--leave-running") == 0)
                options.leave_running = true;
            else if (std::strcmp(argv[i], "--inject") == 0 && i + 1 < argc)
                options.inject_failure = argv[++i];
        }
        auto r = checkpoint::dump(options);
        if (!r) {
            std::fprintf(stderr, "cr_driver: dump: %s\n", r.error().message().c_str());
            return 1;
        }
        std::printf("{\"pages\":%lu,\"bytes\":%lu,\"freeze_ms\":%.2f,\"collect_ms\":%.2f,\"pages_ms\":%.2f,"
                    "\"frozen_ms\":%.2f,\"total_ms\":%.2f}\n",
                    r->pages, r->bytes, r->freeze_ms, r->collect_ms, r->pages_ms, r->frozen_ms, r->total_ms);
        return 0;
    }
    if (argc >= 3 && std::strcmp(argv[1], "restore") == 0) {
        auto r = checkpoint::restore({ .images_dir = argv[2] });
        if (!r) {
            std::fprintf(stderr, "cr_driver: restore: %s\n", r.error().message().c_str());
            return 1;
        }
        std::printf("{\"pid\":%d,\"pages\":%lu,\"memory_ms\":%.2f,\"total_ms\":%.2f}\n", r->root.pid(), r->stats.pages,
                    r->stats.memory_ms, r->stats.total_ms);
        std::fflush(stdout);
        if (argc > 3 && std::strcmp(argv[3], "--detach") == 0) {
            r->root.release();
            return 0;
        }
        auto status = r->root.wait();
        return status ? sys::exit_code_of(*status) : 1;
    }
    std::fprintf(stderr, "usage: cr_driver dump PID DIR [--leave-running] | restore DIR [--detach]\n");
    return 2;
}
