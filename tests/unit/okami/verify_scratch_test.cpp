// A verify Job of a large database stays within the scratch space its Job is given: the
// verification runs with its temporary directory on a filesystem of exactly
// verify_scratch_bytes(archive size) (a tmpfs, in a mount namespace of a child process, so a
// write past the limit fails as it would in a pod whose emptyDir sizeLimit is exceeded), and the
// same run on half the database's size fails, so the scratch space is really used.
#include <gtest/gtest.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "okami/backup/archive.h"
#include "okami/backup/verify.h"
#include "okami/children/job_objects.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::backup {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kMiB = 1024 * 1024;

// Adds `bytes` of incompressible rows to the database, as a database grown by years of memories
// holds (the table is one Chroma does not read; verification checks the whole file).
void grow_database(const fs::path& db_path, int64_t bytes) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  okami::testing::exec(db, "PRAGMA synchronous=OFF; BEGIN; CREATE TABLE ballast (b BLOB NOT NULL);");
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "INSERT INTO ballast VALUES (?)", -1, &insert, nullptr), SQLITE_OK);
  std::mt19937_64 random(7);
  std::string row(64 * 1024, '\0');
  for (int64_t written = 0; written < bytes; written += static_cast<int64_t>(row.size())) {
    for (size_t i = 0; i + 8 <= row.size(); i += 8) {
      const uint64_t r = random();
      std::memcpy(row.data() + i, &r, 8);
    }
    sqlite3_bind_blob(insert, 1, row.data(), static_cast<int>(row.size()), SQLITE_STATIC);
    ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE);
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  okami::testing::exec(db, "COMMIT;");
  sqlite3_close(db);
}

// Runs the verification in a child process whose temporary directory is a fresh tmpfs of
// `scratch_bytes`. Returns "verified", "tmpfs left N bytes" or the error, as the child saw it.
std::string verify_on_scratch(const VerifyOptions& base, const fs::path& mount_point,
                              int64_t scratch_bytes) {
  fs::create_directories(mount_point);
  int out[2];
  if (pipe(out) != 0) return "no pipe";
  const pid_t child = fork();
  if (child == 0) {
    close(out[0]);
    auto say = [&](const std::string& text) {
      (void)!write(out[1], text.data(), text.size());
      _exit(0);
    };
    // Root gets a private mount namespace; anyone else first becomes root of a user namespace.
    if (unshare(CLONE_NEWNS) != 0 && unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      say("cannot make a mount namespace: " + std::string(std::strerror(errno)));
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 && errno != EINVAL) {
      say("cannot make mounts private: " + std::string(std::strerror(errno)));
    }
    const std::string size = "size=" + std::to_string(scratch_bytes);
    if (mount("okami-scratch", mount_point.c_str(), "tmpfs", 0, size.c_str()) != 0) {
      say("cannot mount a tmpfs: " + std::string(std::strerror(errno)));
    }
    ::setenv("TMPDIR", mount_point.c_str(), 1);
    VerifyOptions o = base;
    o.temp_dir = mount_point;
    auto verified = verify_backup(o);
    if (!verified) say(verified.error().describe());
    std::error_code ec;
    const auto left = std::distance(fs::directory_iterator(mount_point, ec), fs::directory_iterator());
    say(left == 0 ? "verified" : "tmpfs left " + std::to_string(left) + " files");
  }
  close(out[1]);
  std::string said;
  char buf[512];
  for (ssize_t n; (n = read(out[0], buf, sizeof(buf))) > 0;) said.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status)) return "the child died: " + said;
  return said;
}

TEST(VerifyScratch, ALargeDatabaseVerifiesWithinTheScratchItsJobGetsAndNotWithinHalfItsSize) {
  okami::testing::ScratchDir dir;
  okami::testing::write_chroma_db(dir / "data");
  constexpr int64_t kBallast = 96 * kMiB;
  grow_database(dir / "data" / "chroma.sqlite3", kBallast);
  const int64_t db_bytes = static_cast<int64_t>(fs::file_size(dir / "data" / "chroma.sqlite3"));
  ASSERT_GE(db_bytes, kBallast);
  fs::create_directories(dir / "backups");
  BackupOptions b;
  b.data_dir = dir / "data";
  b.out = dir / "backups" / "b.tar";
  b.stack = {"team-a", "okami", "uid-1"};
  b.chroma_version = "0.5.23";
  b.taken_at = "2026-11-26T01:00:00Z";
  b.temp_dir = dir / "snapshot-tmp";
  fs::create_directories(b.temp_dir);
  auto summary = write_backup(b);
  ASSERT_TRUE(summary) << summary.error().describe();
  const int64_t archive_bytes = static_cast<int64_t>(fs::file_size(summary->archive));

  VerifyOptions v;
  v.archive = summary->archive;
  v.checked_at = "2026-11-26T01:05:00Z";
  const int64_t scratch = jobs::verify_scratch_bytes(archive_bytes);
  EXPECT_EQ(verify_on_scratch(v, dir / "scratch-job", scratch), "verified")
      << "scratch of " << scratch / kMiB << " MiB for a " << db_bytes / kMiB << " MiB database";

  const std::string starved = verify_on_scratch(v, dir / "scratch-half", db_bytes / 2);
  EXPECT_NE(starved, "verified") << "the verification never used its scratch space";
  EXPECT_NE(starved.find("space"), std::string::npos) << starved;
}

}  // namespace
}  // namespace okami::backup
