#include "okami/backup/manifest.h"

#include <gtest/gtest.h>

#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::backup {
namespace {

Manifest sample() {
  Manifest m;
  m.stack = {"team-a", "okami", "0b7c6a5e-1111-2222-3333-444455556666"};
  m.taken_at = "2026-11-26T01:00:00Z";
  m.chroma_version = "0.5.23";
  m.data_format = {"chroma-0.5", okami::testing::kMigrations05, "blob", false};
  m.files = {{"chroma/seg/data_level0.bin", 1000, std::string(64, 'a'), 0644},
             {"chroma/chroma.sqlite3", 200, std::string(64, 'b'), 0644}};
  m.collections = {{"id-2", "knowledge", "default_tenant/default_database", 384, 25},
                   {"id-1", "memories", "default_tenant/default_database", 1024, 40}};
  m.total_size = 1200;
  return m;
}

TEST(BackupManifest, RoundTripsThroughItsCanonicalJson) {
  auto parsed = parse_manifest(canonical_json(sample()));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(canonical_json(*parsed), canonical_json(sample()));
  EXPECT_EQ(parsed->files.front().path, "chroma/chroma.sqlite3");  // sorted by path
  EXPECT_EQ(parsed->collections.front().id, "id-1");                // sorted by id
}

TEST(BackupManifest, CanonicalJsonIgnoresListOrder) {
  Manifest a = sample();
  Manifest b = sample();
  std::swap(b.files[0], b.files[1]);
  std::swap(b.collections[0], b.collections[1]);
  EXPECT_EQ(canonical_json(a), canonical_json(b));
  EXPECT_EQ(manifest_digest(a), manifest_digest(b));
}

TEST(BackupManifest, DigestChangesWithAnyField) {
  Manifest m = sample();
  const std::string before = manifest_digest(m);
  m.collections[0].count += 1;
  EXPECT_NE(manifest_digest(m), before);
  m = sample();
  m.stack.uid = "other";
  EXPECT_NE(manifest_digest(m), before);
}

TEST(BackupManifest, RejectsPathsThatEscape) {
  for (const char* bad : {"/etc/passwd", "chroma/../../x", "chroma/./x", "chroma//x", "other/x", "chroma/",
                          "chroma\\x", "memory/.."}) {
    Manifest m = sample();
    m.files[0].path = bad;
    auto parsed = parse_manifest(canonical_json(m));
    EXPECT_FALSE(parsed) << bad;
  }
}

TEST(BackupManifest, RejectsDuplicatesBadDigestsAndWrongTotals) {
  Manifest dup = sample();
  dup.files[1].path = dup.files[0].path;
  EXPECT_FALSE(parse_manifest(canonical_json(dup)));
  Manifest digest = sample();
  digest.files[0].sha256 = "xyz";
  EXPECT_FALSE(parse_manifest(canonical_json(digest)));
  Manifest total = sample();
  total.total_size = 5;
  EXPECT_FALSE(parse_manifest(canonical_json(total)));
}

TEST(BackupManifest, RejectsMalformedJsonAndWrongTypes) {
  EXPECT_FALSE(parse_manifest(""));
  EXPECT_FALSE(parse_manifest("[]"));
  EXPECT_FALSE(parse_manifest("{\"formatVersion\": 2}"));
  std::string text = canonical_json(sample());
  text.replace(text.find("\"size\":1000"), 11, "\"size\":\"1000\"");
  EXPECT_FALSE(parse_manifest(text));
}

TEST(BackupManifest, ReadsCollectionsWithDimensionAndCountFromChromaTables) {
  okami::testing::ScratchDir dir;
  okami::testing::FakeDb db;
  db.collections.push_back({"c0ffee00-0000-0000-0000-000000000003", "empty", -1, 0});
  okami::testing::write_chroma_db(dir.path(), db);
  auto collections = read_collections(dir / "chroma.sqlite3");
  ASSERT_TRUE(collections) << collections.error().describe();
  ASSERT_EQ(collections->size(), 3u);
  EXPECT_EQ((*collections)[0], (CollectionEntry{"c0ffee00-0000-0000-0000-000000000001", "memories",
                                                "default_tenant/default_database", 1024, 40}));
  EXPECT_EQ((*collections)[1].dimension, 384);
  EXPECT_EQ((*collections)[1].count, 25);
  EXPECT_EQ((*collections)[2].dimension, -1);
  EXPECT_EQ((*collections)[2].count, 0);
}

TEST(Sha256, MatchesTheKnownDigestOfAbc) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace okami::backup
