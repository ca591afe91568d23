// What the Jobs and an admin do with a backup in the store, against a real S3 server (MinIO from
// hack/s3.sh): restore it (the files of the source come back; a checksum other than the one signed,
// or an archive replaced in the store, is refused and the target stays empty), re-verify it with
// the signed checksum, remove it (manifest.json first; a second removal succeeds) and list what is
// left: through the library and through the real binary.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "integration/support/stored_backup_fixture.h"
#include "okami/chroma/data_format.h"

namespace okami::backup {
namespace {

using common::ErrorCode;
namespace fs = std::filesystem;
using okami::testing::read_file;

// Every regular file under `dir`, by relative path, with its bytes.
std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) files[fs::relative(e.path(), dir).string()] = read_file(e.path());
  }
  return files;
}

// `restored` holds the data of `source`: every file byte for byte, except chroma.sqlite3, which a
// backup archives as a consistent snapshot (SQLite's header counters differ): there the same
// data format and collections.
void expect_same_data(const fs::path& restored, const fs::path& source) {
  auto got = files_under(restored);
  auto want = files_under(source);
  ASSERT_EQ(got.count("chroma.sqlite3"), 1u);
  EXPECT_EQ(got["chroma.sqlite3"].size(), want["chroma.sqlite3"].size());
  got.erase("chroma.sqlite3");
  want.erase("chroma.sqlite3");
  EXPECT_EQ(got, want);
  auto got_format = chroma::detect_data_format(restored);
  auto want_format = chroma::detect_data_format(source);
  ASSERT_TRUE(got_format && want_format);
  EXPECT_EQ(got_format->name, want_format->name);
  auto got_collections = read_collections(restored / "chroma.sqlite3");
  auto want_collections = read_collections(source / "chroma.sqlite3");
  ASSERT_TRUE(got_collections && want_collections);
  EXPECT_EQ(*got_collections, *want_collections);
  EXPECT_EQ(got_collections->size(), 2u);
}

bool empty_dir(const fs::path& dir) { return fs::is_directory(dir) && fs::is_empty(dir); }

// One JSON value per line of `text`.
std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

class StoredBackupCommandsTest : public StoredBackupTest {
 protected:
  RestoreOptions restore_options(const std::string& target) const {
    RestoreOptions r;
    r.target = dir_ / target;
    r.expect_stack_uid = "uid-1";
    r.expect_format = "chroma-0.5";
    return r;
  }
  // The store's archive of `name`, as bytes.
  std::string archive_of(const std::string& name) {
    std::string bytes;
    EXPECT_TRUE(store_->get(name + "/archive.tar", [&](const char* d, size_t n) {
      bytes.append(d, n);
      return common::ok();
    }));
    return bytes;
  }
  std::vector<std::string> command(const std::string& name, const std::string& backup,
                                   const std::vector<std::string>& more) const {
    std::vector<std::string> args{name};
    for (const auto& a : more) args.push_back(a);
    for (const auto& a : store_args(backup)) args.push_back(a);
    return args;
  }
};

TEST_F(StoredBackupCommandsTest, RestoresTheSourceFilesFromTheStore) {
  const fs::path data = make_data(6 << 20);
  auto stored = upload_backup(*store_, "b1", options_for(data), kMinPartSize);
  ASSERT_TRUE(stored) << stored.error().describe();

  RestoreOptions r = restore_options("restored");
  r.expect_archive_sha256 = stored->record.archive_sha256;  // the signed checksum
  auto restored = restore_stored_backup(*store_, "b1", r);
  ASSERT_TRUE(restored) << restored.error().describe();
  EXPECT_EQ(restored->archive_sha256, stored->record.archive_sha256);
  EXPECT_EQ(restored->files, stored->record.manifest.files.size());
  expect_same_data(dir_ / "restored", data);

  // The restore Job's command line, from the store, without a signed checksum to hold it to.
  ASSERT_EQ(run_operator(command("restore", "b1",
                                 {"--target", (dir_ / "restored-cli").string(), "--expect-stack-uid", "uid-1",
                                  "--termination-log", (dir_ / "report").string()})),
            0);
  expect_same_data(dir_ / "restored-cli", data);
  auto report = nlohmann::json::parse(read_file(dir_ / "report"));
  EXPECT_EQ(report["archiveSha256"], stored->record.archive_sha256);
}

TEST_F(StoredBackupCommandsTest, RefusesAChecksumOtherThanTheRecordedOneAndLeavesTheTargetEmpty) {
  const fs::path data = make_data(1 << 20);
  auto stored = upload_backup(*store_, "b1", options_for(data));
  ASSERT_TRUE(stored) << stored.error().describe();
  const std::string other_sha(64, 'c');
  fs::create_directories(dir_ / "restored");

  RestoreOptions r = restore_options("restored");
  r.expect_archive_sha256 = other_sha;
  auto restored = restore_stored_backup(*store_, "b1", r);
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(restored.error().message.find("another archive than the one signed"), std::string::npos)
      << restored.error().describe();
  EXPECT_TRUE(empty_dir(dir_ / "restored"));

  VerifyOptions v;
  v.checked_at = "2026-12-07T01:05:00Z";
  v.temp_dir = dir_ / "tmp";
  v.expect_archive_sha256 = other_sha;
  auto verified = verify_stored_backup(*store_, "b1", v);
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(verified.error().message.find("another archive than the one signed"), std::string::npos);

  // The same through the command line: restore and verify-backup with --expect-sha256.
  EXPECT_EQ(run_operator(command("restore", "b1",
                                 {"--target", (dir_ / "restored").string(), "--expect-sha256", other_sha,
                                  "--termination-log", (dir_ / "report").string()})),
            1);
  EXPECT_TRUE(empty_dir(dir_ / "restored"));
  EXPECT_NE(read_file(dir_ / "report").find("another archive than the one signed"), std::string::npos);
  EXPECT_EQ(run_operator(command("verify-backup", "b1",
                                 {"--expect-sha256", other_sha, "--temp-dir", (dir_ / "tmp").string(),
                                  "--termination-log", (dir_ / "report").string()})),
            1);
  EXPECT_NE(read_file(dir_ / "report").find("\"verified\":false"), std::string::npos) << read_file(dir_ / "report");
}

TEST_F(StoredBackupCommandsTest, RefusesAnArchiveReplacedInTheStoreAndLeavesTheTargetEmpty) {
  auto stored = upload_backup(*store_, "b1", options_for(make_data(1 << 20)));
  ASSERT_TRUE(stored) << stored.error().describe();
  // Another stack's genuine backup, copied over b1's archive; b1's manifest.json stays.
  auto other_options = options_for(dir_ / "data");
  other_options.stack = {"team-b", "okami", "uid-2"};
  ASSERT_TRUE(upload_backup(*store_, "b2", other_options));
  const std::string original = archive_of("b1");
  ASSERT_TRUE(store_->put("b1/archive.tar", archive_of("b2")));
  auto restored = restore_stored_backup(*store_, "b1", restore_options("restored"));
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::kIntegrity) << restored.error().describe();
  EXPECT_TRUE(empty_dir(dir_ / "restored"));

  // The same size with bytes flipped inside the segment data: caught by the SHA-256, after the
  // files were extracted to staging, which is removed again.
  std::string flipped = original;
  flipped[flipped.size() / 2] ^= 0x5a;
  ASSERT_TRUE(store_->put("b1/archive.tar", flipped));
  restored = restore_stored_backup(*store_, "b1", restore_options("restored"));
  ASSERT_FALSE(restored);
  EXPECT_EQ(restored.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(restored.error().message.find("SHA-256"), std::string::npos) << restored.error().describe();
  EXPECT_TRUE(empty_dir(dir_ / "restored"));
}

TEST_F(StoredBackupCommandsTest, RemovesManifestFirstThenArchivesAndASecondRemovalSucceeds) {
  const fs::path data = make_data(1 << 20);
  auto b1 = upload_backup(*store_, "b1", options_for(data));
  ASSERT_TRUE(b1) << b1.error().describe();
  auto gz_options = options_for(data);
  gz_options.compression = Compression::kGzip;
  auto b2 = upload_backup(*store_, "b2", gz_options);
  ASSERT_TRUE(b2) << b2.error().describe();
  auto manifest = store_->head("b1/manifest.json");
  ASSERT_TRUE(manifest);

  auto removed = remove_stored_backup(*store_, "b1");
  ASSERT_TRUE(removed) << removed.error().describe();
  EXPECT_EQ(removed->removed, (std::vector<std::string>{"b1/manifest.json", "b1/archive.tar"}));
  EXPECT_EQ(removed->bytes, manifest->size + b1->record.archive_size);
  auto names = list_stored_backups(*store_);
  ASSERT_TRUE(names) << names.error().describe();
  EXPECT_EQ(*names, std::vector<std::string>{"b2"});
  auto left = store_->list("b1/");
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty()) << left->front().key;

  auto again = remove_stored_backup(*store_, "b1");
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_TRUE(again->removed.empty());
  EXPECT_EQ(again->bytes, 0u);

  // A half-removed backup (its manifest.json gone, a removal broken off) is no backup; finishing
  // the removal takes what is left. A compressed archive goes too.
  ASSERT_TRUE(store_->remove("b2/manifest.json"));
  names = list_stored_backups(*store_);
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());
  removed = remove_stored_backup(*store_, "b2");
  ASSERT_TRUE(removed) << removed.error().describe();
  EXPECT_EQ(removed->removed, std::vector<std::string>{"b2/archive.tar.gz"});
  left = store_->list("");
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty()) << left->front().key;
}

TEST_F(StoredBackupCommandsTest, ListBackupsAndRemoveArchiveThroughTheBinary) {
  const fs::path data = make_data(1 << 20);
  ASSERT_EQ(run_operator(backup_args(data, "nightly-1")), 0);
  auto other = options_for(data);
  other.taken_at = "2026-12-08T01:00:00Z";
  ASSERT_TRUE(upload_backup(*store_, "nightly-2", other));
  ASSERT_TRUE(store_->put("broken/archive.tar", std::string(10240, '\0')));  // never completed
  auto record = read_stored_record(*store_, "nightly-1");
  ASSERT_TRUE(record) << record.error().describe();

  const std::string out = (dir_ / "out").string();
  ASSERT_EQ(run_operator(command("list-backups", "", {}), out), 0);
  auto lines = json_lines(read_file(out));
  ASSERT_EQ(lines.size(), 2u) << read_file(out);
  EXPECT_EQ(lines[0],
            (nlohmann::json{{"name", "nightly-1"},
                            {"takenAt", record->manifest.taken_at},
                            {"stack", {{"namespace", "team-a"}, {"name", "okami"}, {"uid", "uid-1"}}},
                            {"chromaVersion", "0.5.23"},
                            {"dataFormat", "chroma-0.5"},
                            {"archiveSize", record->archive_size},
                            {"archiveSha256", record->archive_sha256}}));
  EXPECT_EQ(lines[1]["name"], "nightly-2");
  EXPECT_EQ(lines[1]["takenAt"], "2026-12-08T01:00:00Z");

  const std::vector<std::string> remove =
      command("remove-archive", "nightly-1", {"--termination-log", (dir_ / "report").string()});
  ASSERT_EQ(run_operator(remove), 0);
  auto report = nlohmann::json::parse(read_file(dir_ / "report"));
  EXPECT_EQ(report["removed"], (nlohmann::json{"nightly-1/manifest.json", "nightly-1/archive.tar"}));
  EXPECT_GT(report["bytes"].get<uint64_t>(), record->archive_size);
  ASSERT_EQ(run_operator(command("list-backups", "", {}), out), 0);
  lines = json_lines(read_file(out));
  ASSERT_EQ(lines.size(), 1u) << read_file(out);
  EXPECT_EQ(lines[0]["name"], "nightly-2");

  // The retried Job: nothing left to remove, success.
  ASSERT_EQ(run_operator(remove), 0);
  report = nlohmann::json::parse(read_file(dir_ / "report"));
  EXPECT_TRUE(report["removed"].empty()) << report.dump();
  // The volume's options and the store's together are bad usage, and nothing is removed.
  auto both = command("remove-archive", "nightly-2", {"--backups", dir_.path().string()});
  EXPECT_EQ(run_operator(both), 2);
  EXPECT_TRUE(store_->head("nightly-2/manifest.json"));
}

TEST_F(StoredBackupCommandsTest, VerifyBackupHoldsTheStoreToTheSignedChecksumAndReportsTheSource) {
  auto stored = upload_backup(*store_, "b1", options_for(make_data(1 << 20)));
  ASSERT_TRUE(stored) << stored.error().describe();
  const std::string report_path = (dir_ / "report").string();
  ASSERT_EQ(run_operator(command("verify-backup", "b1",
                                 {"--expect-sha256", stored->record.archive_sha256, "--expect-stack-uid", "uid-1",
                                  "--temp-dir", (dir_ / "tmp").string(), "--termination-log", report_path})),
            0);
  const std::string text = read_file(report_path);
  auto result = parse_verification_result(text);
  ASSERT_TRUE(result) << result.error().describe() << ": " << text;
  EXPECT_TRUE(result->verified);
  EXPECT_EQ(result->archive_sha256, stored->record.archive_sha256);
  auto source = nlohmann::json::parse(text)["source"];
  EXPECT_EQ(source["chromaVersion"], "0.5.23");
  EXPECT_EQ(source["dataFormat"], "chroma-0.5");
  EXPECT_EQ(source["migrations"].size(), stored->record.manifest.data_format.migrations.size());
  ASSERT_EQ(source["collections"].size(), 2u) << text;
  EXPECT_EQ(source["collections"][0]["name"], stored->record.manifest.collections[0].name);
  EXPECT_EQ(source["collections"][0]["count"], stored->record.manifest.collections[0].count);
}

TEST_F(StoredBackupCommandsTest, VerifyMigrationReadsTheBackupFromTheStore) {
  auto stored = upload_backup(*store_, "b1", options_for(make_data(1 << 20)));
  ASSERT_TRUE(stored) << stored.error().describe();
  const std::string report_path = (dir_ / "report").string();
  // No Chroma answers: the backup verifies from the store, the server check then fails.
  auto args = [&](const std::string& sha) {
    return command("verify-migration", "b1",
                   {"--chroma-url", "http://127.0.0.1:9", "--expect-stack-uid", "uid-1", "--chroma-version", "1.0.15",
                    "--expect-sha256", sha, "--temp-dir", (dir_ / "tmp").string(), "--termination-log", report_path});
  };
  EXPECT_EQ(run_operator(args(stored->record.archive_sha256)), 1);
  auto report = nlohmann::json::parse(read_file(report_path));
  EXPECT_EQ(report["manifestDigest"], manifest_digest(stored->record.manifest)) << report.dump();
  EXPECT_EQ(report["message"].get<std::string>().find("does not verify"), std::string::npos) << report.dump();

  EXPECT_EQ(run_operator(args(std::string(64, 'c'))), 1);
  report = nlohmann::json::parse(read_file(report_path));
  EXPECT_NE(report["message"].get<std::string>().find("another archive than the one signed"), std::string::npos)
      << report.dump();
  EXPECT_EQ(report["verified"], false);
}

}  // namespace
}  // namespace okami::backup
