// `cryo check`: probes the kernel features the engine needs, each as a small real use
// (seize a child, clone3 with a chosen pid, ...), and says which are missing.
#pragma once

#include <string>
#include <vector>

namespace cryo::checkpoint {

struct Probe {
    std::string name;
    bool ok { false };
    bool required { true }; // false: only needed by features not in every dump (live migration)
    std::string detail; // why it failed, or what was found
};

std::vector<Probe> probe_kernel();

} // namespace cryo::checkpoint
