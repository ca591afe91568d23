-- Fixtures for manifests/argocd/health/okamistack.lua: one per branch, status and exact message.
local function cond(ctype, status, reason, message)
  return { type = ctype, status = status, reason = reason, message = message,
           lastTransitionTime = "2026-11-25T10:00:00Z", observedGeneration = 3 }
end

local function stack(status, spec, generation)
  return {
    apiVersion = "okami.io/v1alpha1",
    kind = "OkamiStack",
    metadata = { name = "okami", namespace = "team-a", generation = generation or 3 },
    spec = spec or { chroma = { version = "1.0.15" } },
    status = status,
  }
end

local ready_true = cond("Ready", "True", "Reconciled", "Chroma 1.0.15, Ollama 0.9.6 and client 2.1.0 are running")

return {
  {
    name = "no status yet is Progressing",
    obj = stack(nil),
    status = "Progressing",
    message = "Waiting for the operator to report status",
  },
  {
    name = "empty status is Progressing",
    obj = stack({}),
    status = "Progressing",
    message = "Waiting for the operator to report status",
  },
  {
    name = "paused before any status is Suspended",
    obj = stack(nil, { paused = true, chroma = { version = "0.5.23" } }),
    status = "Suspended",
    message = "Paused (spec.paused): the operator is not acting on this stack",
  },
  {
    name = "Ready at the current generation is Healthy",
    obj = stack({ observedGeneration = 3, phase = "Ready", conditions = {
      cond("Reconciling", "False", "Reconciled", ""), ready_true } }),
    status = "Healthy",
    message = "Ready (Reconciled): Chroma 1.0.15, Ollama 0.9.6 and client 2.1.0 are running",
  },
  {
    name = "Ready without reason or message is Healthy with a plain message",
    obj = stack({ observedGeneration = 3, conditions = { { type = "Ready", status = "True" } } }),
    status = "Healthy",
    message = "Ready",
  },
  {
    name = "Ready from an older generation is Progressing",
    obj = stack({ observedGeneration = 2, phase = "Ready", conditions = { ready_true } }, nil, 3),
    status = "Progressing",
    message = "Waiting for the operator to observe generation 3 (observed 2)",
  },
  {
    name = "Ready without observedGeneration is Progressing",
    obj = stack({ phase = "Ready", conditions = { ready_true } }, nil, 3),
    status = "Progressing",
    message = "Waiting for the operator to observe generation 3 (observed none)",
  },
  {
    name = "Stalled is Degraded",
    obj = stack({ observedGeneration = 3, phase = "Progressing", conditions = {
      cond("Stalled", "True", "InvalidSpec", "spec.ollama.gpu.count must be positive"),
      cond("Ready", "False", "Stalled", "") } }),
    status = "Degraded",
    message = "Stalled (InvalidSpec): spec.ollama.gpu.count must be positive",
  },
  {
    name = "Stalled wins over paused",
    obj = stack({ observedGeneration = 3, conditions = {
      cond("Stalled", "True", "MigrationFailed", "verification found 2 collections, the backup has 3") } },
      { paused = true, chroma = { version = "1.0.15" } }),
    status = "Degraded",
    message = "Stalled (MigrationFailed): verification found 2 collections, the backup has 3",
  },
  {
    name = "Degraded condition is Degraded",
    obj = stack({ observedGeneration = 3, phase = "Degraded", conditions = {
      cond("Degraded", "True", "ChromaUnavailable", "0/1 Chroma pods ready"), ready_true } }),
    status = "Degraded",
    message = "Degraded (ChromaUnavailable): 0/1 Chroma pods ready",
  },
  {
    name = "Degraded=False and Stalled=False do not degrade",
    obj = stack({ observedGeneration = 3, conditions = {
      cond("Stalled", "False", "Reconciled", ""), cond("Degraded", "False", "AllReady", ""),
      cond("UpgradeBlocked", "False", "NoUpgradePending", ""), ready_true } }),
    status = "Healthy",
    message = "Ready (Reconciled): Chroma 1.0.15, Ollama 0.9.6 and client 2.1.0 are running",
  },
  {
    name = "DowngradeRefused is Degraded",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "DowngradeRefused", "data format 1.0 on disk; Chroma 0.5.23 cannot run on it; restore a backup with spec.restore.fromBackup"),
      ready_true } }),
    status = "Degraded",
    message = "Upgrade refused (DowngradeRefused): data format 1.0 on disk; Chroma 0.5.23 cannot run on it; restore a backup with spec.restore.fromBackup",
  },
  {
    name = "BackupSignatureInvalid is Degraded",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "BackupSignatureInvalid", "OkamiBackup okami-pre-1x: signature does not match") } }),
    status = "Degraded",
    message = "Upgrade refused (BackupSignatureInvalid): OkamiBackup okami-pre-1x: signature does not match",
  },
  {
    name = "BackupForOtherStack is Degraded",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "BackupForOtherStack", "OkamiBackup b1 belongs to stack other") } }),
    status = "Degraded",
    message = "Upgrade refused (BackupForOtherStack): OkamiBackup b1 belongs to stack other",
  },
  {
    name = "BackupFormatMismatch is Degraded",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "BackupFormatMismatch", "OkamiBackup 'b1' holds 1.0 data but the data on disk is 0.5") } }),
    status = "Degraded",
    message = "Upgrade refused (BackupFormatMismatch): OkamiBackup 'b1' holds 1.0 data but the data on disk is 0.5",
  },
  {
    name = "CompatibilityGateFailed is Degraded",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "CompatibilityGateFailed", "client chromadb==0.5.23 breaks on Chroma server 1.0.6 and later"),
      cond("CompatibilityGate", "False", "RulesViolated", "client chromadb==0.5.23 breaks on Chroma server 1.0.6 and later") } }),
    status = "Degraded",
    message = "Upgrade refused (CompatibilityGateFailed): client chromadb==0.5.23 breaks on Chroma server 1.0.6 and later",
  },
  {
    name = "phase Degraded without conditions is Degraded",
    obj = stack({ observedGeneration = 3, phase = "Degraded" }),
    status = "Degraded",
    message = "Phase Degraded",
  },
  {
    name = "phase Degraded carries the Ready message",
    obj = stack({ observedGeneration = 3, phase = "Degraded", conditions = {
      cond("Ready", "False", "OllamaUnavailable", "Ollama has been unready for 10m") } }),
    status = "Degraded",
    message = "Phase Degraded: Ollama has been unready for 10m",
  },
  {
    name = "paused with status is Suspended",
    obj = stack({ observedGeneration = 3, phase = "Ready", conditions = { ready_true } },
      { paused = true, chroma = { version = "1.0.15" } }),
    status = "Suspended",
    message = "Paused (spec.paused): the operator is not acting on this stack",
  },
  {
    name = "paused=false is not Suspended",
    obj = stack({ observedGeneration = 3, conditions = { ready_true } },
      { paused = false, chroma = { version = "1.0.15" } }),
    status = "Healthy",
    message = "Ready (Reconciled): Chroma 1.0.15, Ollama 0.9.6 and client 2.1.0 are running",
  },
  {
    name = "BackupRequired is Suspended",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "BackupRequired", "Chroma 0.5.23 -> 1.0.15 migrates data irreversibly; take an OkamiBackup"),
      ready_true } }),
    status = "Suspended",
    message = "Upgrade waiting for a verified backup (BackupRequired): Chroma 0.5.23 -> 1.0.15 migrates data irreversibly; take an OkamiBackup (set annotation okami.io/verified-backup to a Verified OkamiBackup)",
  },
  {
    name = "BackupNotVerified is Suspended",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "BackupNotVerified", "OkamiBackup b1 is in phase Archiving") } }),
    status = "Suspended",
    message = "Upgrade waiting for a verified backup (BackupNotVerified): OkamiBackup b1 is in phase Archiving (set annotation okami.io/verified-backup to a Verified OkamiBackup)",
  },
  {
    name = "BackupStale is Suspended",
    obj = stack({ observedGeneration = 3, phase = "UpgradeBlocked", conditions = {
      cond("UpgradeBlocked", "True", "BackupStale", "OkamiBackup b1 is 30h old; maxBackupAge is 24h") } }),
    status = "Suspended",
    message = "Upgrade waiting for a verified backup (BackupStale): OkamiBackup b1 is 30h old; maxBackupAge is 24h (set annotation okami.io/verified-backup to a Verified OkamiBackup)",
  },
  {
    name = "an unknown UpgradeBlocked reason is Degraded, never Healthy",
    obj = stack({ observedGeneration = 3, conditions = {
      cond("UpgradeBlocked", "True", "SomethingNew", "a reason this check does not know"), ready_true } }),
    status = "Degraded",
    message = "Upgrade blocked (SomethingNew): a reason this check does not know",
  },
  {
    name = "a running migration step is Progressing with the step",
    obj = stack({ observedGeneration = 3, phase = "Migrating",
      migration = { step = "Quiesce", from = "0.5.23", to = "1.0.15", message = "scaling the client to 0" },
      conditions = { cond("Reconciling", "True", "Migrating", "upgrading Chroma"), cond("Ready", "False", "Migrating", "") } }),
    status = "Progressing",
    message = "Migration step Quiesce: scaling the client to 0",
  },
  {
    name = "a running migration step without message is Progressing",
    obj = stack({ observedGeneration = 3, phase = "Migrating",
      migration = { step = "Verify", from = "0.5.23", to = "1.0.15" } }),
    status = "Progressing",
    message = "Migration step Verify",
  },
  {
    name = "a finished migration does not hide Reconciling",
    obj = stack({ observedGeneration = 3, phase = "Progressing",
      migration = { step = "Done", finishedAt = "2026-11-25T10:00:00Z" },
      conditions = { cond("Reconciling", "True", "RollingClient", "client 1/2 replicas updated"),
                     cond("Ready", "False", "RollingClient", "") } }),
    status = "Progressing",
    message = "Reconciling (RollingClient): client 1/2 replicas updated",
  },
  {
    name = "Ready=False without Reconciling is Progressing with the Ready reason",
    obj = stack({ observedGeneration = 3, phase = "Progressing", conditions = {
      cond("Ready", "False", "WaitingForChroma", "Chroma StatefulSet has 0/1 ready replicas") } }),
    status = "Progressing",
    message = "Not ready (WaitingForChroma): Chroma StatefulSet has 0/1 ready replicas",
  },
  {
    name = "only a phase is Progressing with the phase",
    obj = stack({ observedGeneration = 3, phase = "Pending" }),
    status = "Progressing",
    message = "Phase Pending",
  },
  {
    name = "status without conditions or phase is Progressing",
    obj = stack({ observedGeneration = 3, chroma = { runningVersion = "0.5.23" } }),
    status = "Progressing",
    message = "Waiting for the Ready condition",
  },
  {
    name = "a resource without metadata.generation is judged on conditions alone",
    obj = { apiVersion = "okami.io/v1alpha1", kind = "OkamiStack", metadata = { name = "x" },
            status = { conditions = { { type = "Ready", status = "True", reason = "Reconciled" } } } },
    status = "Healthy",
    message = "Ready (Reconciled)",
  },
}
