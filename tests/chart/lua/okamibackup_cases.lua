-- Fixtures for manifests/argocd/health/okamibackup.lua: one per branch, status and exact message.
local function cond(ctype, status, reason, message)
  return { type = ctype, status = status, reason = reason, message = message,
           lastTransitionTime = "2026-11-25T10:00:00Z", observedGeneration = 1 }
end

local function backup(status)
  return {
    apiVersion = "okami.io/v1alpha1",
    kind = "OkamiBackup",
    metadata = { name = "okami-pre-1x", namespace = "team-a", generation = 1 },
    spec = { stackRef = "okami", quiesce = true },
    status = status,
  }
end

return {
  {
    name = "no status yet is Progressing",
    obj = backup(nil),
    status = "Progressing",
    message = "Waiting for the operator to start the backup",
  },
  {
    name = "empty status is Progressing",
    obj = backup({}),
    status = "Progressing",
    message = "Waiting for the operator to start the backup",
  },
  {
    name = "Verified=True is Healthy with the archive checksum",
    obj = backup({ phase = "Verified",
      archive = { pvc = "okami-backups", path = "okami/okami-pre-1x.tar.zst", sizeBytes = 123456, sha256 = "9f86d081884c7d65" },
      conditions = { cond("Complete", "True", "Archived", "archive written"),
                     cond("Verified", "True", "Verified", "checksums, SQLite integrity, 3 collections and signature verified") } }),
    status = "Healthy",
    message = "Verified (Verified): checksums, SQLite integrity, 3 collections and signature verified (sha256 9f86d081884c7d65)",
  },
  {
    name = "Verified=True without archive details is Healthy",
    obj = backup({ conditions = { { type = "Verified", status = "True" } } }),
    status = "Healthy",
    message = "Verified",
  },
  {
    name = "phase Failed with a Verified message is Degraded",
    obj = backup({ phase = "Failed", conditions = {
      cond("Complete", "True", "Archived", "archive written"),
      cond("Verified", "False", "ChecksumMismatch", "chroma.sqlite3: sha256 differs from the manifest") } }),
    status = "Degraded",
    message = "Backup failed (ChecksumMismatch): chroma.sqlite3: sha256 differs from the manifest",
  },
  {
    name = "phase Failed with a Complete message is Degraded",
    obj = backup({ phase = "Failed", conditions = {
      cond("Complete", "False", "JobFailed", "backup Job okami-pre-1x-backup failed: BackoffLimitExceeded") } }),
    status = "Degraded",
    message = "Backup failed (JobFailed): backup Job okami-pre-1x-backup failed: BackoffLimitExceeded",
  },
  {
    name = "phase Failed without conditions is Degraded",
    obj = backup({ phase = "Failed" }),
    status = "Degraded",
    message = "Backup failed",
  },
  {
    name = "Verified=False with a failure reason is Degraded even while the phase says Verifying",
    obj = backup({ phase = "Verifying", conditions = {
      cond("Verified", "False", "SignatureInvalid", "HMAC does not match the signing key") } }),
    status = "Degraded",
    message = "Verification failed (SignatureInvalid): HMAC does not match the signing key",
  },
  {
    name = "Verified=False with an unknown reason after the run is Degraded",
    obj = backup({ phase = "Verified", conditions = {
      cond("Verified", "False", "SqliteIntegrityError", "integrity_check: row 12 missing from index") } }),
    status = "Degraded",
    message = "Verification failed (SqliteIntegrityError): integrity_check: row 12 missing from index",
  },
  {
    name = "Verified=False with a pending reason is Progressing",
    obj = backup({ phase = "Archiving", conditions = {
      cond("Complete", "False", "Archiving", "archiving 2 volumes"),
      cond("Verified", "False", "Pending", "") } }),
    status = "Progressing",
    message = "Phase Archiving: archiving 2 volumes",
  },
  {
    name = "Verified=False while Verifying is Progressing with its message",
    obj = backup({ phase = "Verifying", conditions = {
      cond("Complete", "True", "Archived", "archive written"),
      cond("Verified", "False", "Verifying", "checking 14 files") } }),
    status = "Progressing",
    message = "Phase Verifying: checking 14 files",
  },
  {
    name = "Verified=False with an unknown reason while still running is Progressing",
    obj = backup({ phase = "Quiescing", conditions = {
      cond("Verified", "False", "WaitingForWriters", "") } }),
    status = "Progressing",
    message = "Phase Quiescing",
  },
  {
    name = "only a phase is Progressing",
    obj = backup({ phase = "Pending" }),
    status = "Progressing",
    message = "Phase Pending",
  },
  {
    name = "conditions without a phase are Progressing",
    obj = backup({ conditions = { cond("Complete", "False", "Starting", "creating the backup Job") } }),
    status = "Progressing",
    message = "Waiting for the backup to be verified",
  },
}
