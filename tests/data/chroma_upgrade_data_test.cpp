// Real ChromaDB data through the operator's backup, verify, guard and restore: a 0.5.23 server
// writes known vectors, a 1.x server migrates a copy, and the backup brings 0.5.23 back.
// Needs the venvs of hack/chroma-env.sh; without them every test fails and says how to get them.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "app/subcommands.h"
#include "data/chroma_server.h"
#include "okami/backup/archive.h"
#include "okami/backup/restore.h"
#include "okami/backup/verify.h"
#include "okami/chroma/data_format.h"

namespace okami::datatest {
namespace {

const std::string kKey = "data-test-signing-key-0123456789";

struct Collection {
  std::string name;
  int dimension;
  int count;
};
const std::vector<Collection> kCollections = {{"mxbai_memories", 1024, 300}, {"minilm_knowledge", 384, 200}};

// The `guard` init container's command, run in-process with the arguments a pod would pass.
int run_guard(const std::string& data, const std::string& server_version) {
  return okami::app::guard_command().run({"--data", data, "--server-version", server_version});
}

nlohmann::json list_collections(const ChromaServer& server) {
  auto r = run_fixture(server.version(), server.port(), "list");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  return j.is_discarded() ? nlohmann::json::array() : j;
}

// Every known collection is served with its count and dimension, and stored vectors find
// themselves first in a query.
void expect_known_collections(const ChromaServer& server) {
  auto listed = list_collections(server);
  ASSERT_EQ(listed.size(), kCollections.size()) << listed.dump();
  for (const auto& c : kCollections) {
    bool found = false;
    for (const auto& l : listed) {
      if (l["name"] != c.name) continue;
      found = true;
      EXPECT_EQ(l["count"], c.count) << c.name;
      EXPECT_EQ(l["dimension"], c.dimension) << c.name;
    }
    EXPECT_TRUE(found) << c.name;
    auto check = run_fixture(server.version(), server.port(),
                             "check --name " + c.name + " --dimension " + std::to_string(c.dimension) + " --count " +
                                 std::to_string(c.count));
    EXPECT_EQ(check.exit_code, 0) << check.out;
  }
}

class RealChroma : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto versions = versions_env();
    old_version_ = versions["CHROMA_OLD_VERSION"];
    new_version_ = versions["CHROMA_NEW_VERSION"];
    for (const auto& v : {old_version_, new_version_}) {
      if (v.empty() || !fs::exists(venv_dir(v) / "bin" / "chroma")) {
        setup_error_ = "no ChromaDB " + v + " venv at " + venv_dir(v).string() +
                       ": run hack/chroma-env.sh (creates both venvs from PyPI)";
        return;
      }
    }
    root_ = fs::temp_directory_path() / ("okami-data-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    // ctest runs each test in its own process: the seeded data and its backup are made once per
    // machine and version (published atomically, never modified afterwards) and copied from there.
    seed_ = fs::temp_directory_path() / ("okami-data-seed-" + old_version_ + "-v1");
    if (!fs::exists(seed_ / "complete")) {
      setup_error_ = make_seed(root_ / "seed-building");
      if (!setup_error_.empty()) return;
      std::error_code ec;
      fs::rename(root_ / "seed-building", seed_, ec);  // loses harmlessly to a concurrent builder
    }
    archive_ = seed_ / "backups" / "before-upgrade.tar";
    auto entries = backup::parse_manifest(read_manifest(seed_ / "manifest.json"));
    if (!entries) {
      setup_error_ = "seed manifest unreadable: " + entries.error().describe();
      return;
    }
    manifest_ = *entries;
  }

  static std::string read_manifest(const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }

  // A 0.5.23 server writes the known collections into dir/original; then it is backed up.
  static std::string make_seed(const fs::path& dir) {
    fs::create_directories(dir / "backups");
    {
      ChromaServer server(old_version_, dir / "original", root_ / "seed-server.log");
      if (!server.wait_ready()) return "chroma " + old_version_ + " did not start; see " + (root_ / "seed-server.log").string();
      for (const auto& c : kCollections) {
        auto r = run_fixture(old_version_, server.port(),
                             "create --name " + c.name + " --dimension " + std::to_string(c.dimension) + " --count " +
                                 std::to_string(c.count));
        if (r.exit_code != 0) return "fixture create failed: " + r.out;
      }
    }
    backup::BackupOptions o;
    o.data_dir = dir / "original";
    o.out = dir / "backups" / "before-upgrade.tar";
    o.stack = {"okami", "okami", "stack-uid-1"};
    o.chroma_version = old_version_;
    o.taken_at = "2026-11-26T01:00:00Z";
    auto summary = backup::write_backup(o);
    if (!summary) return "backup failed: " + summary.error().describe();
    std::ofstream(dir / "manifest.json") << backup::canonical_json(summary->manifest);
    std::ofstream(dir / "complete") << "ok\n";
    return "";
  }

  static void TearDownTestSuite() {
    if (!root_.empty()) fs::remove_all(root_);
  }

  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static fs::path copy_original(const std::string& name) {
    fs::copy(seed_ / "original", root_ / name, fs::copy_options::recursive);
    return root_ / name;
  }

  static inline std::string old_version_, new_version_, setup_error_;
  static inline fs::path root_, seed_, archive_;
  static inline backup::Manifest manifest_;
};

TEST_F(RealChroma, Data0523WroteReadsAsChroma05) {
  auto format = chroma::detect_data_format(seed_ / "original");
  ASSERT_TRUE(format) << format.error().describe();
  EXPECT_EQ(format->name, "chroma-0.5");
  EXPECT_EQ(format->migrations, (std::map<std::string, int>{{"embeddings_queue", 2}, {"metadb", 4}, {"sysdb", 9}}));
  EXPECT_EQ(format->seq_id_type, "blob");
  EXPECT_FALSE(format->opened_by_1x);
}

TEST_F(RealChroma, ManifestRecordsEveryCollectionWithDimensionAndCount) {
  ASSERT_EQ(manifest_.collections.size(), kCollections.size());
  for (const auto& c : kCollections) {
    bool found = false;
    for (const auto& m : manifest_.collections) {
      if (m.name != c.name) continue;
      found = true;
      EXPECT_EQ(m.dimension, c.dimension);
      EXPECT_EQ(m.count, c.count);
      EXPECT_EQ(m.database, "default_tenant/default_database");
    }
    EXPECT_TRUE(found) << c.name;
  }
  EXPECT_EQ(manifest_.data_format.name, "chroma-0.5");
}

TEST_F(RealChroma, BackupOf0523DataVerifiesAndIsSigned) {
  backup::VerifyOptions o;
  o.archive = archive_;
  o.expect_stack_uid = "stack-uid-1";
  o.expect_format = "chroma-0.5";
  o.checked_at = "2026-11-26T01:05:00Z";
  o.temp_dir = root_;
  auto verified = backup::verify_backup(o);
  ASSERT_TRUE(verified) << verified.error().describe();
  ASSERT_TRUE(backup::sign(verified->result, kKey));
  EXPECT_TRUE(backup::check_verification(verified->result, kKey, "stack-uid-1", "chroma-0.5"));
  EXPECT_EQ(verified->result.sqlite_integrity, "ok");
  EXPECT_TRUE(verified->result.collections_match);
}

TEST_F(RealChroma, Server1xMigratesACopyKeepsEveryVectorAndTheGuardThenRefuses0523) {
  const fs::path copy = copy_original("migrated");
  {
    ChromaServer server(new_version_, copy, root_ / "server-1x.log");
    ASSERT_TRUE(server.wait_ready()) << "chroma " << new_version_ << " did not start";
    EXPECT_EQ(http_status(server.port(), "/api/v1/heartbeat"), 410);  // 1.x serves v2 only
    expect_known_collections(server);
  }
  auto format = chroma::detect_data_format(copy);
  ASSERT_TRUE(format);
  EXPECT_EQ(format->name, "chroma-1.0");
  EXPECT_EQ(format->migrations.at("metadb"), 5);
  EXPECT_EQ(format->seq_id_type, "integer");
  EXPECT_TRUE(format->opened_by_1x);

  EXPECT_NE(run_guard(copy.string(), old_version_), 0);
  EXPECT_EQ(run_guard(copy.string(), new_version_), 0);
  EXPECT_EQ(run_guard((seed_ / "original").string(), old_version_), 0);
  EXPECT_EQ(run_guard((root_ / "nothing-yet").string(), old_version_), 0);
}

// FACTS: a 0.5.23 server does not refuse migrated data; it starts and writes a BLOB seq_id into
// the column 1.x made INTEGER. Observed here; the guard then refuses every server on that data.
TEST_F(RealChroma, An0523ServerStartedOnMigratedDataLeavesMixedSeqIdsThatNoServerMayOpen) {
  const fs::path copy = copy_original("old-on-new");
  {
    ChromaServer server(new_version_, copy, root_ / "server-1x-migrate.log");
    ASSERT_TRUE(server.wait_ready());
  }
  {
    ChromaServer server(old_version_, copy, root_ / "server-old-on-new.log");
    ASSERT_TRUE(server.wait_ready()) << "0.5.23 refused migrated data (FACTS says it starts)";
    auto r = run_fixture(old_version_, server.port(), "create --name late_write --dimension 384 --count 3");
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }
  auto format = chroma::detect_data_format(copy);
  ASSERT_TRUE(format);
  EXPECT_EQ(format->seq_id_type, "mixed");
  EXPECT_NE(run_guard(copy.string(), new_version_), 0);
  EXPECT_NE(run_guard(copy.string(), old_version_), 0);
}

TEST_F(RealChroma, BackupTakenBeforeTheMigrationDoesNotPassForTheMigratedFormat) {
  backup::VerifyOptions o;
  o.archive = archive_;
  o.expect_format = "chroma-1.0";
  o.checked_at = "2026-11-26T01:05:00Z";
  o.temp_dir = root_;
  EXPECT_FALSE(backup::verify_backup(o));
}

TEST_F(RealChroma, RestoredBackupServesTheOriginalDataTo0523) {
  backup::RestoreOptions o;
  o.archive = archive_;
  o.target = root_ / "restored";
  auto restored = backup::restore_backup(o);
  ASSERT_TRUE(restored) << restored.error().describe();
  auto format = chroma::detect_data_format(o.target);
  ASSERT_TRUE(format);
  EXPECT_EQ(format->name, "chroma-0.5");
  EXPECT_EQ(run_guard(o.target.string(), old_version_), 0);
  ChromaServer server(old_version_, o.target, root_ / "server-restored.log");
  ASSERT_TRUE(server.wait_ready()) << "chroma " << old_version_ << " did not start on the restored data";
  expect_known_collections(server);
}

}  // namespace
}  // namespace okami::datatest
