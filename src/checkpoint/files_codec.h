// JSON encoding of a process's open files (its fd table and the descriptions it uses) inside
// the process metadata (codec.cpp). Optional keys default, so the schema can grow; images
// of the first schema (one "files" entry per fd with kind and path) still decode. Only
// codec.cpp includes this (it pulls in nlohmann's forward declarations).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "base/error.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

// Sets j["files"] and j["file_descriptions"].
void encode_open_files(Process const& process, nlohmann::json& j);
// Reads them back into process.files / process.file_descriptions and checks that every fd
// names a description it has. nlohmann type errors propagate as exceptions (codec.cpp
// turns them into errors).
Result<void> decode_open_files(nlohmann::json const& j, Process& process);

} // namespace cryo::checkpoint
