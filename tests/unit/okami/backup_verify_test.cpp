#include "okami/backup/verify.h"

#include <gtest/gtest.h>

#include "okami/backup/archive.h"
#include "unit/okami/archive_tamper.h"
#include "unit/okami/chroma_sqlite_fixture.h"

namespace okami::backup {
namespace {

namespace fs = std::filesystem;
using okami::testing::MemEntry;
using okami::testing::ScratchDir;

const std::string kKey = "0123456789abcdef-signing-key";

struct Fixture {
  ScratchDir dir;
  BackupSummary summary;

  explicit Fixture(const std::string& uid = "uid-1", int extra_collection_count = 0) {
    okami::testing::FakeDb db;
    db.collections[0].count += extra_collection_count;
    okami::testing::write_chroma_db(dir / "data", db);
    okami::testing::write_segment_files(dir / "data", "3f1c0c2e-seg-a", 200000, 1);
    fs::create_directories(dir / "backups");
    BackupOptions o;
    o.data_dir = dir / "data";
    o.out = dir / "backups" / "b.tar";
    o.stack = {"team-a", "okami", uid};
    o.chroma_version = "0.5.23";
    o.taken_at = "2026-11-26T01:00:00Z";
    auto s = write_backup(o);
    EXPECT_TRUE(s) << s.error().describe();
    summary = *s;
  }
  VerifyOptions options() const {
    VerifyOptions v;
    v.archive = summary.archive;
    v.checked_at = "2026-11-26T01:05:00Z";
    v.temp_dir = dir.path();
    return v;
  }
};

TEST(VerifyBackup, VerifiesAnUntouchedBackup) {
  Fixture f;
  auto verified = verify_backup(f.options());
  ASSERT_TRUE(verified) << verified.error().describe();
  const auto& r = verified->result;
  EXPECT_TRUE(r.verified);
  EXPECT_EQ(r.archive_sha256, f.summary.archive_sha256);
  EXPECT_EQ(r.sqlite_integrity, "ok");
  EXPECT_TRUE(r.collections_match);
  EXPECT_EQ(r.manifest_digest, manifest_digest(f.summary.manifest));
  EXPECT_EQ(r.stack_uid, "uid-1");
  EXPECT_EQ(r.data_format, "chroma-0.5");
}

TEST(VerifyBackup, RejectsAFlippedByte) {
  Fixture f;
  std::string bytes = okami::testing::read_file(f.summary.archive);
  bytes[bytes.size() / 3] ^= 0x01;  // inside segment data
  okami::testing::write_file(f.summary.archive, bytes);
  auto verified = verify_backup(f.options());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, common::ErrorCode::kIntegrity);
}

TEST(VerifyBackup, RejectsAFlippedByteEvenWhenTheChecksumFileIsResealed) {
  Fixture f;
  std::string bytes = okami::testing::read_file(f.summary.archive);
  bytes[bytes.size() / 3] ^= 0x01;
  okami::testing::write_file(f.summary.archive, bytes);
  okami::testing::reseal(f.summary.archive);
  auto verified = verify_backup(f.options());
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("SHA-256"), std::string::npos) << verified.error().message;
}

TEST(VerifyBackup, RejectsATruncatedArchive) {
  Fixture f;
  fs::resize_file(f.summary.archive, f.summary.archive_size - 3000);
  okami::testing::reseal(f.summary.archive);
  EXPECT_FALSE(verify_backup(f.options()));
}

TEST(VerifyBackup, RejectsAnArchiveWithoutItsChecksumFile) {
  Fixture f;
  fs::remove(checksum_path(f.summary.archive));
  EXPECT_FALSE(verify_backup(f.options()));
}

TEST(VerifyBackup, RejectsAReplacedFileWhoseManifestEntryWasEdited) {
  Fixture f;
  auto entries = okami::testing::read_entries(f.summary.archive);
  auto manifest = *parse_manifest(entries.back().data);
  for (auto& e : entries) {
    if (e.path.find("data_level0.bin") == std::string::npos) continue;
    e.data[10] ^= 0x7f;
    for (auto& file : manifest.files) {
      if (file.path == e.path) file.sha256 = sha256_hex(e.data);
    }
  }
  entries.back().data = canonical_json(manifest);
  okami::testing::write_entries(f.summary.archive, entries);
  // The archive is consistent with itself now; the recorded archive checksum is what catches it.
  auto verified = verify_backup(f.options());
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("SHA-256"), std::string::npos);
  // Resealed as well: it verifies as a different archive, so a result signed for the original
  // no longer describes it, and editing that result to match breaks its signature.
  okami::testing::reseal(f.summary.archive);
  auto tampered = verify_backup(f.options());
  ASSERT_TRUE(tampered);
  EXPECT_NE(tampered->result.archive_sha256, f.summary.archive_sha256);
  VerificationResult signed_original = tampered->result;
  signed_original.archive_sha256 = f.summary.archive_sha256;
  ASSERT_TRUE(sign(signed_original, kKey));
  signed_original.archive_sha256 = tampered->result.archive_sha256;
  EXPECT_FALSE(verify_signature(signed_original, kKey));
}

TEST(VerifyBackup, RejectsAManifestFromAnotherBackup) {
  Fixture a("uid-1");
  Fixture b("uid-1", /*extra_collection_count=*/5);
  auto entries = okami::testing::read_entries(a.summary.archive);
  entries.back().data = okami::testing::read_entries(b.summary.archive).back().data;
  okami::testing::write_entries(a.summary.archive, entries);
  okami::testing::reseal(a.summary.archive);
  auto verified = verify_backup(a.options());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, common::ErrorCode::kIntegrity);
}

TEST(VerifyBackup, RejectsABackupOfAnotherStack) {
  Fixture f("uid-other");
  auto o = f.options();
  o.expect_stack_uid = "uid-1";
  auto verified = verify_backup(o);
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("another stack"), std::string::npos);
}

TEST(VerifyBackup, RejectsABackupTakenFromAnotherDataFormat) {
  Fixture f;
  auto o = f.options();
  o.expect_format = "chroma-1.0";
  auto verified = verify_backup(o);
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("data format"), std::string::npos);
}

TEST(VerifyBackup, RejectsExtraEntriesLinksAndUnsafePaths) {
  for (const MemEntry& extra : {MemEntry{"chroma/extra.bin", "x", 0644, ""}, MemEntry{"chroma/evil", "", 0777, "/etc/passwd"},
                                MemEntry{"../escape", "x", 0644, ""}}) {
    Fixture f;
    auto entries = okami::testing::read_entries(f.summary.archive);
    entries.insert(entries.begin(), extra);
    okami::testing::write_entries(f.summary.archive, entries);
    okami::testing::reseal(f.summary.archive);
    EXPECT_FALSE(verify_backup(f.options())) << extra.path;
  }
}

TEST(VerifyBackup, RejectsADatabaseWhoseCollectionsDifferFromTheManifest) {
  Fixture f;
  auto entries = okami::testing::read_entries(f.summary.archive);
  auto manifest = *parse_manifest(entries.back().data);
  manifest.collections[0].count = 999;
  entries.back().data = canonical_json(manifest);
  okami::testing::write_entries(f.summary.archive, entries);
  okami::testing::reseal(f.summary.archive);
  auto verified = verify_backup(f.options());
  ASSERT_FALSE(verified);
  EXPECT_NE(verified.error().message.find("collections"), std::string::npos);
}

TEST(VerifyBackup, RejectsACorruptDatabaseWithConsistentChecksums) {
  Fixture f;
  auto entries = okami::testing::read_entries(f.summary.archive);
  auto manifest = *parse_manifest(entries.back().data);
  for (auto& e : entries) {
    if (e.path != "chroma/chroma.sqlite3") continue;
    for (size_t i = 4096; i < 4096 + 12; ++i) e.data[i] = '\xff';  // page 2's b-tree header
    for (auto& file : manifest.files) {
      if (file.path == e.path) file.sha256 = sha256_hex(e.data);
    }
  }
  entries.back().data = canonical_json(manifest);
  okami::testing::write_entries(f.summary.archive, entries);
  okami::testing::reseal(f.summary.archive);
  auto verified = verify_backup(f.options());
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, common::ErrorCode::kIntegrity);
}

TEST(VerificationSignature, AcceptsOnlyTheSigningKey) {
  Fixture f;
  auto verified = verify_backup(f.options());
  ASSERT_TRUE(verified);
  VerificationResult r = verified->result;
  EXPECT_FALSE(verify_signature(r, kKey));  // unsigned
  ASSERT_TRUE(sign(r, kKey));
  EXPECT_TRUE(verify_signature(r, kKey));
  EXPECT_FALSE(verify_signature(r, "another-key-of-enough-length"));
  VerificationResult edited = r;
  edited.stack_uid = "uid-2";
  EXPECT_FALSE(verify_signature(edited, kKey));
  EXPECT_FALSE(sign(r, "short"));
}

TEST(VerificationSignature, SurvivesAJsonRoundTrip) {
  Fixture f;
  auto verified = verify_backup(f.options());
  ASSERT_TRUE(verified);
  VerificationResult r = verified->result;
  ASSERT_TRUE(sign(r, kKey));
  auto parsed = parse_verification_result(to_json(r));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, r);
  EXPECT_TRUE(verify_signature(*parsed, kKey));
  EXPECT_FALSE(parse_verification_result("{\"verified\": \"yes\"}"));
}

TEST(CheckVerification, GivesEachRejectionItsOwnReason) {
  Fixture f;
  VerificationResult r = verify_backup(f.options())->result;
  EXPECT_NE(check_verification(r, kKey, "uid-1", "chroma-0.5").error().message.find("unsigned"), std::string::npos);
  ASSERT_TRUE(sign(r, kKey));
  EXPECT_TRUE(check_verification(r, kKey, "uid-1", "chroma-0.5"));
  EXPECT_NE(check_verification(r, "wrong-key-wrong-key", "uid-1", "chroma-0.5").error().message.find("signature"),
            std::string::npos);
  EXPECT_NE(check_verification(r, kKey, "uid-2", "chroma-0.5").error().message.find("another stack"),
            std::string::npos);
  EXPECT_NE(check_verification(r, kKey, "uid-1", "chroma-1.0").error().message.find("data format"),
            std::string::npos);
  VerificationResult failed = r;
  failed.verified = false;
  ASSERT_TRUE(sign(failed, kKey));
  EXPECT_FALSE(check_verification(failed, kKey, "uid-1", "chroma-0.5"));
}

TEST(LoadKey, StripsTheTrailingNewlineAndRefusesShortKeys) {
  ScratchDir dir;
  okami::testing::write_file(dir / "key", kKey + "\n");
  EXPECT_EQ(*load_key(dir / "key"), kKey);
  okami::testing::write_file(dir / "short", "abc\n");
  EXPECT_FALSE(load_key(dir / "short"));
  EXPECT_FALSE(load_key(dir / "absent"));
}

TEST(SigningKey, TheFingerprintIsTheFirstEightHexDigitsOfItsSha256AndNeverTheKey) {
  // SHA-256("abc") = ba7816bf 8f01cfea ...
  EXPECT_EQ(key_fingerprint("abc"), "ba7816bf");
  const std::string key(64, 'k');
  const std::string fp = key_fingerprint(key);
  EXPECT_EQ(fp.size(), 8u);
  EXPECT_EQ(fp.find_first_not_of("0123456789abcdef"), std::string::npos) << fp;
  EXPECT_EQ(fp.find("kkkk"), std::string::npos);
  EXPECT_NE(key_fingerprint(key + "x"), fp);  // another key, another fingerprint
}

}  // namespace
}  // namespace okami::backup
