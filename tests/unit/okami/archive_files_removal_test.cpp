#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "okami/backup/removal.h"

namespace okami::backup {
namespace {

namespace fs = std::filesystem;

struct Dir {
  fs::path path;
  Dir() {
    char tmpl[] = "/tmp/okami-removal-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~Dir() { fs::remove_all(path); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path / name) << text; }
};

TEST(ArchiveFilesRemoval, RemovesTheArchiveItsChecksumAndWhatAnInterruptedWriteLeftAndNothingElse) {
  Dir d;
  d.write("nightly-1234abcd.tar", std::string(1000, 'a'));
  d.write("nightly-1234abcd.tar.sha256", "x  nightly-1234abcd.tar\n");
  d.write("nightly-1234abcd.tar.partial", "half");
  d.write("nightly-1234abcd.tar.other", "keep");
  d.write("other-99999999.tar", "keep");
  auto r = remove_archive(d.path, d.path / "nightly-1234abcd.tar");
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->removed, (std::vector<std::string>{"nightly-1234abcd.tar", "nightly-1234abcd.tar.sha256",
                                                  "nightly-1234abcd.tar.partial"}));
  EXPECT_EQ(r->bytes, 1000u + 24u + 4u);
  EXPECT_TRUE(fs::exists(d.path / "nightly-1234abcd.tar.other"));
  EXPECT_TRUE(fs::exists(d.path / "other-99999999.tar"));
  // Retried after a crash: nothing left to remove, still a success.
  auto again = remove_archive(d.path, d.path / "nightly-1234abcd.tar");
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->removed.empty());
}

TEST(ArchiveFilesRemoval, RefusesAnythingButAnArchiveDirectlyInTheBackupsDirectory) {
  Dir d;
  fs::create_directory(d.path / "sub");
  d.write("sub/x.tar", "keep");
  d.write("notes.txt", "keep");
  for (const fs::path& p : {d.path / "sub" / "x.tar", d.path / "notes.txt", d.path / ".." / "x.tar",
                            d.path / "sub" / ".." / ".." / "etc.tar", fs::path("/etc/passwd"), fs::path("x.tar")}) {
    auto r = remove_archive(d.path, p);
    ASSERT_FALSE(r) << p;
    EXPECT_EQ(r.error().code, common::ErrorCode::kInvalidArgument) << p;
  }
  EXPECT_TRUE(fs::exists(d.path / "sub" / "x.tar"));
  EXPECT_TRUE(fs::exists(d.path / "notes.txt"));
  // The directory given with a trailing slash is the same directory.
  d.write("b-1.tar", "x");
  EXPECT_TRUE(remove_archive(d.path.string() + "/", d.path / "b-1.tar"));
}

TEST(ArchiveFilesRemoval, ASymlinkUnderAnArchivesNameIsRefusedAndNothingIsRemoved) {
  Dir d;
  Dir elsewhere;
  elsewhere.write("precious", "data");
  d.write("b-1.tar", "archive");
  fs::create_symlink(elsewhere.path / "precious", d.path / "b-1.tar.sha256");
  auto r = remove_archive(d.path, d.path / "b-1.tar");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, common::ErrorCode::kIntegrity);
  EXPECT_TRUE(fs::exists(d.path / "b-1.tar"));
  EXPECT_TRUE(fs::exists(elsewhere.path / "precious"));
  EXPECT_TRUE(fs::is_symlink(d.path / "b-1.tar.sha256"));
}

}  // namespace
}  // namespace okami::backup
