// Backups in the object store against a real S3 server (MinIO from hack/s3.sh): a Chroma data dir
// is streamed into the store and verified by reading it back from there; a tampered or resized
// archive is rejected; an upload killed midway (the real binary, SIGKILL) leaves nothing that counts
// as a backup, and the next upload of that name succeeds.
#include "okami/backup/stored_backup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include "integration/support/stored_backup_fixture.h"

namespace okami::backup {
namespace {

using common::ErrorCode;
namespace fs = std::filesystem;

// Bytes the process has read so far (/proc/<pid>/io rchar), or 0.
uint64_t bytes_read_by(pid_t pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  for (std::string line; std::getline(io, line);) {
    if (line.rfind("rchar:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

TEST_F(StoredBackupTest, StreamsToTheStoreAndVerifiesFromIt) {
  const fs::path data = make_data(12 << 20);  // three 5 MiB parts
  auto stored = upload_backup(*store_, "b1", options_for(data), kMinPartSize);
  ASSERT_TRUE(stored) << stored.error().describe();
  EXPECT_EQ(stored->record.archive_key, "b1/archive.tar");
  EXPECT_GT(stored->record.archive_size, uint64_t{12} << 20);

  auto names = list_stored_backups(*store_);
  ASSERT_TRUE(names) << names.error().describe();
  EXPECT_EQ(*names, std::vector<std::string>{"b1"});
  auto head = store_->head("b1/archive.tar");
  ASSERT_TRUE(head) << head.error().describe();
  EXPECT_EQ(head->size, stored->record.archive_size);
  auto record = read_stored_record(*store_, "b1");
  ASSERT_TRUE(record) << record.error().describe();
  EXPECT_EQ(*record, stored->record);

  auto verified = verify("b1");
  ASSERT_TRUE(verified) << verified.error().describe();
  EXPECT_TRUE(verified->result.verified);
  EXPECT_EQ(verified->result.archive_sha256, stored->record.archive_sha256);
  EXPECT_EQ(verified->result.sqlite_integrity, "ok");
  EXPECT_EQ(verified->manifest.collections.size(), 2u);
  // Nothing but the database copy was written locally, and it is gone again.
  EXPECT_TRUE(fs::is_empty(dir_ / "tmp"));

  // A complete backup is never overwritten.
  auto again = upload_backup(*store_, "b1", options_for(data), kMinPartSize);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kInvalidArgument) << again.error().describe();
  EXPECT_TRUE(verify("b1")) << "the first backup is intact";
}

TEST_F(StoredBackupTest, FlippedBytesInTheStoredArchiveFailVerification) {
  const fs::path data = make_data(1 << 20);
  auto stored = upload_backup(*store_, "b1", options_for(data));
  ASSERT_TRUE(stored) << stored.error().describe();
  std::string archive;
  ASSERT_TRUE(store_->get("b1/archive.tar", [&](const char* d, size_t n) {
    archive.append(d, n);
    return common::ok();
  }));
  archive[archive.size() / 2] ^= 0x5a;  // inside the segment data: the tar structure still reads
  ASSERT_TRUE(store_->put("b1/archive.tar", archive));
  auto verified = verify("b1");
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kIntegrity) << verified.error().describe();
  EXPECT_NE(verified.error().message.find("SHA-256"), std::string::npos) << verified.error().describe();
}

TEST_F(StoredBackupTest, AnArchiveOfAnotherSizeThanRecordedFailsVerification) {
  const fs::path data = make_data(1 << 20);
  auto stored = upload_backup(*store_, "b1", options_for(data));
  ASSERT_TRUE(stored) << stored.error().describe();
  // Trailing bytes after the end-of-archive marker: tar readers ignore them, the recorded size not.
  std::string archive;
  ASSERT_TRUE(store_->get("b1/archive.tar", [&](const char* d, size_t n) {
    archive.append(d, n);
    return common::ok();
  }));
  ASSERT_TRUE(store_->put("b1/archive.tar", archive + std::string(512, '\0')));
  auto verified = verify("b1");
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kIntegrity);
  EXPECT_NE(verified.error().message.find("recorded size"), std::string::npos) << verified.error().describe();

  // A manifest.json that records another size is refused the same way.
  ASSERT_TRUE(store_->put("b1/archive.tar", archive));
  auto record = stored->record;
  record.archive_size += 1;
  ASSERT_TRUE(store_->put("b1/manifest.json", to_json(record)));
  verified = verify("b1");
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("recorded size"), std::string::npos) << verified.error().describe();
}

TEST_F(StoredBackupTest, AnArchiveWithoutManifestIsNoBackup) {
  // What an upload stopped between completing the archive and writing manifest.json leaves.
  ASSERT_TRUE(store_->put("b1/archive.tar", std::string(10240, '\0')));
  auto names = list_stored_backups(*store_);
  ASSERT_TRUE(names);
  EXPECT_TRUE(names->empty());
  auto verified = verify("b1");
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kNotFound) << verified.error().describe();
  // The next upload of that name replaces it.
  auto stored = upload_backup(*store_, "b1", options_for(make_data(1 << 20)));
  ASSERT_TRUE(stored) << stored.error().describe();
  EXPECT_TRUE(verify("b1"));
}

TEST_F(StoredBackupTest, ABackupThatFailsAfterTheUploadBeganLeavesNoObject) {
  const fs::path data = make_data(1 << 20);
  fs::create_symlink("/etc/passwd", data / "zz-link");  // refused once archiving has started
  auto stored = upload_backup(*store_, "b1", options_for(data));
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, ErrorCode::kIntegrity) << stored.error().describe();
  auto left = store_->list("");
  ASSERT_TRUE(left) << left.error().describe();
  EXPECT_TRUE(left->empty()) << left->front().key;
  fs::remove(data / "zz-link");
  EXPECT_TRUE(upload_backup(*store_, "b1", options_for(data)));
  EXPECT_TRUE(verify("b1"));
}

TEST_F(StoredBackupTest, AnUploadKilledMidwayLeavesNoBackupAndTheNextOneSucceeds) {
  const uint64_t segment = 160ull << 20;
  const fs::path data = make_data(segment);
  const auto args = backup_args(data, "nightly");
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(OKAMI_OPERATOR_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // Killed once a quarter of the data went through it: several parts are up, the rest is not.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  int status = 0;
  bool exited = false;
  while (bytes_read_by(pid) < segment / 4 && std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_FALSE(exited) << "the backup ended (status " << status << ") before it could be killed midway";
  ASSERT_GE(bytes_read_by(pid), segment / 4) << "the backup did not get going within two minutes";
  ::kill(pid, SIGKILL);
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;

  auto names = list_stored_backups(*store_);
  ASSERT_TRUE(names) << names.error().describe();
  EXPECT_TRUE(names->empty());
  auto manifest = store_->head("nightly/manifest.json");
  ASSERT_FALSE(manifest);
  EXPECT_EQ(manifest.error().code, ErrorCode::kNotFound);
  auto archive = store_->head("nightly/archive.tar");
  ASSERT_FALSE(archive) << "an uncompleted multipart upload is no object";
  EXPECT_EQ(archive.error().code, ErrorCode::kNotFound);
  auto verified = verify("nightly");
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::kNotFound);

  // The retry, under the same name, through the command line both ways.
  ASSERT_EQ(run_operator(backup_args(data, "nightly")), 0);
  auto verify_args = store_args("nightly");
  verify_args.insert(verify_args.begin(), {"verify-backup", "--expect-stack-uid", "uid-1", "--temp-dir",
                                           (dir_ / "tmp").string(), "--termination-log", (dir_ / "report").string()});
  ASSERT_EQ(run_operator(verify_args), 0);
  const std::string report = okami::testing::read_file(dir_ / "report");
  EXPECT_NE(report.find("\"verified\":true"), std::string::npos) << report;
  auto record = read_stored_record(*store_, "nightly");
  ASSERT_TRUE(record) << record.error().describe();
  EXPECT_NE(report.find(record->archive_sha256), std::string::npos) << report;
  EXPECT_GT(record->archive_size, segment);

  // A store's verify-backup refuses a tampered archive from the command line too.
  ASSERT_TRUE(store_->put("nightly/archive.tar", std::string(10240, '\0')));
  EXPECT_EQ(run_operator(verify_args), 1);
  EXPECT_NE(okami::testing::read_file(dir_ / "report").find("\"verified\":false"), std::string::npos);
}

}  // namespace
}  // namespace okami::backup
