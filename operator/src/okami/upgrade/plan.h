// The pure decision behind the irreversible Chroma upgrade (DESIGN.md "The gates", "The
// irreversible upgrade, step by step"). The reconciler gathers facts (PVC format mark, resolved
// OkamiBackup, pods, verification, status.migration.step) into a PlanInput, calls decide(), records
// the returned step in status before acting on it, and performs it idempotently. No I/O, no clock.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "okami/gate/compat_matrix.h"

namespace okami::upgrade {

using WallPoint = std::chrono::system_clock::time_point;

// Steps of a format-crossing upgrade, in order. Values of status.migration.step.
enum class Step {
  kQuiesce,
  kFinalBackup,
  kMarkMigrating,
  kStartNewChroma,
  kVerify,
  kMarkNewFormat,
  kRollClient,
  kDone
};
const char* to_string(Step s);  // "Quiesce", "FinalBackup", ...
std::optional<Step> parse_step(std::string_view text);

// Reasons of the UpgradeBlocked condition.
enum class BlockReason {
  kBackupRequired,
  kBackupNotVerified,
  kBackupStale,
  kBackupForOtherStack,
  kBackupSignatureInvalid,
  kBackupFormatMismatch,
  kCompatibilityGateFailed,
  kDowngradeRefused,
  kProbingDataFormat,      // the volume is not marked: its format is being read from the data
  kDataFormatProbeFailed,  // the probe could not read the volume's format
};
const char* to_string(BlockReason r);  // CamelCase

// An OkamiBackup as the operator resolved it.
struct BackupFacts {
  std::string name;
  bool exists = false;
  bool belongs_to_stack = false;  // spec.stackRef names this stack (and its UID matches)
  bool verified = false;          // condition Verified=True
  bool failed = false;            // phase Failed
  bool signature_valid = false;   // HMAC over the verification result checks out
  std::string data_format;        // status.source.dataFormat
  std::optional<WallPoint> finished_at;
};

struct VerificationFacts {
  enum class State { kNotRun, kRunning, kPassed, kFailed };
  State state = State::kNotRun;
  std::optional<WallPoint> finished_at;
  std::string message;  // why it failed
};

struct PlanInput {
  std::string stack_name;
  std::string stack_namespace;
  std::string desired_chroma;         // spec.chroma.version
  std::string running_chroma;         // version of the Chroma workload now (empty: none exists)
  std::string data_format;            // PVC okami.io/chroma-data-format ("" for a fresh volume)
  // The volume exists but the operator has not marked it: what it holds is unknown until the
  // probe has read it. Never fresh; nothing runs on it. data_format is ignored then.
  bool data_format_unknown = false;
  std::string probe_failure;  // why the probe could not read it ("" while it runs)
  std::string probe_command;  // what the admin runs to see the probe (or retry it)
  std::optional<Step> recorded_step;  // status.migration.step
  bool compatibility_passed = false;  // the CompatibilityGate result
  std::string compatibility_message;
  std::string verified_backup_annotation;  // okami.io/verified-backup ("" when absent)
  std::optional<BackupFacts> backup;       // that OkamiBackup, when it exists
  std::chrono::seconds max_backup_age{std::chrono::hours(24)};
  WallPoint now;
  bool final_backup_requested = false;      // spec.upgrade.finalBackup
  std::optional<BackupFacts> final_backup;  // the final backup, once created
  int chroma_pods = 0;                      // Chroma pods of any version that exist
  int old_chroma_pods = 0;                  // of those, pods not at desired_chroma
  int client_pods = 0;                      // client pods of any version that exist
  bool new_chroma_ready = false;            // Chroma at desired_chroma is Ready
  bool client_rolled = false;               // the client at its new version is Ready
  VerificationFacts verification;
  // okami.io/reset-memories approved a wipe the gate requires and it has not run yet: quiescing
  // is not done until it has (the old client is stopped, the new one not started).
  bool memory_reset_pending = false;
  std::optional<WallPoint> retry_at;  // okami.io/retry-at
};

// Nothing to do: the running Chroma is the desired one and no migration is open.
struct UpToDate {
  std::string message;
};
// No data-format boundary is crossed: update (or create, or scale back) Chroma the ordinary way.
struct RollingUpdate {
  std::string from;  // "" when nothing runs
  std::string to;
  std::string message;
};
// Record `step` in status.migration.step (unless `resumed`), then perform it; repeat until the
// facts show it done. kDone means: record the migration finished and set Ready.
struct TakeStep {
  Step step;
  bool resumed = false;  // the step was already recorded: the operator restarted or is waiting
  std::string from_format;
  std::string to_format;
  std::string message;
};
// The irreversible step may not start. Running workloads stay exactly as they are.
struct Blocked {
  BlockReason reason;
  std::string message;
  std::string next_command;  // what the admin runs next
};
// A step failed after the data was touched: stop, keep the old version off, tell the admin.
struct StepFailed {
  Step step;
  std::string message;
  std::string next_command;
};

using Decision = std::variant<UpToDate, RollingUpdate, TakeStep, Blocked, StepFailed>;

Decision decide(const PlanInput& in, const gate::CompatMatrix& matrix);
// One line for logs and events: "Blocked(BackupStale): ...".
std::string describe(const Decision& d);
// A DNS-safe OkamiBackup name for the backup before moving `stack` to `desired`, stamped with
// `now`.
std::string suggested_backup_name(std::string_view stack, std::string_view desired, WallPoint now);

}  // namespace okami::upgrade
