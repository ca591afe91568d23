// Backups in an S3-compatible object store. One backup is two objects under the configured prefix:
//   <name>/archive.tar (or archive.tar.gz)  the archive, streamed by a multipart upload as
//                                           stream_backup writes it (one part in memory)
//   <name>/manifest.json                    the manifest with the archive's key, size and SHA-256,
//                                           written LAST with a single PUT
// A backup exists only once its manifest.json does: a listing counts nothing else, and a reader
// checks the archive's size and SHA-256 against it. An upload that breaks off (a crash, a kill, a
// network failure) leaves at most an archive without manifest.json, which no reader takes for a
// backup and the next upload of that name replaces; a complete backup is never overwritten. A
// removal takes manifest.json first, so a removal that breaks off leaves no backup either.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "okami/backup/archive.h"
#include "okami/backup/manifest.h"
#include "okami/backup/removal.h"
#include "okami/backup/restore.h"
#include "okami/backup/store/object_store.h"
#include "okami/backup/verify.h"

namespace okami::backup {

inline constexpr const char* kStoredManifestName = "manifest.json";
inline constexpr const char* kStoredRecordVersion = "okami.io/stored-backup/v1";

// A backup name is one key segment: 1-200 of [A-Za-z0-9._-], not "." or "..". Errors:
// kInvalidArgument.
common::Status validate_backup_name(const std::string& name);
std::string stored_archive_key(const std::string& name, Compression compression);
std::string stored_manifest_key(const std::string& name);

// What manifest.json holds.
struct StoredBackupRecord {
  std::string name;
  std::string archive_key;  // relative to the configured prefix: <name>/archive.tar[.gz]
  uint64_t archive_size = 0;
  std::string archive_sha256;
  Manifest manifest;
  bool operator==(const StoredBackupRecord&) const = default;
};

std::string to_json(const StoredBackupRecord& record);
// Errors: kParse for malformed text, a wrong version, or an archive key outside <name>/.
common::Result<StoredBackupRecord> parse_stored_record(const std::string& text);

struct StoredBackupSummary {
  BackupSummary backup;  // archive_sha256, archive_size, manifest, skipped
  StoredBackupRecord record;
  std::string archive_url;   // for messages: endpoint/bucket/prefix/key
  std::string manifest_url;
};

// Streams the backup of `options` (options.out unused, options.temp_dir holds the database
// snapshot) into the store as `name`, then writes its manifest.json. Errors: kInvalidArgument (bad
// name, a complete backup of that name exists), kIntegrity (the store reports another size than
// was sent), those of stream_backup and of ObjectStore. On any error the multipart upload is
// aborted and no manifest.json is written.
common::Result<StoredBackupSummary> upload_backup(ObjectStore& store, const std::string& name,
                                                  const BackupOptions& options,
                                                  size_t part_size = kDefaultPartSize);

// Reads and parses <name>/manifest.json (at most 80 MiB). Errors: kNotFound when there is none
// (no backup of that name, or one that never completed), kIntegrity when it names another
// backup, kParse, and those of ObjectStore.
common::Result<StoredBackupRecord> read_stored_record(ObjectStore& store, const std::string& name);

// Names of the complete backups (those with a manifest.json), in key order.
common::Result<std::vector<std::string>> list_stored_backups(ObjectStore& store);

// verify_backup of a stored backup, reading the archive back from the store in one streamed pass
// (only the archived database is copied, to options.temp_dir). The size and SHA-256 come from
// manifest.json; options.archive and the expected size are set here. A caller's
// expect_archive_sha256 (the checksum the operator signed) must equal the recorded one. Errors:
// kIntegrity when it does not (the store holds another archive than the one signed), those of
// read_stored_record, verify_backup and ObjectStore::get.
common::Result<VerifiedBackup> verify_stored_backup(ObjectStore& store, const std::string& name,
                                                    VerifyOptions options);

// restore_backup of a stored backup, streaming the archive from the store through the same checks
// (size and SHA-256 from manifest.json, every file against the manifest) into options.target;
// options.archive is set here. A caller's expect_archive_sha256 must equal the recorded one,
// checked before the target is touched. Errors: kIntegrity when it does not, those of
// read_stored_record, restore_backup and ObjectStore::get; on failure the targets are left as they
// were.
common::Result<RestoreSummary> restore_stored_backup(ObjectStore& store, const std::string& name,
                                                     RestoreOptions options);

// Removes the stored backup `name`: manifest.json first, so that a removal which breaks off leaves
// no half backup that counts, then archive.tar and archive.tar.gz. Objects already gone are
// skipped, so a retried removal succeeds. The summary names the keys removed (relative to the
// prefix) and their total size. Errors: kInvalidArgument (bad name), those of ObjectStore.
common::Result<RemovalSummary> remove_stored_backup(ObjectStore& store, const std::string& name);

// An object of the store as a ByteSource: ObjectStore::get runs on a thread of its own and hands
// each chunk over (at most one 256 KiB chunk held). The store must not be used by anyone else
// until this is destroyed; destroying it early stops the read.
class StoredObjectSource final : public ByteSource {
 public:
  StoredObjectSource(ObjectStore& store, std::string key);
  ~StoredObjectSource() override;
  StoredObjectSource(const StoredObjectSource&) = delete;
  StoredObjectSource& operator=(const StoredObjectSource&) = delete;
  common::Result<size_t> read(void* buffer, size_t capacity) override;

 private:
  struct Shared;
  std::unique_ptr<Shared> shared_;
};

}  // namespace okami::backup
