// The fixture of the stored backup suites (stored_backup_test.cpp, stored_backup_commands_test.cpp):
// one MinIO for the suite, a fresh key prefix per test (emptied again on a shared server), a
// Chroma-like data dir to back up, and the operator binary run with the store's options.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "integration/support/s3_server.h"
#include "okami/backup/stored_backup.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::backup {

// A file of `bytes` pseudo-random bytes (incompressible, like HNSW data).
inline void write_random_file(const std::filesystem::path& path, uint64_t bytes, uint64_t seed) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> block(1 << 17);
  for (uint64_t done = 0; done < bytes;) {
    for (auto& v : block) v = rng();
    const uint64_t n = std::min<uint64_t>(block.size() * 8, bytes - done);
    out.write(reinterpret_cast<const char*>(block.data()), static_cast<std::streamsize>(n));
    done += n;
  }
}

// Runs the operator binary with `args`, its stdout into `out` (discarded when empty); returns its
// exit code (-signal when killed).
inline int run_operator(const std::vector<std::string>& args, const std::string& out = "") {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv{const_cast<char*>(OKAMI_OPERATOR_BIN)};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int fd = out.empty() ? ::open("/dev/null", O_WRONLY) : ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(fd, 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

class StoredBackupTest : public okami::testing::S3ServerSuite<StoredBackupTest, false> {
 protected:
  void SetUp() override {
    require_server();
    if (HasFatalFailure()) return;
    config_ = server_->config();
    config_.prefix = okami::testing::unique_prefix("stored") + "/";
    auto store = ObjectStore::open(config_, clock_);
    ASSERT_TRUE(store) << store.error().describe();
    store_ = std::move(*store);
    std::filesystem::create_directories(dir_ / "tmp");
  }
  void TearDown() override {
    if (server_ == nullptr || !server_->shared() || !store_) return;
    auto left = store_->list("");
    ASSERT_TRUE(left) << left.error().describe();
    for (const auto& object : *left) EXPECT_TRUE(store_->remove(object.key)) << object.key;
  }

  BackupOptions options_for(const std::filesystem::path& data) const {
    BackupOptions o;
    o.data_dir = data;
    o.temp_dir = dir_ / "tmp";
    o.stack = {"team-a", "okami", "uid-1"};
    o.chroma_version = "0.5.23";
    o.taken_at = "2026-12-07T01:00:00Z";
    return o;
  }

  // A Chroma-like data dir: the real table shapes plus `segment_bytes` of HNSW-like data.
  std::filesystem::path make_data(uint64_t segment_bytes) const {
    const std::filesystem::path data = dir_ / "data";
    okami::testing::write_chroma_db(data);
    write_random_file(data / "3f1c0c2e-seg-a" / "data_level0.bin", segment_bytes, 1);
    okami::testing::write_file(data / "3f1c0c2e-seg-a" / "header.bin", "header");
    return data;
  }

  common::Result<VerifiedBackup> verify(const std::string& name) {
    VerifyOptions v;
    v.checked_at = "2026-12-07T01:05:00Z";
    v.temp_dir = dir_ / "tmp";
    v.expect_stack_uid = "uid-1";
    return verify_stored_backup(*store_, name, v);
  }

  // Key files and the store options of the command line (--backup-name when `name` is given).
  std::vector<std::string> store_args(const std::string& name) const {
    okami::testing::write_file(dir_ / "access", config_.access_key + "\n");
    okami::testing::write_file(dir_ / "secret", config_.secret_key + "\n");
    std::vector<std::string> args{"--object-store-endpoint", config_.endpoint, "--object-store-bucket", config_.bucket,
                                  "--object-store-prefix", config_.prefix, "--object-store-region", config_.region,
                                  "--object-store-access-key-file", (dir_ / "access").string(),
                                  "--object-store-secret-key-file", (dir_ / "secret").string()};
    if (!name.empty()) args.insert(args.end(), {"--backup-name", name});
    return args;
  }
  std::vector<std::string> backup_args(const std::filesystem::path& data, const std::string& name) const {
    std::vector<std::string> args{"backup", "--data", data.string(), "--stack-namespace", "team-a",
                                  "--stack-name", "okami", "--stack-uid", "uid-1", "--chroma-version", "0.5.23",
                                  "--temp-dir", (dir_ / "tmp").string()};
    for (auto& a : store_args(name)) args.push_back(a);
    return args;
  }

  common::SystemClock clock_;
  ObjectStoreConfig config_;
  std::unique_ptr<ObjectStore> store_;
  okami::testing::ScratchDir dir_;
};

}  // namespace okami::backup
