// Verification of a backup archive and the signed result the operator trusts. verify_backup
// re-reads the archive, checks every file against the manifest and the archive against its
// checksum, runs `PRAGMA integrity_check` on the archived database and recomputes its collections;
// sign()/verify_signature() put an HMAC-SHA256 over the result. check_verification is what the
// upgrade gate calls before it believes an OkamiBackup is Verified.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"
#include "okami/backup/archive.h"
#include "okami/backup/manifest.h"

namespace okami::backup {

struct VerificationResult {
  std::string checked_at;        // RFC 3339
  std::string archive_sha256;
  std::string sqlite_integrity;  // "ok", or "absent" for a backup of an empty data dir
  bool collections_match = false;
  std::string manifest_digest;   // manifest_digest(manifest)
  std::string stack_uid;
  std::string data_format;       // manifest data format name, re-read from the archived database
  bool verified = false;         // every check above passed
  // The OkamiBackup the operator bound this result to when it signed it (empty in a verify Job's
  // unsigned report): a signed result names the one backup it is valid for.
  std::string backup_namespace;
  std::string backup_name;
  std::string backup_uid;
  std::string archive_path;
  std::string signature;         // hex HMAC-SHA256 over canonical_json(*this) without signature
  bool operator==(const VerificationResult&) const = default;
};

// Canonical JSON of every field except the signature: the signed bytes.
std::string signing_payload(const VerificationResult& result);
// Full JSON (with signature), as printed by `verify-backup` and copied into OkamiBackup status.
std::string to_json(const VerificationResult& result);
// Errors: kParse on malformed input or wrong field types. The binding fields may be absent (a
// verify Job's report); they are then empty.
common::Result<VerificationResult> parse_verification_result(const std::string& text);

// Hex HMAC-SHA256 of `data` under `key`: the signature of every result a Job reports.
std::string hmac_hex(const std::string& key, const std::string& data);

// Sets result.signature. Errors: kInvalidArgument when the key is shorter than 16 bytes.
common::Status sign(VerificationResult& result, const std::string& key);
// True only for a result signed by `key`, compared in constant time.
bool verify_signature(const VerificationResult& result, const std::string& key);
// Reads a signing key from a file (a mounted Secret); a trailing newline is not part of the key.
// Errors: kNotFound, kInvalidArgument (shorter than 16 bytes).
common::Result<std::string> load_key(const std::filesystem::path& file);
// The first 8 hex digits of the key's SHA-256: logged at start-up so that an admin can tell
// whether two operator runs (or an operator and a Secret) hold the same key without seeing it.
std::string key_fingerprint(const std::string& key);

struct VerifyOptions {
  std::filesystem::path archive;
  // Expected archive SHA-256; default: read from checksum_path(archive), which must exist.
  std::optional<std::string> expect_archive_sha256;
  std::optional<uint64_t> expect_archive_size;  // checked when set (a store records it)
  std::optional<std::string> expect_stack_uid;
  std::optional<std::string> expect_format;  // data format now on disk, e.g. "chroma-0.5"
  std::string checked_at;                    // RFC 3339, from the caller's Clock
  std::filesystem::path temp_dir;            // where the archived database is extracted
};

struct VerifiedBackup {
  VerificationResult result;  // verified == true, not yet signed
  Manifest manifest;
};

// Errors: kIntegrity with the reason for every rejection (corrupt, truncated, tampered, wrong
// stack, wrong format, failing integrity check, collections mismatch); kNotFound/kIo when the
// archive cannot be read. Never returns a result with verified == false. Blocks on reading the
// whole archive once and on SQLite's integrity check.
common::Result<VerifiedBackup> verify_backup(const VerifyOptions& options);
// The same over an archive read from `source` (an object store); options.archive only names it and
// expect_archive_sha256 is required (kInvalidArgument without it). Only the archived database is
// copied to options.temp_dir.
common::Result<VerifiedBackup> verify_backup(const VerifyOptions& options, ByteSource& source);

// The gate's check of a stored result. Errors (kIntegrity), each with its own message: unsigned or
// wrongly signed, not verified, another stack's backup, taken from another data format.
common::Status check_verification(const VerificationResult& result, const std::string& key,
                                  const std::string& stack_uid, const std::string& data_format);

}  // namespace okami::backup
