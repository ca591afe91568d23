// Test support: read a backup archive into memory and write it back with changes, the way someone
// tampering with a backup would (replace a file, swap the manifest, add a link or an unsafe path).
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <string>
#include <vector>

#include "okami/backup/archive.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::testing {

struct MemEntry {
  std::string path;
  std::string data;
  unsigned mode = 0644;
  std::string symlink;  // non-empty: write a symlink entry instead of a file
};

class CollectVisitor final : public okami::backup::ArchiveVisitor {
 public:
  common::Status on_entry(const okami::backup::ArchiveEntry& e) override {
    entries.push_back({e.path, "", e.mode, e.link_target});
    return common::ok();
  }
  common::Status on_data(const void* d, size_t n) override {
    entries.back().data.append(static_cast<const char*>(d), n);
    return common::ok();
  }
  common::Status on_entry_end() override { return common::ok(); }
  std::vector<MemEntry> entries;
};

inline std::vector<MemEntry> read_entries(const std::filesystem::path& archive) {
  CollectVisitor v;
  auto r = okami::backup::read_archive(archive, v);
  EXPECT_TRUE(r) << (r ? "" : r.error().describe());
  return v.entries;
}

inline void write_entries(const std::filesystem::path& archive, const std::vector<MemEntry>& entries) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, archive.c_str()), ARCHIVE_OK);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    if (!e.symlink.empty()) {
      archive_entry_set_filetype(entry, AE_IFLNK);
      archive_entry_set_symlink(entry, e.symlink.c_str());
      archive_entry_set_perm(entry, 0777);
      archive_write_header(a, entry);
    } else {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_perm(entry, e.mode);
      archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
      archive_write_header(a, entry);
      archive_write_data(a, e.data.data(), e.data.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// A backup of a small Chroma 0.5 data dir (<dir>/data, one HNSW segment) and a client memory dir
// (<dir>/mem), written to <dir>/backups/b.tar for the stack team-a/okami, uid "uid-1".
inline okami::backup::BackupSummary write_test_backup(const ScratchDir& dir) {
  okami::testing::write_chroma_db(dir / "data");
  okami::testing::write_segment_files(dir / "data", "3f1c0c2e-seg-a", 150000, 1);
  okami::testing::write_file(dir / "mem" / "short_term" / "chroma.sqlite3", "memory");
  std::filesystem::create_directories(dir / "backups");
  okami::backup::BackupOptions o;
  o.data_dir = dir / "data";
  o.memory_dir = dir / "mem";
  o.out = dir / "backups" / "b.tar";
  o.stack = {"team-a", "okami", "uid-1"};
  o.chroma_version = "0.5.23";
  o.taken_at = "2026-11-26T01:00:00Z";
  auto summary = okami::backup::write_backup(o);
  EXPECT_TRUE(summary) << (summary ? "" : summary.error().describe());
  return summary ? *summary : okami::backup::BackupSummary{};
}

// A scratch dir holding write_test_backup's backup, for fixtures to build on.
struct TestBackup {
  ScratchDir dir;
  okami::backup::BackupSummary summary = write_test_backup(dir);
};

// Rewrites the checksum file beside an archive so it matches the archive's current bytes.
inline void reseal(const std::filesystem::path& archive) {
  okami::backup::Sha256 sha;
  std::string bytes = read_file(archive);
  sha.update(bytes.data(), bytes.size());
  write_file(okami::backup::checksum_path(archive), sha.hex_digest() + "  " + archive.filename().string() + "\n");
}

}  // namespace okami::testing
