#include "okami/backup/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>

#include "okami/backup/checked_archive.h"

namespace okami::backup {
namespace fs = std::filesystem;
using common::ErrorCode;
using common::fail;
using common::Result;
using common::Status;

namespace {

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

// Writes each checked file into the staging dirs (chroma/… and, when given a target, memory/…);
// the shared base checks and hashes every entry before a byte lands on disk.
class RestoreVisitor final : public CheckedArchiveVisitor {
 public:
  RestoreVisitor(fs::path chroma_staging, std::optional<fs::path> memory_staging)
      : chroma_(std::move(chroma_staging)), memory_(std::move(memory_staging)) {}
  ~RestoreVisitor() override {
    if (fd_ >= 0) ::close(fd_);
  }

  uint64_t files() const { return files_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t skipped_memory() const { return skipped_memory_; }

 private:
  Status begin_file(const std::string& path) override {
    fs::path dest;
    if (path.starts_with(kChromaPrefix)) {
      dest = chroma_ / path.substr(std::string(kChromaPrefix).size());
    } else if (memory_) {
      dest = *memory_ / path.substr(std::string(kMemoryPrefix).size());
    } else {
      ++skipped_memory_;
      return common::ok();
    }
    std::error_code ec;
    fs::create_directories(dest.parent_path(), ec);
    if (ec) return fail(ErrorCode::kIo, "cannot create " + dest.parent_path().string() + ": " + ec.message());
    fd_ = ::open(dest.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) return fail(ErrorCode::kIo, "cannot create " + dest.string() + ": " + std::strerror(errno));
    path_ = path;
    return common::ok();
  }

  Status file_data(const void* data, size_t size) override {
    if (fd_ < 0) return common::ok();
    if (auto st = write_all(fd_, data, size, path_); !st) return st;
    bytes_ += size;
    return common::ok();
  }

  Status end_file(const FileEntry& file) override {
    if (fd_ < 0) return common::ok();
    const bool ok = ::fchmod(fd_, file.mode & 0777) == 0 && ::fsync(fd_) == 0;
    const bool closed = ::close(fd_) == 0;
    fd_ = -1;
    if (!ok || !closed) return fail(ErrorCode::kIo, "cannot finish " + file.path + ": " + std::strerror(errno));
    ++files_;
    return common::ok();
  }

  fs::path chroma_;
  std::optional<fs::path> memory_;
  int fd_ = -1;
  std::string path_;
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

// Extracts through `read_checked` (a file or a source) into staging dirs and moves the files into
// place once every check passed.
template <typename ReadChecked>
Result<RestoreSummary> restore_with(const RestoreOptions& options, const std::string& expected_sha,
                                    ReadChecked&& read_checked) {
  std::error_code ec;
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
  auto checked = read_checked(ArchiveExpectations{expected_sha, options.expect_stack_uid, options.expect_format,
                                                  options.expect_archive_size},
                              visitor);
  if (!checked) return fail(checked.error());
  if (auto st = commit(chroma_staging, options.target); !st) return fail(st.error());
  if (options.memory_target) {
    if (auto st = commit(memory_staging, *options.memory_target); !st) return fail(st.error());
  }
  RestoreSummary summary;
  summary.files = visitor.files();
  summary.bytes = visitor.bytes();
  summary.skipped_memory_files = visitor.skipped_memory();
  summary.archive_sha256 = checked->read.sha256;
  summary.manifest = std::move(checked->manifest);
  return summary;
}

}  // namespace

Result<RestoreSummary> restore_backup(const RestoreOptions& options) {
  auto expected_sha = expected_archive_sha256(options.archive, options.expect_archive_sha256, "restore");
  if (!expected_sha) return fail(expected_sha.error());
  std::error_code ec;
  if (!fs::is_regular_file(options.archive, ec)) {
    return fail(ErrorCode::kNotFound, "no archive at " + options.archive.string());
  }
  return restore_with(options, *expected_sha, [&](const ArchiveExpectations& expect, RestoreVisitor& visitor) {
    return read_checked_archive(options.archive, expect, visitor);
  });
}

Result<RestoreSummary> restore_backup(const RestoreOptions& options, ByteSource& source) {
  if (!options.expect_archive_sha256) {
    return fail(ErrorCode::kInvalidArgument, "restoring " + options.archive.string() + " needs its recorded SHA-256");
  }
  return restore_with(options, *options.expect_archive_sha256,
                      [&](const ArchiveExpectations& expect, RestoreVisitor& visitor) {
                        return read_checked_archive(source, expect, visitor);
                      });
}

}  // namespace okami::backup
