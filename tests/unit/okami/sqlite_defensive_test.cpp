// Databases from tenant volumes are read defensively (review #23): a crafted schema cannot make a
// reader run forever, and a WAL left by a crash is read, never ignored or refused, on a volume
// the reader cannot write (the guard's and the probe's read-only mounts).
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include "okami/chroma/data_format.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::chroma {
namespace {

namespace fs = std::filesystem;
using okami::testing::ScratchDir;
using okami::testing::write_chroma_db;

// In a child process (so the WAL is never checkpointed on close): switch to WAL, apply the 1.x
// migration metadb/5 the way a server would, commit, and die without closing.
void crash_after_committing_a_migration_in_the_wal(const fs::path& db_file) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sqlite3* db = nullptr;
    if (sqlite3_open(db_file.c_str(), &db) != SQLITE_OK) ::_exit(3);
    const char* sql =
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
        "INSERT INTO migrations VALUES ('metadb', 5, '00005-max-seq-id-int.sqlite.sql', '', '');";
    ::_exit(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK ? 0 : 4);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// Detects the format of `dir` as a process that cannot write there: uid 65534 when the test runs
// as root (root writes anywhere), this uid after `chmod 0555` otherwise. Returns the format name,
// or "error: ..." when detection failed.
std::string detect_as_reader_without_write_access(const fs::path& dir) {
  fs::permissions(dir, fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                           fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  int fds[2];
  if (::pipe(fds) != 0) return "error: pipe";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(5);
    ::setenv("TMPDIR", "/tmp", 1);
    auto format = detect_data_format(dir);
    const std::string out = format ? format->name : "error: " + format.error().describe();
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add);
  return out;
}

TEST(DefensiveRead, AWalLeftByACrashWithoutItsIndexIsReadOnAReadOnlyVolume) {
  ScratchDir dir;
  write_chroma_db(dir.path());  // chroma-0.5
  const fs::path db = dir / "chroma.sqlite3";
  crash_after_committing_a_migration_in_the_wal(db);
  ASSERT_GT(fs::file_size(fs::path(db.string() + "-wal")), 0u);
  // The -shm index is gone (a copy of the volume without it, or a node that lost it).
  fs::remove(db.string() + "-shm");
  // The committed migration in the WAL counts: the data is already 1.0, not the 0.5 in the file.
  EXPECT_EQ(detect_as_reader_without_write_access(dir.path()), "chroma-1.0");
  // And reading left nothing next to the database.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"chroma.sqlite3", "chroma.sqlite3-wal"}));
}

TEST(DefensiveRead, AWalWithItsIndexIsReadInPlace) {
  ScratchDir dir;
  write_chroma_db(dir.path());
  crash_after_committing_a_migration_in_the_wal(dir / "chroma.sqlite3");
  ASSERT_TRUE(fs::exists(dir.path().string() + "/chroma.sqlite3-shm"));
  EXPECT_EQ(detect_as_reader_without_write_access(dir.path()), "chroma-1.0");
}

TEST(DefensiveRead, AQueryThatWouldRunForeverStopsAtTheTimeLimit) {
  ScratchDir dir;
  write_chroma_db(dir.path());
  auto db = ReadOnlyDatabase::open(dir / "chroma.sqlite3", true, std::chrono::milliseconds(200));
  ASSERT_TRUE(db);
  const auto start = std::chrono::steady_clock::now();
  auto rows = db->query(
      "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c");
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code, common::ErrorCode::kTimeout) << rows.error().describe();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(DefensiveRead, ViewsAndSchemaFunctionsFromTheFileDoNotRun) {
  ScratchDir dir;
  write_chroma_db(dir.path());
  {
    sqlite3* w = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "chroma.sqlite3").c_str(), &w), SQLITE_OK);
    okami::testing::exec(w,
                         "CREATE VIEW collections_view AS WITH RECURSIVE c(x) AS (SELECT 1 UNION "
                         "ALL SELECT x + 1 FROM c) SELECT count(*) FROM c;");
    sqlite3_close(w);
  }
  auto db = ReadOnlyDatabase::open(dir / "chroma.sqlite3");
  ASSERT_TRUE(db);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(db->query("SELECT * FROM collections_view"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  // The database itself still reads.
  auto format = detect_data_format(dir.path());
  ASSERT_TRUE(format);
  EXPECT_EQ(format->name, "chroma-0.5");
}

}  // namespace
}  // namespace okami::chroma
