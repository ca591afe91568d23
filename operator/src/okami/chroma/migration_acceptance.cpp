#include "okami/chroma/migration_acceptance.h"

namespace okami {

using common::ErrorCode;

namespace {

tl::unexpected<common::Error> integrity(const std::string& why) { return common::fail(ErrorCode::kIntegrity, why); }

}  // namespace

common::Result<migration::MigrationResult> seal_migration_result(const std::string& report,
                                                                 const std::string& stack_uid,
                                                                 const std::string& attempt_id,
                                                                 const std::string& checked_at,
                                                                 const std::string& key) {
  auto r = migration::parse_result(report);
  if (!r) return (integrity("the verify Job's report is unreadable: " + r.error().message));
  if (r->stack_uid != stack_uid) {
    return (integrity("the verify Job checked another stack (uid " + r->stack_uid + ")"));
  }
  r->attempt_id = attempt_id;
  r->checked_at = checked_at;
  if (auto s = migration::sign(*r, key); !s) return tl::unexpected(s.error());
  return r;
}

common::Result<migration::MigrationResult> accept_migration_result(const std::string& text,
                                                                   const std::string& key,
                                                                   const std::string& stack_uid,
                                                                   const std::string& attempt_id) {
  auto r = migration::parse_result(text);
  if (!r) return common::fail(ErrorCode::kIntegrity, "the migration result is unreadable: " + r.error().message);
  if (!migration::verify_signature(*r, key)) {
    return common::fail(ErrorCode::kIntegrity, "the migration result is not signed with the operator's key");
  }
  if (r->stack_uid != stack_uid) return common::fail(ErrorCode::kIntegrity, "the migration result is another stack's");
  if (attempt_id.empty() || r->attempt_id != attempt_id) {
    return common::fail(ErrorCode::kIntegrity, "the migration result was issued for attempt '" + r->attempt_id +
                                                   "', not the current attempt '" + attempt_id + "': a replayed result");
  }
  return r;
}

}  // namespace okami
