#include "okami/backup/archive.h"

#include <gtest/gtest.h>

#include "unit/okami/archive_tamper.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::backup {
namespace {

namespace fs = std::filesystem;
using okami::testing::ScratchDir;

BackupOptions options_for(const ScratchDir& dir) {
  BackupOptions o;
  o.data_dir = dir / "data";
  o.out = dir / "backups" / "b1.tar";
  o.stack = {"team-a", "okami", "uid-1"};
  o.chroma_version = "0.5.23";
  o.taken_at = "2026-11-26T01:00:00Z";
  return o;
}

void make_data(const ScratchDir& dir) {
  okami::testing::write_chroma_db(dir / "data");
  okami::testing::write_segment_files(dir / "data", "3f1c0c2e-seg-a", 300000, 1);
  okami::testing::write_segment_files(dir / "data", "9a7d0b11-seg-b", 120000, 2);
  fs::create_directories(dir / "backups");
}

TEST(BackupArchive, ArchivesEveryFileWithTheManifestLast) {
  ScratchDir dir;
  make_data(dir);
  auto summary = write_backup(options_for(dir));
  ASSERT_TRUE(summary) << summary.error().describe();
  auto entries = okami::testing::read_entries(summary->archive);
  ASSERT_EQ(entries.size(), 10u);  // db + 2 x 4 segment files + manifest
  EXPECT_EQ(entries.back().path, kManifestEntry);
  auto manifest = parse_manifest(entries.back().data);
  ASSERT_TRUE(manifest);
  EXPECT_EQ(manifest->files.size(), 9u);
  EXPECT_EQ(manifest->data_format.name, "chroma-0.5");
  EXPECT_EQ(manifest->collections.size(), 2u);
  EXPECT_EQ(manifest->stack.uid, "uid-1");
  for (size_t i = 0; i + 1 < entries.size(); ++i) {
    const auto& f = manifest->files[i];
    EXPECT_EQ(f.path, entries[i].path);
    EXPECT_EQ(f.size, entries[i].data.size());
    EXPECT_EQ(f.sha256, sha256_hex(entries[i].data));
  }
}

TEST(BackupArchive, WritesAChecksumFileMatchingTheArchiveBytes) {
  ScratchDir dir;
  make_data(dir);
  auto summary = write_backup(options_for(dir));
  ASSERT_TRUE(summary);
  EXPECT_EQ(*read_checksum_file(summary->checksum_file), sha256_hex(okami::testing::read_file(summary->archive)));
  EXPECT_EQ(summary->archive_size, fs::file_size(summary->archive));
  EXPECT_FALSE(fs::exists(dir / "backups" / "b1.tar.partial"));
}

TEST(BackupArchive, SegmentFilesComeOutByteForByte) {
  ScratchDir dir;
  make_data(dir);
  auto summary = write_backup(options_for(dir));
  ASSERT_TRUE(summary);
  for (const auto& e : okami::testing::read_entries(summary->archive)) {
    if (e.path.find("data_level0.bin") == std::string::npos) continue;
    EXPECT_EQ(e.data, okami::testing::read_file(dir / "data" / e.path.substr(7)));
  }
}

TEST(BackupArchive, NeverOverwritesAnExistingArchive) {
  ScratchDir dir;
  make_data(dir);
  okami::testing::write_file(dir / "backups" / "b1.tar", "precious");
  auto summary = write_backup(options_for(dir));
  ASSERT_FALSE(summary);
  EXPECT_EQ(okami::testing::read_file(dir / "backups" / "b1.tar"), "precious");
}

TEST(BackupArchive, RefusesToWriteInsideTheDirItBacksUp) {
  ScratchDir dir;
  make_data(dir);
  auto o = options_for(dir);
  o.out = dir / "data" / "self.tar";
  EXPECT_FALSE(write_backup(o));
}

TEST(BackupArchive, RefusesSymlinksInTheDataDir) {
  ScratchDir dir;
  make_data(dir);
  fs::create_symlink("/etc/hostname", dir / "data" / "link");
  auto summary = write_backup(options_for(dir));
  ASSERT_FALSE(summary);
  EXPECT_EQ(summary.error().code, common::ErrorCode::kIntegrity);
  EXPECT_FALSE(fs::exists(dir / "backups" / "b1.tar.partial"));
}

TEST(BackupArchive, LeavesSqliteSideFilesOutBecauseTheSnapshotHoldsThem) {
  ScratchDir dir;
  make_data(dir);
  okami::testing::write_file(dir / "data" / "chroma.sqlite3-journal", "");
  auto summary = write_backup(options_for(dir));
  ASSERT_TRUE(summary) << summary.error().describe();
  EXPECT_EQ(summary->skipped, std::vector<std::string>{"chroma/chroma.sqlite3-journal"});
}

TEST(BackupArchive, ArchivesTheMemoryDirUnderItsOwnPrefix) {
  ScratchDir dir;
  make_data(dir);
  okami::testing::write_file(dir / "mem" / "short_term" / "x.bin", "memory bytes");
  auto o = options_for(dir);
  o.memory_dir = dir / "mem";
  auto summary = write_backup(o);
  ASSERT_TRUE(summary);
  bool found = false;
  for (const auto& f : summary->manifest.files) found |= f.path == "memory/short_term/x.bin";
  EXPECT_TRUE(found);
}

TEST(BackupArchive, GzipArchivesReadBackTheSame) {
  ScratchDir dir;
  make_data(dir);
  auto o = options_for(dir);
  o.compression = Compression::kGzip;
  o.out = dir / "backups" / "b1.tar.gz";
  auto summary = write_backup(o);
  ASSERT_TRUE(summary);
  auto entries = okami::testing::read_entries(summary->archive);
  EXPECT_EQ(entries.size(), 10u);
  EXPECT_EQ(okami::testing::read_file(summary->archive).substr(0, 2), "\x1f\x8b");
}

TEST(BackupArchive, BacksUpAnEmptyDataDirAsEmpty) {
  ScratchDir dir;
  fs::create_directories(dir / "data");
  fs::create_directories(dir / "backups");
  auto summary = write_backup(options_for(dir));
  ASSERT_TRUE(summary) << summary.error().describe();
  EXPECT_TRUE(summary->manifest.files.empty());
  EXPECT_EQ(summary->manifest.data_format.name, "");
}

TEST(ArchiveReader, ReportsTruncationAsCorruption) {
  ScratchDir dir;
  make_data(dir);
  auto summary = write_backup(options_for(dir));
  ASSERT_TRUE(summary);
  fs::resize_file(summary->archive, summary->archive_size / 2);
  okami::testing::CollectVisitor v;
  auto r = read_archive(summary->archive, v);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, common::ErrorCode::kIntegrity);
}

TEST(ArchiveReader, RejectsBytesThatAreNotAnArchive) {
  okami::testing::CollectVisitor v;
  const std::string junk(3000, '\x42');
  EXPECT_FALSE(read_archive_memory(junk.data(), junk.size(), v));
}

}  // namespace
}  // namespace okami::backup
