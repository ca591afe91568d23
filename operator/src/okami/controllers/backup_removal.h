// Removing a deleted OkamiBackup's archive from the backups volume. Scheduled OkamiBackups carry
// the finalizer kArchiveRemovalFinalizer from creation; when retention (or anyone) deletes one, the
// backup reconciler runs the archive removal Job (`okami-operator remove-archive`, no API token)
// and releases the finalizer once the Job reports. An archive the stack still depends on
// (backups_in_use), or whose stack is gone, is kept: the finalizer is released without removing.
#pragma once

#include <optional>
#include <string>

#include "okami/children/job_objects.h"

namespace okami {

inline constexpr const char* kArchiveRemovalFinalizer = "okami.io/archive-removal";

struct RemovalFacts {
  bool has_finalizer = false;
  bool stack_exists = false;
  bool in_use = false;              // the stack depends on this backup (backups_in_use)
  bool archive_job_running = false;  // it may still write the archive
  bool archive_started = false;      // an archive Job ran or status.archive.path is set
  std::optional<jobs::JobState> removal_job;
  std::optional<jobs::JobReport> removal_report;
  bool report_overdue = false;  // the removal Job finished longer than kReportGrace ago, no report
};

struct RemovalStep {
  enum class Kind { kNothing, kWait, kCreateJob, kRelease, kReleaseKeepingArchive };
  Kind kind = Kind::kNothing;
  std::string reason;
  std::string message;
};

// What to do next for a deleted OkamiBackup. Pure.
RemovalStep next_removal_step(const RemovalFacts& facts);

}  // namespace okami
