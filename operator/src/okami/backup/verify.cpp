#include "okami/backup/verify.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "okami/backup/archive.h"
#include "okami/backup/checked_archive.h"

namespace okami::backup {
namespace fs = std::filesystem;
using common::ErrorCode;
using common::fail;
using common::Result;
using common::Status;
using nlohmann::json;

namespace {

constexpr size_t kMinKeyBytes = 16;
const std::string kDatabasePath = std::string(kChromaPrefix) + "chroma.sqlite3";

json payload_json(const VerificationResult& r) {
  return {{"checkedAt", r.checked_at},       {"archiveSha256", r.archive_sha256},
          {"sqliteIntegrity", r.sqlite_integrity}, {"collectionsMatch", r.collections_match},
          {"manifestDigest", r.manifest_digest}, {"stackUid", r.stack_uid},
          {"dataFormat", r.data_format},     {"verified", r.verified},
          {"backupNamespace", r.backup_namespace}, {"backupName", r.backup_name},
          {"backupUid", r.backup_uid},       {"archivePath", r.archive_path}};
}


Status reject(const std::string& why) { return fail(ErrorCode::kIntegrity, why); }

// Extracts the archived database to a temporary file for SQLite's checks; the shared base checks
// and hashes every entry.
class VerifyVisitor final : public CheckedArchiveVisitor {
 public:
  explicit VerifyVisitor(fs::path db_copy) : db_copy_(std::move(db_copy)) {}
  ~VerifyVisitor() override {
    if (db_fd_ >= 0) ::close(db_fd_);
  }

  bool has_db() const { return has_db_; }

 private:
  Status begin_file(const std::string& path) override {
    if (path != kDatabasePath) return common::ok();
    db_fd_ = ::open(db_copy_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (db_fd_ < 0) return fail(ErrorCode::kIo, "cannot create " + db_copy_.string() + ": " + std::strerror(errno));
    return common::ok();
  }

  Status file_data(const void* data, size_t size) override {
    return db_fd_ < 0 ? common::ok() : write_all(db_fd_, data, size, db_copy_.string());
  }

  Status end_file(const FileEntry&) override {
    if (db_fd_ < 0) return common::ok();
    if (::close(db_fd_) != 0) return fail(ErrorCode::kIo, "close " + db_copy_.string());
    db_fd_ = -1;
    has_db_ = true;
    return common::ok();
  }

  fs::path db_copy_;
  int db_fd_ = -1;
  bool has_db_ = false;
};

struct TempFile {
  fs::path path;
  ~TempFile() {
    std::error_code ec;
    fs::remove(path, ec);
  }
};

std::string random_suffix() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd();
  return out.str();
}

}  // namespace

std::string hmac_hex(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return to_hex(out, len);
}

std::string signing_payload(const VerificationResult& result) { return payload_json(result).dump(-1, ' ', true); }

std::string to_json(const VerificationResult& result) {
  json j = payload_json(result);
  j["signature"] = result.signature;
  return j.dump(-1, ' ', true);
}

Result<VerificationResult> parse_verification_result(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail(ErrorCode::kParse, "verification result is not a JSON object");
  VerificationResult r;
  for (auto [key, out] : {std::pair{"checkedAt", &r.checked_at}, std::pair{"archiveSha256", &r.archive_sha256},
                          std::pair{"sqliteIntegrity", &r.sqlite_integrity},
                          std::pair{"manifestDigest", &r.manifest_digest}, std::pair{"stackUid", &r.stack_uid},
                          std::pair{"dataFormat", &r.data_format}, std::pair{"signature", &r.signature}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return fail(ErrorCode::kParse, std::string("verification result: ") + key);
    *out = it->get<std::string>();
  }
  for (auto [key, out] : {std::pair{"backupNamespace", &r.backup_namespace}, std::pair{"backupName", &r.backup_name},
                          std::pair{"backupUid", &r.backup_uid}, std::pair{"archivePath", &r.archive_path}}) {
    auto it = j.find(key);
    if (it == j.end()) continue;
    if (!it->is_string()) return fail(ErrorCode::kParse, std::string("verification result: ") + key);
    *out = it->get<std::string>();
  }
  for (auto [key, out] : {std::pair{"collectionsMatch", &r.collections_match}, std::pair{"verified", &r.verified}}) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_boolean()) return fail(ErrorCode::kParse, std::string("verification result: ") + key);
    *out = it->get<bool>();
  }
  return r;
}

Status sign(VerificationResult& result, const std::string& key) {
  if (key.size() < kMinKeyBytes) return fail(ErrorCode::kInvalidArgument, "signing key shorter than 16 bytes");
  result.signature = hmac_hex(key, signing_payload(result));
  return common::ok();
}

bool verify_signature(const VerificationResult& result, const std::string& key) {
  if (key.size() < kMinKeyBytes || result.signature.empty()) return false;
  const std::string expected = hmac_hex(key, signing_payload(result));
  if (expected.size() != result.signature.size()) return false;
  return CRYPTO_memcmp(expected.data(), result.signature.data(), expected.size()) == 0;
}

Result<std::string> load_key(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read key file " + file.string());
  std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  if (key.size() < kMinKeyBytes) {
    return fail(ErrorCode::kInvalidArgument, "key in " + file.string() + " is shorter than 16 bytes");
  }
  return key;
}

std::string key_fingerprint(const std::string& key) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 4 && i < len; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 0xf]);
  }
  return out;
}

namespace {

// Reads the archive through `read` (a file or a source) and checks the archived database.
template <typename ReadChecked>
Result<VerifiedBackup> verify_with(const VerifyOptions& options, const std::string& expected_sha,
                                   ReadChecked&& read_checked) {
  const fs::path temp_dir = options.temp_dir.empty() ? fs::temp_directory_path() : options.temp_dir;
  TempFile db_copy{temp_dir / (".okami-verify-" + random_suffix() + ".sqlite3")};
  VerifyVisitor visitor(db_copy.path);
  ArchiveExpectations expect{expected_sha, options.expect_stack_uid, options.expect_format,
                             options.expect_archive_size};
  auto checked = read_checked(expect, visitor);
  if (!checked) return fail(checked.error());
  const auto& read = checked->read;
  auto& manifest = checked->manifest;

  VerificationResult result;
  result.checked_at = options.checked_at;
  result.archive_sha256 = read.sha256;
  result.manifest_digest = manifest_digest(manifest);
  result.stack_uid = manifest.stack.uid;
  result.data_format = manifest.data_format.name;
  if (visitor.has_db()) {
    auto db = chroma::ReadOnlyDatabase::open(db_copy.path);
    if (!db) return fail(ErrorCode::kIntegrity, "archived database cannot be opened: " + db.error().message);
    auto rows = db->query("PRAGMA integrity_check");
    if (!rows) return fail(ErrorCode::kIntegrity, "integrity check failed to run: " + rows.error().message);
    result.sqlite_integrity = rows->empty() ? "no answer" : (*rows)[0][0];
    if (result.sqlite_integrity != "ok") {
      return fail(ErrorCode::kIntegrity, "archived database fails PRAGMA integrity_check: " + result.sqlite_integrity);
    }
    auto format = chroma::detect_sqlite_format(db_copy.path);
    if (!format) return fail(ErrorCode::kIntegrity, "archived database format: " + format.error().message);
    if (to_record(*format) != manifest.data_format) {
      return fail(ErrorCode::kIntegrity, "archived database is " + format->describe() +
                                             ", not the format the manifest records (" + manifest.data_format.name + ")");
    }
    auto collections = read_collections(db_copy.path);
    if (!collections) return fail(ErrorCode::kIntegrity, "cannot read collections: " + collections.error().message);
    result.collections_match = *collections == manifest.collections;
  } else {
    result.sqlite_integrity = "absent";
    result.collections_match = manifest.collections.empty() && manifest.data_format.migrations.empty();
  }
  if (!result.collections_match) {
    return fail(ErrorCode::kIntegrity, "collections in the archived database differ from the manifest");
  }
  result.verified = true;
  return VerifiedBackup{std::move(result), std::move(manifest)};
}

}  // namespace

Result<VerifiedBackup> verify_backup(const VerifyOptions& options) {
  auto expected_sha = expected_archive_sha256(options.archive, options.expect_archive_sha256, "verify");
  if (!expected_sha) return fail(expected_sha.error());
  return verify_with(options, *expected_sha, [&](const ArchiveExpectations& expect, VerifyVisitor& visitor) {
    return read_checked_archive(options.archive, expect, visitor);
  });
}

Result<VerifiedBackup> verify_backup(const VerifyOptions& options, ByteSource& source) {
  if (!options.expect_archive_sha256) {
    return fail(ErrorCode::kInvalidArgument, "verifying " + options.archive.string() + " needs its recorded SHA-256");
  }
  return verify_with(options, *options.expect_archive_sha256,
                     [&](const ArchiveExpectations& expect, VerifyVisitor& visitor) {
                       return read_checked_archive(source, expect, visitor);
                     });
}

Status check_verification(const VerificationResult& result, const std::string& key, const std::string& stack_uid,
                          const std::string& data_format) {
  if (result.signature.empty()) return reject("verification result is unsigned");
  if (!verify_signature(result, key)) return reject("verification result signature is invalid");
  if (!result.verified) return reject("backup is not verified");
  if (result.stack_uid != stack_uid) return reject("backup belongs to another stack (uid " + result.stack_uid + ")");
  if (result.data_format != data_format) {
    return reject("backup was taken from data format '" + result.data_format + "', the data on disk is '" +
                  data_format + "'");
  }
  return common::ok();
}

}  // namespace okami::backup
