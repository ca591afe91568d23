// The operator's word on a post-migration verify Job's report (see okami/backup/acceptance.h for
// backups): the Job leaves an unsigned MigrationResult in its termination message; the operator
// binds it to the migration attempt recorded in status.migration.attemptId, stamps its own check
// time and signs it. A result of an earlier attempt never passes for the current one.
#pragma once

#include <string>

#include "common/result.h"
#include "okami/chroma/migration_verify.h"

namespace okami {

// Turns a verify-migration Job's report into a signed result bound to the migration attempt.
// Errors: kIntegrity for an unreadable report or another stack's; kInvalidArgument for a short key.
common::Result<migration::MigrationResult> seal_migration_result(const std::string& report,
                                                                 const std::string& stack_uid,
                                                                 const std::string& attempt_id,
                                                                 const std::string& checked_at,
                                                                 const std::string& key);

// A stored signed migration result, proven authentic and about this stack's current migration
// attempt. Errors (kIntegrity): unparsable, wrong signature, another stack, another attempt.
common::Result<migration::MigrationResult> accept_migration_result(const std::string& text,
                                                                   const std::string& key,
                                                                   const std::string& stack_uid,
                                                                   const std::string& attempt_id);

}  // namespace okami
