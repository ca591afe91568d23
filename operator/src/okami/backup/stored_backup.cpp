#include "okami/backup/stored_backup.h"

#include <nlohmann/json.hpp>

#include "okami/backup/store/multipart_upload.h"
#include "okami/backup/store/s3_protocol.h"

namespace okami::backup {
using common::ErrorCode;
using common::fail;
using common::Result;
using common::Status;
using nlohmann::json;

namespace {

constexpr size_t kMaxRecordBytes = 80u << 20;  // a manifest is at most 64 MiB (checked_archive)

// The multipart upload as the archive's sink.
class UploadSink final : public ByteSink {
 public:
  explicit UploadSink(MultipartUpload& upload) : upload_(upload) {}
  Status write(const void* data, size_t size) override { return upload_.write(data, size); }

 private:
  MultipartUpload& upload_;
};

bool is_archive_key_of(const std::string& key, const std::string& name) {
  return key == stored_archive_key(name, Compression::kNone) || key == stored_archive_key(name, Compression::kGzip);
}

bool is_hex_sha256(const std::string& s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// The checksum the operator signed for a backup (when the caller has one) is the one manifest.json
// records: otherwise the store holds another archive than the one that was verified and signed,
// and nothing of it is trusted.
Status check_signed_checksum(ObjectStore& store, const StoredBackupRecord& record,
                             const std::optional<std::string>& signed_sha256) {
  if (!signed_sha256 || *signed_sha256 == record.archive_sha256) return common::ok();
  return fail(ErrorCode::kIntegrity, "the store holds another archive than the one signed: " +
                                         display_url(store.config(), stored_manifest_key(record.name)) +
                                         " records SHA-256 " + record.archive_sha256 + ", the signed one is " +
                                         *signed_sha256);
}

}  // namespace

namespace {

// The record of a stored backup about to be read (verified or restored), checked against the
// signed checksum the caller expects; `options` then names the archive and expects exactly the
// size and SHA-256 manifest.json records.
template <typename Options>
Result<StoredBackupRecord> read_for(ObjectStore& store, const std::string& name, Options& options) {
  auto record = read_stored_record(store, name);
  if (!record) return fail(record.error());
  if (auto st = check_signed_checksum(store, *record, options.expect_archive_sha256); !st) return fail(st.error());
  options.archive = display_url(store.config(), record->archive_key);
  options.expect_archive_sha256 = record->archive_sha256;
  options.expect_archive_size = record->archive_size;
  return record;
}

}  // namespace

Status validate_backup_name(const std::string& name) {
  if (name.empty() || name.size() > 200 || name == "." || name == ".." ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return fail(ErrorCode::kInvalidArgument,
                "backup name '" + name + "' must be 1-200 of [A-Za-z0-9._-], not '.' or '..'");
  }
  return common::ok();
}

std::string stored_archive_key(const std::string& name, Compression compression) {
  return name + (compression == Compression::kGzip ? "/archive.tar.gz" : "/archive.tar");
}

std::string stored_manifest_key(const std::string& name) { return name + "/" + kStoredManifestName; }

std::string to_json(const StoredBackupRecord& record) {
  json j = {{"apiVersion", kStoredRecordVersion},
            {"backupName", record.name},
            {"archive", {{"key", record.archive_key}, {"sizeBytes", record.archive_size}, {"sha256", record.archive_sha256}}},
            {"manifestDigest", manifest_digest(record.manifest)},
            {"manifest", json::parse(canonical_json(record.manifest))}};
  return j.dump(2) + "\n";
}

Result<StoredBackupRecord> parse_stored_record(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  auto bad = [](const std::string& why) { return fail(ErrorCode::kParse, "stored backup manifest: " + why); };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("apiVersion", json()) != kStoredRecordVersion) {
    return bad(std::string("apiVersion is not ") + kStoredRecordVersion);
  }
  StoredBackupRecord r;
  const json& a = j.value("archive", json());
  if (!j.contains("backupName") || !j["backupName"].is_string() || !a.is_object() || !a.contains("key") ||
      !a["key"].is_string() || !a.contains("sha256") || !a["sha256"].is_string() || !a.contains("sizeBytes") ||
      !a["sizeBytes"].is_number_unsigned() || !j.contains("manifest") || !j["manifest"].is_object()) {
    return bad("backupName, archive.key, archive.sha256, archive.sizeBytes and manifest are required");
  }
  r.name = j["backupName"].get<std::string>();
  r.archive_key = a["key"].get<std::string>();
  r.archive_sha256 = a["sha256"].get<std::string>();
  r.archive_size = a["sizeBytes"].get<uint64_t>();
  if (!validate_backup_name(r.name)) return bad("invalid backupName");
  if (!is_archive_key_of(r.archive_key, r.name)) return bad("archive.key '" + r.archive_key + "' is not under " + r.name + "/");
  if (!is_hex_sha256(r.archive_sha256)) return bad("archive.sha256 is not a SHA-256 hex digest");
  auto manifest = parse_manifest(j["manifest"].dump());
  if (!manifest) return bad(manifest.error().message);
  r.manifest = std::move(*manifest);
  if (j.value("manifestDigest", std::string()) != manifest_digest(r.manifest)) return bad("manifestDigest does not match");
  return r;
}

Result<StoredBackupSummary> upload_backup(ObjectStore& store, const std::string& name, const BackupOptions& options,
                                          size_t part_size) {
  if (auto st = validate_backup_name(name); !st) return fail(st.error());
  const std::string manifest_key = stored_manifest_key(name);
  // Never overwrite a backup that exists: the name is taken once its manifest.json is there.
  auto existing = store.head(manifest_key);
  if (existing) {
    return fail(ErrorCode::kInvalidArgument,
                display_url(store.config(), manifest_key) + " already exists: backups never overwrite");
  }
  if (existing.error().code != ErrorCode::kNotFound) return fail(existing.error());

  StoredBackupSummary out;
  out.record.name = name;
  out.record.archive_key = stored_archive_key(name, options.compression);
  auto upload = store.begin_upload(out.record.archive_key, part_size);
  if (!upload) return fail(upload.error());
  UploadSink sink(**upload);
  auto backup = stream_backup(options, sink);
  if (!backup) {
    (void)(*upload)->abort();  // no object appears; the destructor retries a failed abort
    return fail(backup.error());
  }
  auto archive = (*upload)->finish();
  if (!archive) return fail(archive.error());
  // What the store holds is what was hashed, or nothing is recorded.
  auto stored = store.head(out.record.archive_key);
  if (!stored) return fail(stored.error());
  if (archive->size != backup->archive_size || stored->size != backup->archive_size) {
    return fail(ErrorCode::kIntegrity, display_url(store.config(), out.record.archive_key) + " holds " +
                                           std::to_string(stored->size) + " bytes, " +
                                           std::to_string(backup->archive_size) + " were written");
  }
  out.record.archive_size = backup->archive_size;
  out.record.archive_sha256 = backup->archive_sha256;
  out.record.manifest = backup->manifest;
  // Last: from this PUT on the backup exists.
  if (auto put = store.put(manifest_key, to_json(out.record)); !put) return fail(put.error());
  out.backup = std::move(*backup);
  out.archive_url = display_url(store.config(), out.record.archive_key);
  out.manifest_url = display_url(store.config(), manifest_key);
  return out;
}

Result<StoredBackupRecord> read_stored_record(ObjectStore& store, const std::string& name) {
  if (auto st = validate_backup_name(name); !st) return fail(st.error());
  const std::string key = stored_manifest_key(name);
  std::string text;
  auto got = store.get(key, [&](const char* data, size_t size) -> Status {
    if (text.size() + size > kMaxRecordBytes) {
      return fail(ErrorCode::kIntegrity, display_url(store.config(), key) + " is larger than any manifest");
    }
    text.append(data, size);
    return common::ok();
  });
  if (!got) return fail(got.error());
  auto record = parse_stored_record(text);
  if (!record) return fail(record.error());
  if (record->name != name) {
    return fail(ErrorCode::kIntegrity, display_url(store.config(), key) + " describes backup '" + record->name + "'");
  }
  return record;
}

Result<std::vector<std::string>> list_stored_backups(ObjectStore& store) {
  auto objects = store.list("");
  if (!objects) return fail(objects.error());
  const std::string suffix = std::string("/") + kStoredManifestName;
  std::vector<std::string> names;
  for (const auto& o : *objects) {
    if (o.key.size() <= suffix.size() || !o.key.ends_with(suffix)) continue;
    std::string name = o.key.substr(0, o.key.size() - suffix.size());
    if (validate_backup_name(name)) names.push_back(std::move(name));
  }
  return names;
}

Result<VerifiedBackup> verify_stored_backup(ObjectStore& store, const std::string& name, VerifyOptions options) {
  auto record = read_for(store, name, options);
  if (!record) return fail(record.error());
  StoredObjectSource source(store, record->archive_key);
  auto verified = verify_backup(options, source);
  if (!verified) return verified;
  // The manifest inside the archive is the one manifest.json recorded.
  if (verified->manifest != record->manifest) {
    return fail(ErrorCode::kIntegrity, "the manifest in " + options.archive.string() + " differs from its manifest.json");
  }
  return verified;
}

Result<RestoreSummary> restore_stored_backup(ObjectStore& store, const std::string& name, RestoreOptions options) {
  auto record = read_for(store, name, options);
  if (!record) return fail(record.error());
  // The archive's recorded SHA-256 pins every byte restored, the manifest inside it included, so
  // manifest.json's copy of the manifest adds nothing here (and a check after the files are in
  // place could not leave the target as it was).
  StoredObjectSource source(store, record->archive_key);
  return restore_backup(options, source);
}

Result<RemovalSummary> remove_stored_backup(ObjectStore& store, const std::string& name) {
  if (auto st = validate_backup_name(name); !st) return fail(st.error());
  // manifest.json first: from its removal on no reader counts the backup, whatever is left.
  const std::vector<std::string> keys = {stored_manifest_key(name), stored_archive_key(name, Compression::kNone),
                                         stored_archive_key(name, Compression::kGzip)};
  RemovalSummary summary;
  for (const auto& key : keys) {
    auto info = store.head(key);
    if (!info) {
      if (info.error().code == ErrorCode::kNotFound) continue;  // already gone: a retried removal
      return fail(info.error());
    }
    if (auto st = store.remove(key); !st) return fail(st.error());
    summary.removed.push_back(key);
    summary.bytes += info->size;
  }
  return summary;
}

}  // namespace okami::backup
