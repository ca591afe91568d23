// The memory reset (okami.io/reset-memories): the client's memory stores under CREWAI_STORAGE_DIR
// are cleared before a client that embeds differently starts. Nothing is deleted: every entry is
// moved into ".okami-reset-<token>" on the same volume, so the stores are empty for the client and
// an admin can still recover them (a verified backup holds them too).
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace okami::memory {

// The directory entries are moved into, for `token`.
std::string aside_dir_name(const std::string& token);

// Moves every entry of `storage` except earlier ".okami-reset-*" directories into
// aside_dir_name(token). Idempotent: a rerun moves what is left. Returns the number moved.
// Errors: kInvalidArgument for a token outside [A-Za-z0-9._-]{1,63} or a missing directory, kIo.
common::Result<int> move_memories_aside(const std::filesystem::path& storage, const std::string& token);

}  // namespace okami::memory
