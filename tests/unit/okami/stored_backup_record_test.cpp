// manifest.json of a stored backup: what a reader accepts decides which archive it reads and what
// it checks it against, so a record naming another key, a malformed checksum or a manifest that
// does not match its digest is refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "okami/backup/stored_backup.h"

namespace okami::backup {
namespace {

using common::ErrorCode;

StoredBackupRecord sample() {
  StoredBackupRecord r;
  r.name = "nightly-20261207";
  r.archive_key = "nightly-20261207/archive.tar";
  r.archive_size = 123456;
  r.archive_sha256 = std::string(64, 'a');
  r.manifest.stack = {"team-a", "okami", "uid-1"};
  r.manifest.taken_at = "2026-12-07T01:00:00Z";
  r.manifest.chroma_version = "0.5.23";
  r.manifest.data_format = {"chroma-0.5", {{"embeddings_queue", 2}, {"metadb", 4}, {"sysdb", 9}}, "blob", false};
  r.manifest.files.push_back({"chroma/chroma.sqlite3", 4096, std::string(64, 'b'), 0644});
  r.manifest.total_size = 4096;
  return r;
}

TEST(StoredBackupRecord, RoundTrips) {
  auto parsed = parse_stored_record(to_json(sample()));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(*parsed, sample());
}

TEST(StoredBackupRecord, LayoutKeysLiveUnderTheName) {
  EXPECT_EQ(stored_archive_key("b1", Compression::kNone), "b1/archive.tar");
  EXPECT_EQ(stored_archive_key("b1", Compression::kGzip), "b1/archive.tar.gz");
  EXPECT_EQ(stored_manifest_key("b1"), "b1/manifest.json");
}

TEST(StoredBackupRecord, NamesAreOneKeySegment) {
  EXPECT_TRUE(validate_backup_name("okami-nightly-20261207.1_a"));
  for (const std::string& bad : std::vector<std::string>{"", ".", "..", "a/b", "../x", "a b", "a\nb", std::string(201, 'a')}) {
    auto st = validate_backup_name(bad);
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code, ErrorCode::kInvalidArgument);
  }
}

nlohmann::json sample_json() { return nlohmann::json::parse(to_json(sample())); }

void expect_refused(const nlohmann::json& j, const std::string& why) {
  auto parsed = parse_stored_record(j.dump());
  ASSERT_FALSE(parsed) << why;
  EXPECT_EQ(parsed.error().code, ErrorCode::kParse) << why;
}

TEST(StoredBackupRecord, RefusesARecordThatPointsAnywhereElse) {
  auto j = sample_json();
  j["archive"]["key"] = "other-backup/archive.tar";
  expect_refused(j, "another backup's archive");
  j["archive"]["key"] = "nightly-20261207/../other/archive.tar";
  expect_refused(j, "a path out of the backup");
  j["archive"]["key"] = "nightly-20261207/manifest.json";
  expect_refused(j, "not an archive key");
  j = sample_json();
  j["backupName"] = "../x";
  expect_refused(j, "a name that is not one segment");
}

TEST(StoredBackupRecord, RefusesMalformedChecksumsSizesAndVersions) {
  auto j = sample_json();
  j["archive"]["sha256"] = std::string(64, 'A');
  expect_refused(j, "upper-case hex");
  j["archive"]["sha256"] = "abc";
  expect_refused(j, "short digest");
  j = sample_json();
  j["archive"]["sizeBytes"] = -1;
  expect_refused(j, "negative size");
  j["archive"]["sizeBytes"] = "123";
  expect_refused(j, "size as a string");
  j = sample_json();
  j["apiVersion"] = "okami.io/stored-backup/v0";
  expect_refused(j, "unknown version");
  j = sample_json();
  j.erase("manifest");
  expect_refused(j, "no manifest");
  expect_refused(nlohmann::json::array(), "not an object");
}

TEST(StoredBackupRecord, RefusesAManifestThatDoesNotMatchItsDigest) {
  auto j = sample_json();
  j["manifest"]["chromaVersion"] = "1.0.15";
  expect_refused(j, "edited manifest");
}

}  // namespace
}  // namespace okami::backup
