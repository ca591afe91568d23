#include "okami/upgrade/plan.h"

#include "common/clock.h"
#include "okami/gate/compatibility_gate.h"
#include "okami/names.h"

namespace okami::upgrade {
namespace {

constexpr Step kOrder[] = {Step::kQuiesce,        Step::kFinalBackup, Step::kMarkMigrating,
                           Step::kStartNewChroma, Step::kVerify,      Step::kMarkNewFormat,
                           Step::kRollClient,     Step::kDone};

int index_of(Step s) {
  return static_cast<int>(s);
}

std::string kubectl(const PlanInput& in) {
  return "kubectl -n " +
         (in.stack_namespace.empty() ? std::string("default") : in.stack_namespace) + " ";
}

std::string take_backup_command(const PlanInput& in) {
  const std::string name = suggested_backup_name(in.stack_name, in.desired_chroma, in.now);
  return kubectl(in) + "apply -f - <<< '{\"apiVersion\":\"" + names::kApiVersion +
         "\",\"kind\":\"OkamiBackup\",\"metadata\":{\"name\":\"" + name +
         "\"},\"spec\":{\"stackRef\":\"" + in.stack_name + "\"}}' && " + kubectl(in) +
         "wait okamibackup/" + name + " --for=condition=Verified --timeout=1h && " + kubectl(in) +
         "annotate okamistack " + in.stack_name + " " + names::kVerifiedBackupAnnotation + "=" +
         name + " --overwrite";
}

std::string retry_command(const PlanInput& in) {
  return kubectl(in) + "annotate okamistack " + in.stack_name + " " + names::kRetryAtAnnotation +
         "=" + common::format_rfc3339(in.now) + " --overwrite";
}

std::string restore_command(const PlanInput& in) {
  const std::string backup =
      in.verified_backup_annotation.empty() ? "<backup-name>" : in.verified_backup_annotation;
  return kubectl(in) + "patch okamistack " + in.stack_name +
         " --type merge -p '{\"spec\":{\"restore\":{\"fromBackup\":\"" + backup + "\"}}}'";
}

std::string hours_text(std::chrono::seconds s) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(s).count();
  if (minutes % 60 == 0) return std::to_string(minutes / 60) + "h";
  return std::to_string(minutes) + "m";
}

// The verified-backup gate (DESIGN.md "The gates"): the annotation is never trusted alone.
std::optional<Blocked> check_backup(const PlanInput& in, const std::string& from_format,
                                    const std::string& to_desc) {
  const std::string annotation = names::kVerifiedBackupAnnotation;
  if (in.verified_backup_annotation.empty()) {
    return Blocked{BlockReason::kBackupRequired,
                   to_desc + " is irreversible and needs a verified backup, but the stack has no " +
                       annotation + " annotation",
                   take_backup_command(in)};
  }
  const std::string name = in.verified_backup_annotation;
  if (!in.backup || !in.backup->exists) {
    return Blocked{BlockReason::kBackupRequired,
                   annotation + " names OkamiBackup '" + name +
                       "', which does not exist in namespace " + in.stack_namespace,
                   take_backup_command(in)};
  }
  const BackupFacts& b = *in.backup;
  if (!b.belongs_to_stack) {
    return Blocked{
        BlockReason::kBackupForOtherStack,
        "OkamiBackup '" + name + "' was taken from another stack, not from " + in.stack_name,
        take_backup_command(in)};
  }
  if (!b.verified || !b.finished_at) {
    return Blocked{
        BlockReason::kBackupNotVerified,
        "OkamiBackup '" + name + "' is not Verified" + (b.failed ? " (it failed)" : " yet"),
        b.failed
            ? take_backup_command(in)
            : kubectl(in) + "wait okamibackup/" + name + " --for=condition=Verified --timeout=1h"};
  }
  if (!b.signature_valid) {
    return Blocked{BlockReason::kBackupSignatureInvalid,
                   "OkamiBackup '" + name +
                       "' claims Verified but its verification signature does not check out: "
                       "its status was not written by this operator or was altered",
                   take_backup_command(in)};
  }
  if (b.data_format != from_format) {
    return Blocked{BlockReason::kBackupFormatMismatch,
                   "OkamiBackup '" + name + "' holds " +
                       (b.data_format.empty() ? "an unknown format" : b.data_format) +
                       " data but the data on disk is " + from_format +
                       ": it is not a backup of what will be migrated",
                   take_backup_command(in)};
  }
  const auto age = std::chrono::duration_cast<std::chrono::seconds>(in.now - *b.finished_at);
  if (age > in.max_backup_age) {
    return Blocked{BlockReason::kBackupStale,
                   "OkamiBackup '" + name + "' finished " + common::format_rfc3339(*b.finished_at) +
                       ", " + hours_text(age) + " ago, older than spec.upgrade.maxBackupAge (" +
                       hours_text(in.max_backup_age) + ")",
                   take_backup_command(in)};
  }
  return std::nullopt;
}

bool backup_usable(const std::optional<BackupFacts>& b, const std::string& format) {
  return b && b->exists && b->belongs_to_stack && b->verified && b->signature_valid &&
         b->data_format == format;
}

// Walks the steps from `start`, skipping those the facts show done, and returns the first to take.
Decision walk(const PlanInput& in, Step start, const gate::DataFormatMark& mark,
              const std::string& from_format, const std::string& target) {
  const bool in_flight = mark.migrating_to.has_value();
  auto take = [&](Step s, std::string message) -> Decision {
    return TakeStep{s, in.recorded_step == s, from_format, target, std::move(message)};
  };
  const std::string move = from_format + " -> " + target + " (Chroma " + in.desired_chroma + ")";
  for (Step s : kOrder) {
    if (index_of(s) < index_of(start)) continue;
    // Never two Chroma versions at once: once past quiescing, any other pod sends us back to it.
    const bool past_quiesce =
        index_of(s) >= index_of(Step::kStartNewChroma) && index_of(s) <= index_of(Step::kVerify);
    if (past_quiesce && (in.old_chroma_pods > 0 || in.client_pods > 0)) {
      return take(Step::kQuiesce, "pods of the old Chroma or the client exist during " + move +
                                      ": scale them to zero before the new Chroma runs");
    }
    switch (s) {
      case Step::kQuiesce:
        if (in.chroma_pods == 0 && in.client_pods == 0 && !in.memory_reset_pending) continue;
        if (in.chroma_pods == 0 && in.client_pods == 0) {
          return take(s, "reset the client's memories, as okami.io/reset-memories approved, before " + move);
        }
        return take(s, "scale the client, then Chroma, to zero and wait until no pod remains (" +
                           std::to_string(in.client_pods) + " client, " +
                           std::to_string(in.chroma_pods) + " Chroma pod(s) left) before " + move);
      case Step::kFinalBackup:
        // Once the format is marked migrating the data may already be touched: no backup of it.
        if (!in.final_backup_requested || in_flight || backup_usable(in.final_backup, from_format))
          continue;
        if (in.final_backup && in.final_backup->failed) {
          return StepFailed{
              s, "the final backup '" + in.final_backup->name + "' failed; nothing was migrated",
              retry_command(in)};
        }
        return take(s, "take and verify the final backup of the quiesced " + from_format + " data");
      case Step::kMarkMigrating:
        if (in_flight && mark.migrating_to == target) continue;
        return take(s, "mark the Chroma volume " +
                           gate::DataFormatMark{from_format, target}.to_annotation() +
                           " before Chroma " + in.desired_chroma + " opens it");
      case Step::kStartNewChroma:
        if (in.new_chroma_ready) continue;
        return take(s, "start Chroma " + in.desired_chroma +
                           " on the marked volume and wait until it is Ready");
      case Step::kVerify:
        if (in.verification.state == VerificationFacts::State::kPassed) continue;
        if (in.verification.state == VerificationFacts::State::kFailed) {
          const bool retry = in.retry_at && in.verification.finished_at &&
                             *in.retry_at > *in.verification.finished_at && *in.retry_at <= in.now;
          if (retry)
            return take(s, "verify again as asked by " + std::string(names::kRetryAtAnnotation));
          return StepFailed{s,
                            "verification after " + move + " failed: " + in.verification.message +
                                ". The data stays marked migrating; the old Chroma will not be "
                                "started on it. Retry "
                                "with the first command, or go back with spec.restore.fromBackup",
                            retry_command(in) + "   # or: " + restore_command(in)};
        }
        return take(s,
                    "verify collections and counts against the backup manifest and an embedding "
                    "round-trip");
      case Step::kMarkNewFormat:
        if (!in_flight && mark.format == target) continue;
        return take(s, "mark the Chroma volume " + target + " now that Chroma " +
                           in.desired_chroma + " is verified");
      case Step::kRollClient:
        if (in.client_rolled) continue;
        return take(s, "roll the client to its new version and scale it back up");
      case Step::kDone:
        if (in.recorded_step == Step::kDone) break;
        return take(s, "migration to " + target + " (Chroma " + in.desired_chroma + ") finished");
    }
  }
  return UpToDate{"Chroma " + in.desired_chroma + " runs on " + target + " data"};
}

}  // namespace

const char* to_string(Step s) {
  switch (s) {
    case Step::kQuiesce:
      return "Quiesce";
    case Step::kFinalBackup:
      return "FinalBackup";
    case Step::kMarkMigrating:
      return "MarkMigrating";
    case Step::kStartNewChroma:
      return "StartNewChroma";
    case Step::kVerify:
      return "Verify";
    case Step::kMarkNewFormat:
      return "MarkNewFormat";
    case Step::kRollClient:
      return "RollClient";
    case Step::kDone:
      return "Done";
  }
  return "?";
}

std::optional<Step> parse_step(std::string_view text) {
  for (Step s : kOrder) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

const char* to_string(BlockReason r) {
  switch (r) {
    case BlockReason::kBackupRequired:
      return "BackupRequired";
    case BlockReason::kBackupNotVerified:
      return "BackupNotVerified";
    case BlockReason::kBackupStale:
      return "BackupStale";
    case BlockReason::kBackupForOtherStack:
      return "BackupForOtherStack";
    case BlockReason::kBackupSignatureInvalid:
      return "BackupSignatureInvalid";
    case BlockReason::kBackupFormatMismatch:
      return "BackupFormatMismatch";
    case BlockReason::kCompatibilityGateFailed:
      return "CompatibilityGateFailed";
    case BlockReason::kDowngradeRefused:
      return "DowngradeRefused";
    case BlockReason::kProbingDataFormat:
      return "ProbingDataFormat";
    case BlockReason::kDataFormatProbeFailed:
      return "DataFormatProbeFailed";
  }
  return "?";
}

std::string suggested_backup_name(std::string_view stack, std::string_view desired, WallPoint now) {
  std::string name(stack);
  name += "-pre-";
  for (char c : desired) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c >= 'A' && c <= 'Z') {
      name += static_cast<char>(c - 'A' + 'a');
    } else {
      name += keep ? c : '-';
    }
  }
  name += '-';
  for (char c : common::format_rfc3339(now)) {
    if (c >= '0' && c <= '9') name += c;
  }
  return name;
}

Decision decide(const PlanInput& in, const gate::CompatMatrix& matrix) {
  auto desired = versions::SemVer::parse(in.desired_chroma);
  const gate::DataFormat* target = desired ? matrix.format_for_server(*desired) : nullptr;
  if (!target) {
    return Blocked{
        BlockReason::kCompatibilityGateFailed,
        "spec.chroma.version '" + in.desired_chroma + "' " +
            (desired ? "writes no data format the compatibility matrix knows" : "is not a version"),
        "okami-operator check -f <stack.yaml>"};
  }
  // Nothing about the data is assumed from the spec or from a missing mark: a volume the
  // operator did not mark is never fresh, and no Chroma opens it until its format is read.
  if (in.data_format_unknown) {
    if (!in.probe_failure.empty()) {
      return Blocked{BlockReason::kDataFormatProbeFailed,
                     "the Chroma volume is not marked by the operator and reading its data format "
                     "failed: " + in.probe_failure + ". No Chroma starts on it until its format is known",
                     in.probe_command};
    }
    return Blocked{BlockReason::kProbingDataFormat,
                   "the Chroma volume is not marked by the operator (" +
                       std::string(names::kDataFormatAnnotation) +
                       " is missing): reading its data format from the data before any Chroma "
                       "runs on it",
                   in.probe_command};
  }
  const bool fresh = in.data_format.empty();
  auto mark = fresh ? gate::DataFormatMark{}
                    : gate::DataFormatMark::parse(in.data_format).value_or(gate::DataFormatMark{});
  if (!fresh && gate::is_downgrade_across_boundary(matrix, in.data_format, *desired)) {
    return Blocked{BlockReason::kDowngradeRefused,
                   "the Chroma volume holds " + in.data_format + " data; Chroma " +
                       in.desired_chroma + " reads only " + target->name +
                       " and would corrupt it. Downgrades across a data-format boundary are always "
                       "refused; go back only by restoring a backup",
                   restore_command(in)};
  }
  const bool in_flight = mark.migrating_to.has_value();
  const bool crossing = !fresh && (in_flight || mark.format != target->name);
  const bool open_step = in.recorded_step && *in.recorded_step != Step::kDone;
  const std::string to_desc = "Moving the Chroma data from " + mark.format + " to " + target->name +
                              " (Chroma " +
                              (in.running_chroma.empty() ? std::string("?") : in.running_chroma) +
                              " -> " + in.desired_chroma + ")";

  // Past the point where new Chroma may have opened the data: finish the recorded migration.
  if (open_step && index_of(*in.recorded_step) >= index_of(Step::kStartNewChroma) && !crossing) {
    return walk(in, *in.recorded_step, mark, mark.format, target->name);
  }
  if (!crossing) {
    const bool change = in.running_chroma != in.desired_chroma;
    if (!change && !open_step) return UpToDate{"Chroma " + in.desired_chroma + " is running"};
    if (!in.compatibility_passed) {
      return Blocked{
          BlockReason::kCompatibilityGateFailed,
          "the compatibility gate fails: " + in.compatibility_message,
          kubectl(in) + "get okamistack " + in.stack_name +
              " -o jsonpath='{.status.conditions[?(@.type==\"CompatibilityGate\")].message}'"};
    }
    std::string message =
        fresh && in.running_chroma.empty()
            ? "create Chroma " + in.desired_chroma + " (" + target->name + " data)"
            : "no data-format boundary (" + target->name + "): rolling update";
    if (open_step)
      message += "; the migration recorded at " + std::string(to_string(*in.recorded_step)) +
                 " is abandoned before the data was touched";
    return RollingUpdate{in.running_chroma, in.desired_chroma, message};
  }

  // Crossing a boundary. Until the volume is marked migrating nothing is touched: gate first.
  if (!in_flight) {
    if (!in.compatibility_passed) {
      return Blocked{
          BlockReason::kCompatibilityGateFailed,
          to_desc + " needs a passing compatibility gate: " + in.compatibility_message,
          kubectl(in) + "get okamistack " + in.stack_name +
              " -o jsonpath='{.status.conditions[?(@.type==\"CompatibilityGate\")].message}'"};
    }
    if (auto blocked = check_backup(in, mark.format, to_desc)) return *blocked;
  }
  const Step start = open_step ? *in.recorded_step : Step::kQuiesce;
  return walk(in, start, mark, mark.format, target->name);
}

std::string describe(const Decision& d) {
  struct Visitor {
    std::string operator()(const UpToDate& u) const { return "UpToDate: " + u.message; }
    std::string operator()(const RollingUpdate& r) const {
      return "RollingUpdate(" + (r.from.empty() ? std::string("none") : r.from) + " -> " + r.to +
             "): " + r.message;
    }
    std::string operator()(const TakeStep& t) const {
      return std::string("Step(") + to_string(t.step) + (t.resumed ? ", resumed" : "") +
             "): " + t.message;
    }
    std::string operator()(const Blocked& b) const {
      return std::string("Blocked(") + to_string(b.reason) + "): " + b.message +
             " Next: " + b.next_command;
    }
    std::string operator()(const StepFailed& f) const {
      return std::string("Failed(") + to_string(f.step) + "): " + f.message +
             " Next: " + f.next_command;
    }
  };
  return std::visit(Visitor{}, d);
}

}  // namespace okami::upgrade
