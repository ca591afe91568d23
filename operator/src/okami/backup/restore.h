// Restore of a backup archive into an empty volume: the only way back across a data-format
// boundary (spec.restore.fromBackup). Extracts into a staging dir inside the target, checks every
// file against the manifest and the archive against its checksum in the same pass, and moves the
// files into place only when all match. Refuses non-empty targets, paths that escape, and links.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"
#include "okami/backup/archive.h"
#include "okami/backup/manifest.h"

namespace okami::backup {

struct RestoreOptions {
  std::filesystem::path archive;
  std::filesystem::path target;                        // receives chroma/…; empty or absent
  std::optional<std::filesystem::path> memory_target;  // receives memory/…; skipped when unset
  // Expected archive SHA-256; default: read from checksum_path(archive), which must exist.
  std::optional<std::string> expect_archive_sha256;
  std::optional<uint64_t> expect_archive_size;  // checked when set (a store records it)
  // The stack and data format the operator signed for this backup: an archive whose manifest
  // names another refuses to restore (an archive swapped after verification).
  std::optional<std::string> expect_stack_uid;
  std::optional<std::string> expect_format;
};

struct RestoreSummary {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t skipped_memory_files = 0;
  std::string archive_sha256;
  Manifest manifest;
};

// Errors: kInvalidArgument when a target holds anything (other than lost+found); kIntegrity for a
// corrupt, truncated or tampered archive, an entry the shared checks refuse (checked_archive.h:
// an unsafe path, a link or special file, a file where a directory must be), another checksum,
// stack UID or data format than expected; kIo for disk
// failures. Never deletes or overwrites anything it did not create in this call; on failure the
// files it extracted are removed and the target is left as it was. Blocks on disk I/O.
common::Result<RestoreSummary> restore_backup(const RestoreOptions& options);
// The same over an archive read from `source` (an object store): options.archive only names it and
// expect_archive_sha256 is required (kInvalidArgument without it). The archive is read once, as it
// arrives; nothing but the extracted files is written.
common::Result<RestoreSummary> restore_backup(const RestoreOptions& options, ByteSource& source);

}  // namespace okami::backup
