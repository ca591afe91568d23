// Fuzz target: the archive reader behind verify-backup and restore, fed arbitrary bytes (corrupt,
// truncated or hostile tar and tar.gz), bare and through the entry checks both share. Never
// crashes; delivers no more data than each entry says; hands on only files that passed the checks.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "okami/backup/archive.h"
#include "okami/backup/checked_archive.h"

namespace {

class CheckingVisitor final : public okami::backup::ArchiveVisitor {
 public:
  okami::common::Status on_entry(const okami::backup::ArchiveEntry& entry) override {
    declared_ = entry.size;
    seen_ = 0;
    (void)okami::backup::is_safe_archive_path(entry.path);
    return okami::common::ok();
  }
  okami::common::Status on_data(const void*, size_t size) override {
    seen_ += static_cast<int64_t>(size);
    if (seen_ > (1 << 26)) return okami::common::fail(okami::common::ErrorCode::kIntegrity, "too large");
    return okami::common::ok();
  }
  okami::common::Status on_entry_end() override {
    if (declared_ >= 0 && seen_ > declared_) std::abort();
    return okami::common::ok();
  }

 private:
  int64_t declared_ = 0;
  int64_t seen_ = 0;
};

// What verify and restore see: only files with a safe path, never the manifest.
class CheckedSink final : public okami::backup::CheckedArchiveVisitor {
 protected:
  okami::common::Status begin_file(const std::string& path) override {
    if (!okami::backup::is_safe_archive_path(path) || path == okami::backup::kManifestEntry) std::abort();
    return okami::common::ok();
  }
  okami::common::Status file_data(const void*, size_t) override { return okami::common::ok(); }
  okami::common::Status end_file(const okami::backup::FileEntry&) override { return okami::common::ok(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckingVisitor visitor;
  auto summary = okami::backup::read_archive_memory(data, size, visitor);
  if (summary && summary->bytes != size) std::abort();
  CheckedSink checked;
  auto checked_summary = okami::backup::read_archive_memory(data, size, checked);
  if (checked_summary && checked_summary->bytes != size) std::abort();
  return 0;
}
