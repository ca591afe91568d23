#include "okami/api/okamibackup.h"

#include <gtest/gtest.h>

#include "unit/okami/api_test_support.h"

namespace okami::v1alpha1 {
namespace {

using testing::sample_backup;

Json verified_backup() {
  return Json::parse(R"({
    "apiVersion": "okami.io/v1alpha1", "kind": "OkamiBackup",
    "metadata": {"name": "okami-before-chroma-1", "namespace": "okami", "uid": "u-1"},
    "spec": {"stackRef": "okami", "quiesce": true},
    "status": {
      "phase": "Verified",
      "archive": {"pvc": "okami-backups", "path": "/backups/okami-before-chroma-1.tar.gz",
                  "sizeBytes": 104857600, "sha256": "9f86d081884c7d65"},
      "source": {"chromaVersion": "0.5.23", "dataFormat": "0.5",
                 "migrations": {"embeddings_queue": 2, "metadb": 4, "sysdb": 9},
                 "collections": [{"name": "short_term", "id": "6f1c", "dimension": 1024, "count": 42},
                                 {"name": "empty", "id": "77aa", "count": 0}]},
      "verification": {"checkedAt": "2026-11-26T01:00:00Z", "checksum": "9f86d081884c7d65",
                       "sqliteIntegrity": true, "collectionsMatch": true, "signature": "c0ffee"},
      "startedAt": "2026-11-26T00:55:00Z", "finishedAt": "2026-11-26T01:00:00Z",
      "conditions": [{"type": "Verified", "status": "True", "lastTransitionTime": "2026-11-26T01:00:00Z",
                      "reason": "ChecksumsAndCollectionsMatch", "message": "archive verified"}]
    }
  })");
}

TEST(OkamiBackup, LoadsTheShippedSample) {
  auto backup = OkamiBackup::load(sample_backup());
  ASSERT_TRUE(backup.has_value()) << backup.error().describe();
  EXPECT_EQ(backup->spec.stack_ref, "okami");
  EXPECT_TRUE(backup->quiesce());
}

TEST(OkamiBackup, QuiescesByDefault) {
  Json in = sample_backup();
  in["spec"].erase("quiesce");
  auto backup = OkamiBackup::load(in);
  ASSERT_TRUE(backup.has_value());
  EXPECT_EQ(backup->spec.quiesce, true);
  EXPECT_EQ(backup->to_json()["spec"]["quiesce"], true);
}

TEST(OkamiBackup, RoundTripsAVerifiedStatus) {
  const Json in = verified_backup();
  auto backup = OkamiBackup::load(in);
  ASSERT_TRUE(backup.has_value()) << backup.error().describe();
  const auto& st = backup->status;
  EXPECT_EQ(st.phase, "Verified");
  EXPECT_EQ(st.source->migrations.at("metadb"), 4);
  ASSERT_EQ(st.source->collections.size(), 2u);
  EXPECT_EQ(st.source->collections[0].dimension, 1024);
  EXPECT_FALSE(st.source->collections[1].dimension.has_value());
  EXPECT_EQ(st.verification->signature, "c0ffee");
  EXPECT_EQ(backup->to_json(), in);
}

TEST(OkamiBackup, RequiresAStackRef) {
  Json in = sample_backup();
  in["spec"].erase("stackRef");
  auto backup = OkamiBackup::load(in);
  ASSERT_FALSE(backup.has_value());
  EXPECT_NE(backup.error().message.find("spec.stackRef: Required value"), std::string::npos)
      << backup.error().message;
}

TEST(OkamiBackup, RejectsAStackRefThatCannotNameAStack) {
  Json in = sample_backup();
  in["spec"]["stackRef"] = "Okami_Stack";
  auto backup = OkamiBackup::load(in);
  ASSERT_FALSE(backup.has_value());
  EXPECT_NE(backup.error().message.find("spec.stackRef"), std::string::npos);
}

TEST(OkamiBackup, RejectsAnUnknownPhase) {
  Json in = verified_backup();
  in["status"]["phase"] = "Done";
  auto backup = OkamiBackup::load(in);
  ASSERT_FALSE(backup.has_value());
  EXPECT_NE(backup.error().message.find("status.phase"), std::string::npos);
}

TEST(OkamiBackup, ReportsMistypedStatusFieldsWithTheirPath) {
  Json in = verified_backup();
  in["status"]["source"]["migrations"]["metadb"] = "four";
  in["status"]["source"]["collections"][0]["count"] = "many";
  auto backup = OkamiBackup::from_json(in);
  ASSERT_FALSE(backup.has_value());
  EXPECT_NE(backup.error().message.find("status.source.migrations[metadb]"), std::string::npos);
  EXPECT_NE(backup.error().message.find("status.source.collections[0].count"), std::string::npos);
}

TEST(OkamiBackup, RefusesToMoveToAnotherStack) {
  auto old_backup = OkamiBackup::load(sample_backup());
  ASSERT_TRUE(old_backup.has_value());
  auto moved = *old_backup;
  moved.spec.stack_ref = "other";
  auto st = moved.validate_update(*old_backup);
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().message.find("spec.stackRef"), std::string::npos);
  EXPECT_NE(st.error().message.find("immutable"), std::string::npos);
  EXPECT_TRUE(old_backup->validate_update(*old_backup).has_value());
}

}  // namespace
}  // namespace okami::v1alpha1
