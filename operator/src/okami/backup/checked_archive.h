// The one gate between a backup archive and whatever reads it. verify and restore both walk the
// archive through a CheckedArchiveVisitor, which checks every entry (safe path, regular file, seen
// once, no file where a directory must be, a name any filesystem holds, nothing in lost+found,
// manifest last and bounded) and hashes it before the subclass sees a byte; then
// read_checked_archive checks the archive's checksum and its manifest. A check added here protects
// both paths. Sits on read_archive (archive.h), below verify and restore.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "common/result.h"
#include "okami/backup/archive.h"
#include "okami/backup/manifest.h"

namespace okami::backup {

// Walks an archive's entries in order. Every entry passes the shared checks and is hashed here;
// the manifest is kept in memory and never handed on. A subclass only sees files that passed:
// begin_file, then their bytes, then end_file with the size and SHA-256 the base measured. Any
// non-ok Status (the base's kIntegrity or the subclass's own) stops the walk.
class CheckedArchiveVisitor : public ArchiveVisitor {
 public:
  common::Status on_entry(const ArchiveEntry& entry) final;
  common::Status on_data(const void* data, size_t size) final;
  common::Status on_entry_end() final;

  bool manifest_seen() const { return manifest_seen_; }
  const std::string& manifest_text() const { return manifest_text_; }
  // Every entry read so far, the manifest included, with its measured size, SHA-256 and mode.
  const std::map<std::string, FileEntry>& seen() const { return seen_; }

 protected:
  virtual common::Status begin_file(const std::string& path) = 0;
  virtual common::Status file_data(const void* data, size_t size) = 0;
  virtual common::Status end_file(const FileEntry& file) = 0;
  // Writes all of `data` to `fd`, retrying on EINTR. Errors: kIo naming `what`.
  static common::Status write_all(int fd, const void* data, size_t size, const std::string& what);

 private:
  common::Status check_entry(const ArchiveEntry& entry);
  common::Status add_file_path(const std::string& path);

  struct SlashFirst {
    bool operator()(const std::string& a, const std::string& b) const;
  };

  bool is_manifest_ = false;
  bool manifest_seen_ = false;
  std::string manifest_text_;
  FileEntry current_;
  std::unique_ptr<Sha256> sha_;
  std::map<std::string, FileEntry> seen_;
  std::set<std::string, SlashFirst> file_paths_;  // every file seen so far, not the manifest
};

// What the caller was told to expect of the archive; unset fields are not checked.
struct ArchiveExpectations {
  std::string archive_sha256;  // required: see expected_archive_sha256
  std::optional<std::string> stack_uid;
  std::optional<std::string> format;  // manifest data format name, e.g. "chroma-0.5"
  std::optional<uint64_t> archive_size;  // bytes of the whole archive (recorded beside it in a store)
};

// The SHA-256 an archive must have: `given` when set, otherwise the one in the checksum file beside
// the archive. Errors: kIntegrity when there is neither ("no archive checksum to <purpose> against").
common::Result<std::string> expected_archive_sha256(const std::filesystem::path& archive,
                                                    const std::optional<std::string>& given,
                                                    const std::string& purpose);

struct CheckedArchive {
  ArchiveReadSummary read;
  Manifest manifest;
};

// Reads the archive once through `visitor`, then checks in this order: the archive's SHA-256, a
// manifest present and parseable, every file against it (compare_with_manifest), the stack UID and
// the data format. Errors: kNotFound/kIo when the archive cannot be read; kIntegrity for every
// rejection, or whatever the visitor returned. Blocks on reading the whole archive.
common::Result<CheckedArchive> read_checked_archive(const std::filesystem::path& archive,
                                                    const ArchiveExpectations& expect,
                                                    CheckedArchiveVisitor& visitor);
// The same over any source (an archive read back from an object store), checking the size first
// when expect.archive_size is set.
common::Result<CheckedArchive> read_checked_archive(ByteSource& source, const ArchiveExpectations& expect,
                                                    CheckedArchiveVisitor& visitor);

// Every file the manifest lists was seen in the archive with the same size, SHA-256 and mode, and
// nothing else was (besides the manifest itself). Errors: kIntegrity naming the first difference.
common::Status compare_with_manifest(const Manifest& manifest, const std::map<std::string, FileEntry>& seen);

}  // namespace okami::backup
