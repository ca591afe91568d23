#include "okami/backup/restore.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "okami/backup/archive.h"
#include "okami/chroma/data_format.h"
#include "unit/okami/archive_tamper.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::backup {
namespace {

namespace fs = std::filesystem;
using okami::testing::MemEntry;

struct Fixture : okami::testing::TestBackup {
  RestoreOptions options(const std::string& target) const {
    RestoreOptions r;
    r.archive = summary.archive;
    r.target = dir / target;
    return r;
  }
  void rewrite(const std::vector<MemEntry>& entries) const {
    okami::testing::write_entries(summary.archive, entries);
    okami::testing::reseal(summary.archive);
  }
};

TEST(RestoreBackup, RestoresTheSameFilesIntoAFreshDir) {
  Fixture f;
  auto restored = restore_backup(f.options("restored"));
  ASSERT_TRUE(restored) << restored.error().describe();
  EXPECT_EQ(okami::testing::read_file(f.dir / "restored" / "3f1c0c2e-seg-a" / "data_level0.bin"),
            okami::testing::read_file(f.dir / "data" / "3f1c0c2e-seg-a" / "data_level0.bin"));
  auto format = chroma::detect_data_format(f.dir / "restored");
  ASSERT_TRUE(format);
  EXPECT_EQ(format->name, "chroma-0.5");
  EXPECT_EQ(restored->skipped_memory_files, 1u);
  for (const auto& e : fs::directory_iterator(f.dir / "restored")) {
    EXPECT_FALSE(e.path().filename().string().starts_with(".okami-restore")) << "staging dir left behind";
  }
}

TEST(RestoreBackup, RestoresClientMemoriesWhenGivenATarget) {
  Fixture f;
  auto o = f.options("restored");
  o.memory_target = f.dir / "mem-restored";
  ASSERT_TRUE(restore_backup(o));
  EXPECT_EQ(okami::testing::read_file(f.dir / "mem-restored" / "short_term" / "chroma.sqlite3"), "memory");
}

TEST(RestoreBackup, RefusesANonEmptyTargetAndLeavesItAlone) {
  Fixture f;
  okami::testing::write_file(f.dir / "busy" / "chroma.sqlite3", "live data");
  auto restored = restore_backup(f.options("busy"));
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, common::ErrorCode::kInvalidArgument);
  EXPECT_EQ(okami::testing::read_file(f.dir / "busy" / "chroma.sqlite3"), "live data");
}

TEST(RestoreBackup, AcceptsAFreshVolumeWithLostAndFound) {
  Fixture f;
  fs::create_directories(f.dir / "pvc" / "lost+found");
  EXPECT_TRUE(restore_backup(f.options("pvc")));
}

TEST(RestoreBackup, RefusesPathTraversalAndAbsolutePaths) {
  for (const char* bad : {"../escape.bin", "chroma/../../escape.bin", "/tmp/okami-absolute.bin"}) {
    Fixture f;
    auto entries = okami::testing::read_entries(f.summary.archive);
    entries.insert(entries.begin(), MemEntry{bad, "owned", 0644, ""});
    f.rewrite(entries);
    auto restored = restore_backup(f.options("restored"));
    ASSERT_FALSE(restored) << bad;
    EXPECT_EQ(restored.error().code, common::ErrorCode::kIntegrity);
    EXPECT_FALSE(fs::exists(f.dir / "escape.bin"));
    EXPECT_FALSE(fs::exists("/tmp/okami-absolute.bin"));
  }
}

TEST(RestoreBackup, RefusesSymlinksThatWouldEscapeTheTarget) {
  Fixture f;
  auto entries = okami::testing::read_entries(f.summary.archive);
  entries.insert(entries.begin(), MemEntry{"chroma/link", "", 0777, "../../outside"});
  entries.insert(entries.begin() + 1, MemEntry{"chroma/link/payload", "owned", 0644, ""});
  f.rewrite(entries);
  auto restored = restore_backup(f.options("restored"));
  ASSERT_FALSE(restored);
  EXPECT_FALSE(fs::exists(f.dir / "outside"));
}

TEST(RestoreBackup, RemovesWhatItExtractedWhenAChecksumFails) {
  Fixture f;
  auto entries = okami::testing::read_entries(f.summary.archive);
  entries[1].data[5] ^= 0x20;  // after extraction of entry 0, before the manifest is read
  f.rewrite(entries);
  auto restored = restore_backup(f.options("restored"));
  ASSERT_FALSE(restored);
  EXPECT_TRUE(fs::is_empty(f.dir / "restored"));
}

TEST(RestoreBackup, RefusesAnArchiveThatDoesNotMatchItsChecksumFile) {
  Fixture f;
  std::string bytes = okami::testing::read_file(f.summary.archive);
  bytes[bytes.size() / 2] ^= 0x01;
  okami::testing::write_file(f.summary.archive, bytes);
  EXPECT_FALSE(restore_backup(f.options("restored")));
  EXPECT_TRUE(!fs::exists(f.dir / "restored") || fs::is_empty(f.dir / "restored"));
}

// An archive swapped between verification and restore: another stack's backup, internally
// consistent (its own checksum and sidecar), written where the verified archive was. The restore
// Job is told the signed checksum, stack UID and format; it must refuse.
TEST(RestoreBackup, RefusesAnArchiveSwappedAfterVerification) {
  Fixture f;
  const std::string signed_sha = f.summary.archive_sha256;
  // The attacker's archive: another stack's data, with its own matching sidecar file.
  BackupOptions o;
  o.data_dir = f.dir / "data";
  o.out = f.dir / "other.tar";
  o.stack = {"team-b", "okami", "uid-2"};
  o.chroma_version = "0.5.23";
  o.taken_at = "2026-11-27T01:00:00Z";
  auto other = write_backup(o);
  ASSERT_TRUE(other) << other.error().describe();
  fs::rename(other->archive, f.summary.archive);
  fs::rename(other->checksum_file, checksum_path(f.summary.archive));

  RestoreOptions r = f.options("restored");
  r.expect_archive_sha256 = signed_sha;
  r.expect_stack_uid = "uid-1";
  r.expect_format = "chroma-0.5";
  auto restored = restore_backup(r);
  ASSERT_FALSE(restored) << "a swapped archive was restored";
  EXPECT_EQ(restored.error().code, common::ErrorCode::kIntegrity);
  EXPECT_TRUE(fs::is_empty(f.dir / "restored"));
}

// Even with the checksum of the swapped archive (a status rewritten by someone), the manifest
// must name the signed stack and format.
TEST(RestoreBackup, RefusesAnArchiveOfAnotherStackOrFormat) {
  Fixture f;
  RestoreOptions r = f.options("restored");
  r.expect_archive_sha256 = f.summary.archive_sha256;
  r.expect_stack_uid = "uid-2";
  auto restored = restore_backup(r);
  ASSERT_FALSE(restored);
  EXPECT_NE(restored.error().message.find("another stack"), std::string::npos) << restored.error().message;
  r.expect_stack_uid = "uid-1";
  r.expect_format = "chroma-1.0";
  restored = restore_backup(r);
  ASSERT_FALSE(restored);
  EXPECT_NE(restored.error().message.find("chroma-0.5"), std::string::npos) << restored.error().message;
  r.expect_format = "chroma-0.5";
  EXPECT_TRUE(restore_backup(r));
}

// An archive handed over in small reads, as an object store's body arrives.
class StringSource final : public ByteSource {
 public:
  explicit StringSource(std::string bytes) : bytes_(std::move(bytes)) {}
  common::Result<size_t> read(void* buffer, size_t capacity) override {
    const size_t n = std::min({capacity, size_t{4096}, bytes_.size() - at_});
    std::memcpy(buffer, bytes_.data() + at_, n);
    at_ += n;
    return n;
  }

 private:
  std::string bytes_;
  size_t at_ = 0;
};

TEST(RestoreBackupFromSource, RestoresTheSameFilesAsFromTheFile) {
  Fixture f;
  StringSource source(okami::testing::read_file(f.summary.archive));
  RestoreOptions r = f.options("restored");
  r.archive = "s3://bucket/b1/archive.tar";  // only names it
  r.expect_archive_sha256 = f.summary.archive_sha256;
  r.expect_archive_size = f.summary.archive_size;
  auto restored = restore_backup(r, source);
  ASSERT_TRUE(restored) << restored.error().describe();
  EXPECT_EQ(restored->archive_sha256, f.summary.archive_sha256);
  EXPECT_EQ(okami::testing::read_file(f.dir / "restored" / "3f1c0c2e-seg-a" / "data_level0.bin"),
            okami::testing::read_file(f.dir / "data" / "3f1c0c2e-seg-a" / "data_level0.bin"));
}

TEST(RestoreBackupFromSource, NeedsTheRecordedChecksumAndTouchesNothingWithout) {
  Fixture f;
  StringSource source(okami::testing::read_file(f.summary.archive));
  auto restored = restore_backup(f.options("restored"), source);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, common::ErrorCode::kInvalidArgument) << restored.error().describe();
  EXPECT_FALSE(fs::exists(f.dir / "restored"));
}

TEST(RestoreBackupFromSource, RefusesAnotherSizeThanRecordedAndLeavesTheTargetEmpty) {
  Fixture f;
  // Zeros after the end-of-archive marker: a tar reader ignores them, the recorded size does not.
  StringSource source(okami::testing::read_file(f.summary.archive) + std::string(512, '\0'));
  RestoreOptions r = f.options("restored");
  r.expect_archive_sha256 = f.summary.archive_sha256;
  r.expect_archive_size = f.summary.archive_size;
  auto restored = restore_backup(r, source);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, common::ErrorCode::kIntegrity);
  EXPECT_NE(restored.error().message.find("recorded size"), std::string::npos) << restored.error().describe();
  EXPECT_TRUE(fs::is_empty(f.dir / "restored"));
}

}  // namespace
}  // namespace okami::backup
