// The entry checks verify and restore share, from the attacker's side: each hostile archive here is
// internally consistent (its manifest lists the planted files with their real size and SHA-256, its
// checksum file is resealed), so only an entry check can catch it. A backup that verifies must
// restore, so every case is run through both and both must refuse it as kIntegrity.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "okami/backup/archive.h"
#include "okami/backup/checked_archive.h"
#include "okami/backup/restore.h"
#include "okami/backup/verify.h"
#include "unit/okami/archive_tamper.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::backup {
namespace {

namespace fs = std::filesystem;
using okami::testing::MemEntry;

struct Fixture : okami::testing::TestBackup {
  // Plants `extra` before the manifest and lists each in the manifest, then reseals the archive.
  void plant(const std::vector<MemEntry>& extra) const {
    auto entries = okami::testing::read_entries(summary.archive);
    auto manifest = *parse_manifest(entries.back().data);
    for (const auto& e : extra) {
      manifest.files.push_back({e.path, e.data.size(), sha256_hex(e.data), e.mode});
      manifest.total_size += e.data.size();
    }
    entries.back().data = canonical_json(manifest);
    entries.insert(entries.end() - 1, extra.begin(), extra.end());
    okami::testing::write_entries(summary.archive, entries);
    okami::testing::reseal(summary.archive);
  }

  common::Result<VerifiedBackup> verify() const {
    VerifyOptions v;
    v.archive = summary.archive;
    v.checked_at = "2026-11-26T01:05:00Z";
    v.temp_dir = dir.path();
    return verify_backup(v);
  }

  // Restores into a fresh volume that, like a real ext4 PVC, holds lost+found.
  common::Result<RestoreSummary> restore() const {
    fs::create_directories(dir / "pvc" / "lost+found");
    fs::create_directories(dir / "mem-pvc" / "lost+found");
    RestoreOptions r;
    r.archive = summary.archive;
    r.target = dir / "pvc";
    r.memory_target = dir / "mem-pvc";
    return restore_backup(r);
  }
};

// Both paths must refuse with kIntegrity and say why; a restore leaves the volume as it was.
void expect_refused(const common::Status& outcome, const std::string& who, const std::string& reason) {
  EXPECT_FALSE(outcome) << who << " accepted it";
  if (outcome) return;
  EXPECT_EQ(outcome.error().code, common::ErrorCode::kIntegrity) << who << ": " << outcome.error().describe();
  EXPECT_NE(outcome.error().message.find(reason), std::string::npos) << who << ": " << outcome.error().message;
}

void expect_both_refuse(const std::vector<MemEntry>& extra, const std::string& reason) {
  SCOPED_TRACE(extra.back().path);
  Fixture f;
  f.plant(extra);
  auto verified = f.verify();
  expect_refused(verified ? common::ok() : common::Status(common::fail(verified.error())), "verify", reason);
  auto restored = f.restore();
  expect_refused(restored ? common::ok() : common::Status(common::fail(restored.error())), "restore", reason);
  for (const char* volume : {"pvc", "mem-pvc"}) {
    for (const auto& entry : fs::directory_iterator(f.dir / volume)) {
      EXPECT_EQ(entry.path().filename(), "lost+found") << "restore left " << entry.path() << " behind";
    }
  }
}

TEST(ArchiveEntryChecks, ThePlantingHelperItselfBuildsAnArchiveBothAccept) {
  Fixture f;
  f.plant({MemEntry{"chroma/planted.bin", "harmless", 0644, ""}});
  auto verified = f.verify();
  ASSERT_TRUE(verified) << verified.error().describe();
  auto restored = f.restore();
  ASSERT_TRUE(restored) << restored.error().describe();
  EXPECT_EQ(okami::testing::read_file(f.dir / "pvc" / "planted.bin"), "harmless");
}

TEST(ArchiveEntryChecks, BothRefuseAFileThatAnotherEntryUsesAsItsDirectory) {
  expect_both_refuse({MemEntry{"chroma/shadow", "a file", 0644, ""},  //
                      MemEntry{"chroma/shadow/inner.bin", "x", 0644, ""}},
                     "as a file");
}

TEST(ArchiveEntryChecks, BothRefuseADirectoryThatALaterEntryRecreatesAsAFile) {
  expect_both_refuse({MemEntry{"memory/shadow/inner.bin", "x", 0644, ""},  //
                      MemEntry{"memory/shadow", "a file", 0644, ""}},
                     "as a file");
}

TEST(ArchiveEntryChecks, BothRefuseANameNoFilesystemCanHold) {
  expect_both_refuse({MemEntry{"chroma/" + std::string(256, 'n'), "x", 0644, ""}}, "255");
}

TEST(ArchiveEntryChecks, BothRefuseEntriesInsideAVolumesLostAndFound) {
  expect_both_refuse({MemEntry{"chroma/lost+found/planted.bin", "x", 0644, ""}}, "lost+found");
  expect_both_refuse({MemEntry{"memory/lost+found/planted.bin", "x", 0644, ""}}, "lost+found");
}

TEST(ArchiveEntryChecks, AFileNamedLikeLostAndFoundDeeperDownIsData) {
  Fixture f;
  f.plant({MemEntry{"chroma/seg/lost+found", "data", 0644, ""}});
  ASSERT_TRUE(f.verify());
  ASSERT_TRUE(f.restore());
  EXPECT_EQ(okami::testing::read_file(f.dir / "pvc" / "seg" / "lost+found"), "data");
}

// The entry checks alone, fed paths in archive order.
class PathsOnly final : public CheckedArchiveVisitor {
 public:
  common::Status add(const std::string& path) {
    if (auto st = on_entry({path, EntryType::kRegular, 0, 0644, ""}); !st) return st;
    return on_entry_end();
  }

 private:
  common::Status begin_file(const std::string&) override { return common::ok(); }
  common::Status file_data(const void*, size_t) override { return common::ok(); }
  common::Status end_file(const FileEntry&) override { return common::ok(); }
};

TEST(ArchiveEntryChecks, SiblingsThatSortBetweenADirectoryAndItsFilesDoNotHideAClash) {
  // '-', '.' and '0' sort around '/', so "chroma/a-b" lies between "chroma/a" and "chroma/a/x".
  PathsOnly clash_below;
  for (const char* p : {"chroma/a-b", "chroma/a.b", "chroma/a0", "chroma/a"}) ASSERT_TRUE(clash_below.add(p)) << p;
  EXPECT_FALSE(clash_below.add("chroma/a/x"));
  PathsOnly clash_above;
  for (const char* p : {"chroma/a/x", "chroma/a-b", "chroma/a0", "chroma/a./y"}) ASSERT_TRUE(clash_above.add(p)) << p;
  EXPECT_FALSE(clash_above.add("chroma/a"));
  PathsOnly no_clash;
  for (const char* p : {"chroma/a-b", "chroma/a/x", "chroma/a0/y", "chroma/a.b", "chroma/a/y/z", "memory/a"}) {
    EXPECT_TRUE(no_clash.add(p)) << p;
  }
}

// Against the plain definition (a file is never the parent of another), over many random orders.
TEST(ArchiveEntryChecks, RefusesExactlyTheFilesThatAreTheParentOrChildOfAnother) {
  std::mt19937 random(20261207);
  const std::string parts[] = {"a", "b", "a-", "a.", "a0", "ab"};
  for (int round = 0; round < 300; ++round) {
    PathsOnly checks;
    std::set<std::string> files;
    for (int i = 0; i < 12; ++i) {
      std::string path = "chroma";
      for (int depth = 1 + static_cast<int>(random() % 4); depth > 0; --depth) path += "/" + parts[random() % 6];
      if (files.count(path)) continue;
      bool clash = false;
      for (const auto& f : files) clash = clash || path.starts_with(f + "/") || f.starts_with(path + "/");
      auto st = checks.add(path);
      ASSERT_EQ(static_cast<bool>(st), !clash) << "round " << round << ": " << path;
      if (!st) break;  // a refusal ends the walk
      files.insert(path);
    }
  }
}

}  // namespace
}  // namespace okami::backup
