// Streaming backup archives (tar, optionally gzip, via libarchive). write_backup walks the Chroma
// persist dir (and the client's memory dir), snapshots chroma.sqlite3 with SQLite's backup API,
// hashes every file while writing it and appends the manifest as the last entry, plus a
// `<archive>.sha256` file beside it. stream_backup writes the same archive to any ByteSink (an
// object store upload), hashing it in the same pass. read_archive is the one reader used by verify
// and restore, over a file or any ByteSource. Memory stays flat: fixed 1 MiB buffers whatever the
// volume size.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "okami/backup/manifest.h"

namespace okami::backup {

enum class Compression { kNone, kGzip };

struct BackupOptions {
  std::filesystem::path data_dir;                   // the Chroma persist dir
  std::optional<std::filesystem::path> memory_dir;  // CREWAI_STORAGE_DIR, archived under memory/
  std::filesystem::path out;                        // the archive; must not exist yet (write_backup)
  std::filesystem::path temp_dir;  // stream_backup: where the database snapshot is taken (default TMPDIR)
  StackRef stack;
  std::string chroma_version;
  std::string taken_at;  // RFC 3339, from the caller's Clock
  Compression compression = Compression::kNone;
};

struct BackupSummary {
  std::filesystem::path archive;        // write_backup only
  std::filesystem::path checksum_file;  // "<archive>.sha256", sha256sum format; write_backup only
  std::string archive_sha256;
  uint64_t archive_size = 0;
  Manifest manifest;
  std::vector<std::string> skipped;  // SQLite side files covered by the snapshot
};

// Writes the archive to "<out>.partial" and renames it into place only when complete; never
// overwrites an existing file and never modifies the source dirs. Errors: kInvalidArgument (bad
// paths, out exists or lies inside a source), kIo (read/write failures), kConflict (a file changed
// size while being archived: quiesce writers first), kIntegrity (symlinks or special files in a
// source dir). Blocks on disk I/O for the whole archive.
common::Result<BackupSummary> write_backup(const BackupOptions& options);

// Where stream_backup puts the archive, in order, in blocks of at most a few KiB.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // A non-ok Status stops the backup and is what stream_backup returns.
  virtual common::Status write(const void* data, size_t size) = 0;
};

// The archive write_backup would write, streamed to `sink` (options.out is not used); the summary
// carries its SHA-256 and size, computed in the same pass. The database snapshot is a temporary
// file in options.temp_dir, removed before returning. The caller completes the sink (or discards
// it on error). Errors: those of write_backup, or the sink's own error as it returned it.
common::Result<BackupSummary> stream_backup(const BackupOptions& options, ByteSink& sink);

// Path of the checksum file written beside an archive.
std::filesystem::path checksum_path(const std::filesystem::path& archive);
// Reads "<hex>  <name>" from a checksum file. Errors: kNotFound, kParse.
common::Result<std::string> read_checksum_file(const std::filesystem::path& file);

// ---- reading ----

enum class EntryType { kRegular, kDirectory, kSymlink, kHardlink, kOther };

struct ArchiveEntry {
  std::string path;
  EntryType type = EntryType::kOther;
  int64_t size = 0;
  uint32_t mode = 0;  // permission bits
  std::string link_target;
};

// Receives entries in archive order. A non-ok Status from any call stops reading and is returned.
class ArchiveVisitor {
 public:
  virtual ~ArchiveVisitor() = default;
  virtual common::Status on_entry(const ArchiveEntry& entry) = 0;
  virtual common::Status on_data(const void* data, size_t size) = 0;
  virtual common::Status on_entry_end() = 0;
};

struct ArchiveReadSummary {
  std::string sha256;  // of every byte of the archive file, read in the same pass
  uint64_t bytes = 0;
  uint64_t entries = 0;
};

// Where read_archive takes the archive from, in order.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `capacity` bytes into `buffer`; 0 at the end. An error stops the read and is returned.
  virtual common::Result<size_t> read(void* buffer, size_t capacity) = 0;
};

// Reads a tar or tar.gz archive in one streaming pass. Errors: kNotFound, kIo, kIntegrity for a
// corrupt or truncated archive, or whatever the visitor returned.
common::Result<ArchiveReadSummary> read_archive(const std::filesystem::path& archive,
                                                ArchiveVisitor& visitor);
// The same over any source (an object read back from the store); a source error is returned as
// the source gave it. sha256 and bytes cover every byte the source gave, to its end.
common::Result<ArchiveReadSummary> read_archive(ByteSource& source, ArchiveVisitor& visitor);
// The same over bytes in memory (used by the fuzz target). sha256 covers `data`.
common::Result<ArchiveReadSummary> read_archive_memory(const void* data, size_t size,
                                                       ArchiveVisitor& visitor);

}  // namespace okami::backup
