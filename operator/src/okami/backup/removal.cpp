#include "okami/backup/removal.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "okami/backup/archive.h"

namespace okami::backup {

namespace fs = std::filesystem;
using common::ErrorCode;
using common::fail;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

common::Result<RemovalSummary> remove_archive(const fs::path& root, const fs::path& archive) {
  if (!root.is_absolute() || !archive.is_absolute()) {
    return fail(ErrorCode::kInvalidArgument, "the backups directory and the archive must be absolute paths");
  }
  fs::path dir = root.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();  // "/backups/" -> "/backups"
  const fs::path file = archive.lexically_normal();
  const std::string name = file.filename().string();
  if (file.parent_path() != dir ||
      name.empty() || name[0] == '.' || (!ends_with(name, ".tar") && !ends_with(name, ".tar.gz"))) {
    return fail(ErrorCode::kInvalidArgument,
                archive.string() + " is not a backup archive directly in " + root.string());
  }
  fs::path partial = file;
  partial += ".partial";
  const std::vector<fs::path> names = {file, checksum_path(file), partial,
                                       dir / ("." + name + ".sqlite3.snapshot")};
  // Check every name before removing any: a symlink or a directory under one of them is refused.
  std::vector<std::pair<fs::path, uint64_t>> present;
  for (const auto& p : names) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return fail(ErrorCode::kIo, "cannot read " + p.string() + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      return fail(ErrorCode::kIntegrity, p.string() + " is not a regular file (a symlink or a directory): nothing removed");
    }
    present.emplace_back(p, static_cast<uint64_t>(st.st_size));
  }
  RemovalSummary summary;
  for (const auto& [p, size] : present) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      return fail(ErrorCode::kIo, "cannot remove " + p.string() + ": " + std::strerror(errno));
    }
    summary.removed.push_back(p.filename().string());
    summary.bytes += size;
  }
  return summary;
}

}  // namespace okami::backup
