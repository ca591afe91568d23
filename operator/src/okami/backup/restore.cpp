#include "okami/backup/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <sstream>

#include "okami/backup/archive.h"
#include "okami/backup/verify.h"

namespace okami::backup {
namespace fs = std::filesystem;
using common::ErrorCode;
using common::fail;
using common::Result;
using common::Status;

namespace {

constexpr size_t kMaxManifestBytes = 64u << 20;

Status reject(const std::string& why) { return fail(ErrorCode::kIntegrity, why); }

// A target is usable when it does not exist yet or holds nothing but a filesystem's lost+found.
Status prepare_target(const fs::path& target) {
  std::error_code ec;
  if (!fs::exists(target, ec)) {
    fs::create_directories(target, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + target.string() + ": " + ec.message());
    return common::ok();
  }
  if (!fs::is_directory(target, ec)) return fail(ErrorCode::kInvalidArgument, target.string() + " is not a directory");
  for (const auto& entry : fs::directory_iterator(target, ec)) {
    if (entry.path().filename() == "lost+found") continue;
    return fail(ErrorCode::kInvalidArgument, target.string() + " is not empty (" + entry.path().filename().string() +
                                                 "): restore only into an empty volume, nothing is overwritten");
  }
  if (ec) return fail(ErrorCode::kIo, "cannot list " + target.string() + ": " + ec.message());
  return common::ok();
}

std::string random_suffix() {
  std::random_device rd;
  std::ostringstream out;
  out << std::hex << rd() << rd();
  return out.str();
}

// A staging dir this call created: removed (with what it extracted) unless committed.
struct Staging {
  fs::path dir;
  bool committed = false;
  ~Staging() {
    std::error_code ec;
    if (!dir.empty() && !committed) fs::remove_all(dir, ec);
  }
};

class RestoreVisitor final : public ArchiveVisitor {
 public:
  RestoreVisitor(fs::path chroma_staging, std::optional<fs::path> memory_staging)
      : chroma_(std::move(chroma_staging)), memory_(std::move(memory_staging)) {}
  ~RestoreVisitor() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status on_entry(const ArchiveEntry& entry) override {
    if (manifest_seen_) return reject("entry '" + entry.path + "' follows the manifest, which must be last");
    if (!is_safe_archive_path(entry.path)) return reject("refusing unsafe path in archive: '" + entry.path + "'");
    if (entry.type != EntryType::kRegular) {
      return reject("refusing '" + entry.path + "': links and special files are never restored");
    }
    if (seen_.count(entry.path)) return reject("'" + entry.path + "' appears twice in the archive");
    current_ = FileEntry{entry.path, 0, "", entry.mode};
    sha_ = std::make_unique<Sha256>();
    is_manifest_ = entry.path == kManifestEntry;
    if (is_manifest_) return common::ok();
    fs::path dest;
    if (entry.path.starts_with(kChromaPrefix)) {
      dest = chroma_ / entry.path.substr(std::string(kChromaPrefix).size());
    } else if (memory_) {
      dest = *memory_ / entry.path.substr(std::string(kMemoryPrefix).size());
    } else {
      ++skipped_memory_;
      return common::ok();
    }
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + dest.parent_path().string() + ": " + ec.message());
    fd_ = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) return fail(ErrorCode::kIo, "cannot create " + dest.string() + ": " + std::strerror(errno));
    return common::ok();
  }

  Status on_data(const void* data, size_t size) override {
    sha_->update(data, size);
    current_.size += size;
    if (is_manifest_) {
      if (manifest_text_.size() + size > kMaxManifestBytes) return reject("manifest too large");
      manifest_text_.append(static_cast<const char*>(data), size);
    }
    if (fd_ < 0) return common::ok();
    const char* p = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::write(fd_, p + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(ErrorCode::kIo, "write " + current_.path + ": " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    bytes_ += size;
    return common::ok();
  }

  Status on_entry_end() override {
    current_.sha256 = sha_->hex_digest();
    seen_.insert({current_.path, current_});
    if (is_manifest_) manifest_seen_ = true;
    if (fd_ >= 0) {
      const bool ok = ::fchmod(fd_, current_.mode & 0777) == 0 && ::fsync(fd_) == 0;
      const bool closed = ::close(fd_) == 0;
      fd_ = -1;
      if (!ok || !closed) return fail(ErrorCode::kIo, "cannot finish " + current_.path + ": " + std::strerror(errno));
      ++files_;
    }
    return common::ok();
  }

  bool manifest_seen() const { return manifest_seen_; }
  const std::string& manifest_text() const { return manifest_text_; }
  const std::map<std::string, FileEntry>& seen() const { return seen_; }
  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t skipped_memory() const { return skipped_memory_; }

 private:
  fs::path chroma_;
  std::optional<fs::path> memory_;
  int fd_ = -1;
  bool is_manifest_ = false;
  bool manifest_seen_ = false;
  std::string manifest_text_;
  FileEntry current_;
  std::unique_ptr<Sha256> sha_;
  std::map<std::string, FileEntry> seen_;
  uint64_t files_ = 0;
  uint64_t bytes_ = 0;
  uint64_t skipped_memory_ = 0;
};

// Moves everything from staging into target (which held nothing), refusing to replace anything.
Status commit(Staging& staging, const fs::path& target) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(staging.dir, ec)) {
    const fs::path dest = target / entry.path().filename();
    if (::renameat2(AT_FDCWD, entry.path().c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) != 0) {
      return fail(ErrorCode::kIo, "cannot move " + entry.path().string() + " into place: " + std::strerror(errno));
    }
  }
  if (ec) return fail(ErrorCode::kIo, "cannot list " + staging.dir.string() + ": " + ec.message());
  staging.committed = true;
  fs::remove(staging.dir, ec);  // empty now
  return common::ok();
}

}  // namespace

Result<RestoreSummary> restore_backup(const RestoreOptions& options) {
  std::string expected_sha;
  if (options.expect_archive_sha256) {
    expected_sha = *options.expect_archive_sha256;
  } else {
    auto from_file = read_checksum_file(checksum_path(options.archive));
    if (!from_file) return fail(ErrorCode::kIntegrity, "no archive checksum to restore against: " + from_file.error().message);
    expected_sha = *from_file;
  }
  std::error_code ec;
  if (!fs::is_regular_file(options.archive, ec)) return fail(ErrorCode::kNotFound, "no archive at " + options.archive.string());
  if (auto st = prepare_target(options.target); !st) return fail(st.error());
  if (options.memory_target) {
    if (auto st = prepare_target(*options.memory_target); !st) return fail(st.error());
  }
  const std::string name = ".okami-restore-" + random_suffix();
  Staging chroma_staging{options.target / name};
  Staging memory_staging;
  fs::create_directory(chroma_staging.dir, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot create " + chroma_staging.dir.string() + ": " + ec.message());
  if (options.memory_target) {
    memory_staging.dir = *options.memory_target / name;
    fs::create_directory(memory_staging.dir, ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + memory_staging.dir.string() + ": " + ec.message());
  }
  RestoreVisitor visitor(chroma_staging.dir,
                         options.memory_target ? std::optional<fs::path>(memory_staging.dir) : std::nullopt);
  auto read = read_archive(options.archive, visitor);
  if (!read) return fail(read.error());
  if (read->sha256 != expected_sha) {
    return fail(ErrorCode::kIntegrity, "archive SHA-256 " + read->sha256 + " does not match the recorded " + expected_sha);
  }
  if (!visitor.manifest_seen()) return fail(ErrorCode::kIntegrity, "the archive has no manifest");
  auto manifest = parse_manifest(visitor.manifest_text());
  if (!manifest) return fail(ErrorCode::kIntegrity, "unreadable manifest: " + manifest.error().message);
  if (auto st = compare_with_manifest(*manifest, visitor.seen()); !st) return fail(st.error());
  if (options.expect_stack_uid && manifest->stack.uid != *options.expect_stack_uid) {
    return fail(ErrorCode::kIntegrity, "backup of another stack (uid " + manifest->stack.uid + ", expected " +
                                           *options.expect_stack_uid + ")");
  }
  if (options.expect_format && manifest->data_format.name != *options.expect_format) {
    return fail(ErrorCode::kIntegrity, "backup holds data format '" + manifest->data_format.name + "', expected '" +
                                           *options.expect_format + "'");
  }
  if (auto st = commit(chroma_staging, options.target); !st) return fail(st.error());
  if (options.memory_target) {
    if (auto st = commit(memory_staging, *options.memory_target); !st) return fail(st.error());
  }
  RestoreSummary summary;
  summary.files = visitor.files();
  summary.bytes = visitor.bytes();
  summary.skipped_memory_files = visitor.skipped_memory();
  summary.archive_sha256 = read->sha256;
  summary.manifest = std::move(*manifest);
  return summary;
}

}  // namespace okami::backup
