#include "okami/api/okamibackup.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

Json import_backup() {
  return Json::parse(R"({
    "apiVersion": "okami.io/v1alpha1", "kind": "OkamiBackup",
    "metadata": {"name": "imported-b1", "namespace": "okami-restore"},
    "spec": {"stackRef": "okami",
             "fromObjectStore": {"backupName": "okami-scheduled-20261126-0300"}}
  })");
}

bool names_field(const common::Error& e, const std::string& field) {
  for (const auto& c : e.causes) {
    if (c.field == field) return true;
  }
  return false;
}

TEST(OkamiBackup, ImportsAStoredBackupByName) {
  auto backup = OkamiBackup::load(import_backup());
  ASSERT_TRUE(backup.has_value()) << backup.error().describe();
  ASSERT_TRUE(backup->spec.from_object_store.has_value());
  EXPECT_EQ(backup->spec.from_object_store->backup_name, "okami-scheduled-20261126-0300");
  // quiesce keeps its default: an import ignores it, and true is no error.
  EXPECT_TRUE(backup->quiesce());
  Json expected = import_backup();
  expected["spec"]["quiesce"] = true;
  EXPECT_EQ(backup->to_json(), expected);

  Json explicit_quiesce = import_backup();
  explicit_quiesce["spec"]["quiesce"] = true;
  EXPECT_TRUE(OkamiBackup::load(explicit_quiesce).has_value());
}

TEST(OkamiBackup, RejectsStoredNamesThatAreNoSingleKeySegment) {
  const std::vector<std::string> bad = {"", ".", "..", "a/b", "../b1", "b 1", "b1?",
                                        std::string(201, 'b')};
  for (const std::string& name : bad) {
    Json in = import_backup();
    in["spec"]["fromObjectStore"]["backupName"] = name;
    auto backup = OkamiBackup::load(in);
    ASSERT_FALSE(backup.has_value()) << "'" << name << "' was accepted";
    EXPECT_TRUE(names_field(backup.error(), "spec.fromObjectStore.backupName"))
        << backup.error().message;
  }
  for (const std::string& name :
       std::vector<std::string>{"b1", ".b1", "...", "B1_x.y-z", std::string(200, 'b')}) {
    Json in = import_backup();
    in["spec"]["fromObjectStore"]["backupName"] = name;
    EXPECT_TRUE(OkamiBackup::load(in).has_value()) << "'" << name << "' was rejected";
  }
  Json missing = import_backup();
  missing["spec"]["fromObjectStore"] = Json::object();
  auto backup = OkamiBackup::from_json(missing);
  ASSERT_FALSE(backup.has_value());
  EXPECT_TRUE(names_field(backup.error(), "spec.fromObjectStore.backupName"));
  Json unknown = import_backup();
  unknown["spec"]["fromObjectStore"]["bucket"] = "other";
  backup = OkamiBackup::from_json(unknown);
  ASSERT_FALSE(backup.has_value());
  EXPECT_TRUE(names_field(backup.error(), "spec.fromObjectStore.bucket"));
}

TEST(OkamiBackup, FromObjectStoreIsFixedAtCreation) {
  auto imported = OkamiBackup::load(import_backup());
  ASSERT_TRUE(imported.has_value());
  EXPECT_TRUE(imported->validate_update(*imported).has_value());

  auto renamed = *imported;
  renamed.spec.from_object_store->backup_name = "another";
  auto removed = *imported;
  removed.spec.from_object_store.reset();
  for (const auto* changed : {&renamed, &removed}) {
    auto st = changed->validate_update(*imported);
    ASSERT_FALSE(st.has_value());
    EXPECT_TRUE(names_field(st.error(), "spec.fromObjectStore")) << st.error().message;
  }
  // A backup that was taken cannot become an import afterwards either.
  auto taken = OkamiBackup::load(sample_backup());
  ASSERT_TRUE(taken.has_value());
  auto added = *taken;
  added.spec.from_object_store = FromObjectStore{"b1"};
  auto st = added.validate_update(*taken);
  ASSERT_FALSE(st.has_value());
  EXPECT_TRUE(names_field(st.error(), "spec.fromObjectStore"));
  EXPECT_FALSE(names_field(st.error(), "spec.stackRef"));
  // Both rules at once.
  added.spec.stack_ref = "other";
  st = added.validate_update(*taken);
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().causes.size(), 2u) << st.error().message;
}

Json archive_in_store() {
  Json in = verified_backup();
  in["status"]["archive"] = Json::parse(R"({
    "path": "https://s3.example.com/okami-backups/okami/prod/okami-before-chroma-1/archive.tar",
    "sizeBytes": 104857600, "sha256": "9f86d081884c7d65",
    "objectStore": {"endpoint": "https://s3.example.com", "bucket": "okami-backups",
                    "prefix": "okami/prod", "credentials": {"secretName": "s3-keys"}},
    "storedName": "okami-before-chroma-1"})");
  return in;
}

TEST(OkamiBackup, RecordsAnArchiveInTheObjectStoreWithoutDefaultingIt) {
  const Json in = archive_in_store();
  auto backup = OkamiBackup::load(in);
  ASSERT_TRUE(backup.has_value()) << backup.error().describe();
  const auto& archive = *backup->status.archive;
  EXPECT_FALSE(archive.pvc.has_value());
  EXPECT_EQ(archive.stored_name, "okami-before-chroma-1");
  ASSERT_TRUE(archive.object_store.has_value());
  EXPECT_EQ(archive.object_store->bucket, "okami-backups");
  // The status records what the stack named; defaults are read through the accessors.
  EXPECT_FALSE(archive.object_store->region.has_value());
  EXPECT_EQ(archive.object_store->region_or_default(), "us-east-1");
  EXPECT_EQ(backup->to_json(), in);
}

TEST(OkamiBackup, RejectsAnArchiveRecordThatNamesNoUsableStore) {
  Json in = archive_in_store();
  in["status"]["archive"]["objectStore"]["bucket"] = "Okami";
  in["status"]["archive"]["objectStore"]["credentials"]["secretName"] = "";
  in["status"]["archive"]["storedName"] = "okami/b1";
  auto backup = OkamiBackup::load(in);
  ASSERT_FALSE(backup.has_value());
  EXPECT_TRUE(names_field(backup.error(), "status.archive.objectStore.bucket"))
      << backup.error().message;
  EXPECT_TRUE(names_field(backup.error(), "status.archive.objectStore.credentials.secretName"))
      << backup.error().message;
  EXPECT_TRUE(names_field(backup.error(), "status.archive.storedName")) << backup.error().message;
}

}  // namespace
}  // namespace okami::v1alpha1
