// Removing a backup's files from the backups volume: the archive, its checksum file and what an
// interrupted write left (`<archive>.partial`, the SQLite snapshot beside it). The body of the
// archive removal Job that retention runs when it deletes a scheduled OkamiBackup. It removes only
// regular files that sit directly in the backups directory under the archive's own name: never a
// symlink, never anything outside that directory, never a directory.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace okami::backup {

struct RemovalSummary {
  std::vector<std::string> removed;  // file names, in the order removed
  uint64_t bytes = 0;                // their total size
};

// Removes `archive` (which must be `<root>/<name>.tar` or `.tar.gz`) and its companions. Files
// already gone are skipped, so a retried removal succeeds. Errors: kInvalidArgument (archive not a
// .tar/.tar.gz directly under root), kIntegrity (one of the names is a symlink or not a regular
// file: nothing is removed), kIo (a removal failed).
common::Result<RemovalSummary> remove_archive(const std::filesystem::path& root, const std::filesystem::path& archive);

}  // namespace okami::backup
