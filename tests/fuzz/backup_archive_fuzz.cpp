// Fuzz target: the archive reader behind verify-backup and restore, fed arbitrary bytes (corrupt,
// truncated or hostile tar and tar.gz). Never crashes; delivers no more data than each entry says.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "okami/backup/archive.h"

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckingVisitor visitor;
  auto summary = okami::backup::read_archive_memory(data, size, visitor);
  if (summary && summary->bytes != size) std::abort();
  return 0;
}
