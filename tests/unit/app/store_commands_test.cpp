// The object store options of the Job commands, checked without a store: each command takes its
// backup from exactly one place (a local file or the store), refuses anything else as bad usage
// (exit 2) before it reads a key file or opens a connection, and the report of a stored backup's
// verification stays within a termination message.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "app/job_report.h"
#include "app/object_store_options.h"
#include "app/subcommands.h"
#include "common/clock.h"
#include "okami/backup/verify.h"

namespace okami::app {
namespace {

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `okami-operator <name> <args>` in-process, with stdout and stderr captured.
Run run(const std::string& name, const std::vector<std::string>& args) {
  const auto commands = all_subcommands();
  auto it = commands.find(name);
  if (it == commands.end()) return {-1, "", "no command " + name};
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  Run r;
  r.code = it->second.run(args);
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// A store nobody listens on: a command that got past its usage checks would fail to read the key
// files (exit 1 or 2 with another message), never reach it.
const std::vector<std::string> kStore = {"--object-store-endpoint", "http://127.0.0.1:9",
                                         "--object-store-bucket", "backups", "--backup-name", "b1"};

std::vector<std::string> plus(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(StoreCommands, RestoreTakesExactlyOneOfArchiveAndStore) {
  auto both = run("restore", plus({"--archive", "/backups/a.tar", "--target", "/data"}, kStore));
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("exactly one of --archive and --object-store-endpoint"), std::string::npos) << both.err;
  auto neither = run("restore", {"--target", "/data"});
  EXPECT_EQ(neither.code, 2);
  EXPECT_NE(neither.err.find("exactly one"), std::string::npos) << neither.err;
}

TEST(StoreCommands, VerifyBackupTakesExactlyOneOfArchiveAndStore) {
  auto both = run("verify-backup", plus({"--archive", "/backups/a.tar"}, kStore));
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("exactly one"), std::string::npos) << both.err;
}

TEST(StoreCommands, VerifyMigrationTakesExactlyOneOfArchiveAndStore) {
  const std::vector<std::string> base = {"--chroma-url", "http://127.0.0.1:9", "--expect-stack-uid", "uid-1",
                                         "--chroma-version", "1.0.15"};
  auto both = run("verify-migration", plus(plus(base, {"--archive", "/backups/a.tar"}), kStore));
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("exactly one of --archive and --object-store-endpoint"), std::string::npos) << both.err;
  auto neither = run("verify-migration", base);
  EXPECT_EQ(neither.code, 2);
  EXPECT_NE(neither.err.find("exactly one"), std::string::npos) << neither.err;
}

TEST(StoreCommands, RemoveArchiveTakesTheVolumeOrTheStoreNotBoth) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           plus({"--backups", "/backups", "--archive", "/backups/a.tar"}, kStore),
           plus({"--backups", "/backups"}, kStore),
           plus({"--archive", "/backups/a.tar"}, kStore),
           {"--backups", "/backups"},
           {}}) {
    auto r = run("remove-archive", args);
    EXPECT_EQ(r.code, 2) << ::testing::PrintToString(args);
    EXPECT_NE(r.err.find("give either --backups and --archive, or --object-store-endpoint and --backup-name"),
              std::string::npos)
        << r.err;
  }
}

TEST(StoreCommands, ListBackupsNeedsTheStore) {
  auto r = run("list-backups", {});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--object-store-endpoint is required"), std::string::npos) << r.err;
  // A store without its key files is bad usage too, found before any request.
  r = run("list-backups", {"--object-store-endpoint", "http://127.0.0.1:9", "--object-store-bucket", "backups"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--object-store-access-key-file is required"), std::string::npos) << r.err;
}

TEST(StoreCommands, ListBackupsHelpSaysItIsHowToFindTheBackupToRestore) {
  auto r = run("list-backups", {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("disaster recovery"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("okami-operator restore"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--object-store-endpoint"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("--backup-name arg"), std::string::npos) << "it lists every backup: " << r.out;
  EXPECT_NE(all_subcommands().at("list-backups").summary.find("disaster recovery"), std::string::npos);
}

TEST(StoreCommands, OpeningForOneBackupNeedsItsNameTheWholeStoreDoesNot) {
  common::SystemClock clock;
  ObjectStoreOptions o;
  o.endpoint = "http://127.0.0.1:9";
  o.bucket = "backups";
  auto one = o.open(clock);
  ASSERT_FALSE(one);
  EXPECT_NE(one.error().message.find("--backup-name"), std::string::npos) << one.error().describe();
  auto all = o.open_store(clock);
  ASSERT_FALSE(all);  // no key files given
  EXPECT_EQ(all.error().message.find("--backup-name"), std::string::npos) << all.error().describe();
  EXPECT_NE(all.error().message.find("access-key-file"), std::string::npos) << all.error().describe();
}

backup::Manifest manifest_with(int collections, int migrations) {
  backup::Manifest m;
  m.chroma_version = "0.5.23";
  m.data_format.name = "chroma-0.5";
  for (int i = 0; i < migrations; ++i) m.data_format.migrations["sysdb/" + std::to_string(1000 + i)] = i;
  for (int i = 0; i < collections; ++i) {
    m.collections.push_back({"5b1a9c0e-0000-4000-8000-" + std::to_string(100000000000 + i),
                             "memories-" + std::to_string(i), "default_tenant/default_database",
                             i % 2 ? -1 : 1024, i});
  }
  return m;
}

// The unsigned result of a verify Job with the source, as verify-backup reports a stored backup.
nlohmann::json verified_report(const backup::Manifest& m) {
  backup::VerificationResult r;
  r.checked_at = "2026-12-07T01:05:00Z";
  r.archive_sha256 = std::string(64, 'a');
  r.sqlite_integrity = "ok";
  r.collections_match = true;
  r.manifest_digest = std::string(64, 'b');
  r.stack_uid = "uid-1";
  r.data_format = "chroma-0.5";
  r.verified = true;
  nlohmann::json j = nlohmann::json::parse(backup::to_json(r));
  j["source"] = source_report(m);
  fit_source(j);
  return j;
}

TEST(JobReportSource, CarriesTheManifestsSourceAndStillParsesAsAVerificationResult) {
  nlohmann::json j = verified_report(manifest_with(2, 3));
  const auto& source = j["source"];
  EXPECT_EQ(source["chromaVersion"], "0.5.23");
  EXPECT_EQ(source["dataFormat"], "chroma-0.5");
  EXPECT_EQ(source["migrations"].size(), 3u);
  ASSERT_EQ(source["collections"].size(), 2u);
  EXPECT_EQ(source["collections"][0]["name"], "memories-0");
  EXPECT_EQ(source["collections"][0]["dimension"], 1024);
  EXPECT_FALSE(source["collections"][1].contains("dimension")) << "no vector yet: no dimension";
  auto parsed = backup::parse_verification_result(j.dump());
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_TRUE(parsed->verified);
  EXPECT_EQ(parsed->archive_sha256, std::string(64, 'a'));
}

TEST(JobReportSource, DropsCollectionsThenMigrationsToFitATerminationMessage) {
  nlohmann::json j = verified_report(manifest_with(200, 3));
  EXPECT_LE(j.dump().size(), kMaxReportBytes);
  EXPECT_FALSE(j["source"].contains("collections"));
  EXPECT_TRUE(j["source"].contains("migrations")) << "dropping the collections was enough";
  EXPECT_EQ(j["source"]["dataFormat"], "chroma-0.5");

  j = verified_report(manifest_with(200, 200));
  EXPECT_LE(j.dump().size(), kMaxReportBytes);
  EXPECT_FALSE(j["source"].contains("collections"));
  EXPECT_FALSE(j["source"].contains("migrations"));
  EXPECT_EQ(j["source"]["chromaVersion"], "0.5.23");
  EXPECT_TRUE(backup::parse_verification_result(j.dump()));
}

}  // namespace
}  // namespace okami::app
