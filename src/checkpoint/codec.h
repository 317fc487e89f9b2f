// Process metadata <-> JSON text (one file per process). Schema: docs/checkpoint-image.md.
// Readers ignore keys they do not know and default keys that are missing, so the schema can
// grow; a newer major schema is refused with a clear error.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"
#include "checkpoint/model.h"

namespace cryo::checkpoint {

// 2: open files as descriptions shared by id (schema 1 images still decode).
inline constexpr int kProcessSchema = 2;

std::string encode_process(Process const& process);
Result<Process> decode_process(std::string_view text);

std::string to_hex(std::vector<uint8_t> const& bytes);
Result<std::vector<uint8_t>> from_hex(std::string_view text);

} // namespace cryo::checkpoint
