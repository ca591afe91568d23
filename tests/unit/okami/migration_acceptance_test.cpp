// A signed post-migration verification result names the migration attempt it was sealed for: a
// result of an earlier migration to the same version, replayed into status, never passes.
#include "okami/chroma/migration_acceptance.h"

#include <gtest/gtest.h>

namespace okami {
namespace {

const std::string kKey = "0123456789abcdef0123456789abcdef";

std::string report(const std::string& stack_uid = "stack-uid-1") {
  migration::MigrationResult r;
  r.checked_at = "2026-11-01T00:00:00Z";
  r.stack_uid = stack_uid;
  r.chroma_version = "1.0.15";
  r.manifest_digest = std::string(64, 'b');
  r.collections_match = true;
  r.round_trip = true;
  r.verified = true;
  r.message = "2 collection(s) match";
  return migration::to_json(r);
}

TEST(MigrationAcceptance, AcceptsTheResultSealedForTheCurrentAttempt) {
  auto sealed = seal_migration_result(report(), "stack-uid-1", "attempt-2", "2026-12-01T00:00:00Z", kKey);
  ASSERT_TRUE(sealed) << sealed.error().message;
  auto accepted = accept_migration_result(migration::to_json(*sealed), kKey, "stack-uid-1", "attempt-2");
  ASSERT_TRUE(accepted) << accepted.error().message;
  EXPECT_TRUE(accepted->verified);
  EXPECT_EQ(accepted->checked_at, "2026-12-01T00:00:00Z");
}

TEST(MigrationAcceptance, RefusesAResultOfAnEarlierAttemptReplayedIntoStatus) {
  auto old = seal_migration_result(report(), "stack-uid-1", "attempt-1", "2026-11-01T00:00:00Z", kKey);
  ASSERT_TRUE(old);
  auto accepted = accept_migration_result(migration::to_json(*old), kKey, "stack-uid-1", "attempt-2");
  ASSERT_FALSE(accepted);
  EXPECT_NE(accepted.error().message.find("replayed"), std::string::npos);
  // No attempt recorded at all (status.migration.attemptId removed) is no match either.
  EXPECT_FALSE(accept_migration_result(migration::to_json(*old), kKey, "stack-uid-1", ""));
}

TEST(MigrationAcceptance, RefusesUnsignedOrForeignResults) {
  EXPECT_FALSE(accept_migration_result(report(), kKey, "stack-uid-1", "attempt-1"));
  auto foreign = seal_migration_result(report(), "stack-uid-1", "attempt-1", "t", "attacker-key-0123456789");
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(accept_migration_result(migration::to_json(*foreign), kKey, "stack-uid-1", "attempt-1"));
  EXPECT_FALSE(seal_migration_result(report("stack-uid-2"), "stack-uid-1", "attempt-1", "t", kKey));
}

}  // namespace
}  // namespace okami
