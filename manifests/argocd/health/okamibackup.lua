-- Argo CD health check for okami.io/OkamiBackup (Lua 5.1, as Argo CD runs it).
-- Healthy only when the Verified condition is True (checksums, SQLite integrity, collections
-- and signature all checked). Degraded when the backup failed; Progressing while it runs.
local hs = {}

-- Phases of a backup that is still being taken or checked.
local running_phases = {
  Pending = true,
  Quiescing = true,
  Archiving = true,
  Verifying = true,
}
-- Verified=False reasons that name a failure: Degraded whatever the phase says.
local failure_reasons = {
  Failed = true,
  BackupFailed = true,
  VerificationFailed = true,
  JobFailed = true,
  ArchiveMissing = true,
  ArchiveCorrupt = true,
  ChecksumMismatch = true,
  IntegrityCheckFailed = true,
  CollectionsMismatch = true,
  ManifestMismatch = true,
  SignatureInvalid = true,
}
-- Verified=False reasons that only mean "not checked yet". A reason in neither list counts as a
-- failure once the phase no longer says the backup is running.
local pending_reasons = {
  Pending = true,
  Quiescing = true,
  Archiving = true,
  Verifying = true,
  InProgress = true,
  Progressing = true,
  NotVerified = true,
  NotYetVerified = true,
  AwaitingArchive = true,
  WaitingForArchive = true,
}

local function condition(conditions, ctype)
  for _, c in ipairs(conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function describe(label, c)
  local text = label
  if c.reason ~= nil and c.reason ~= "" then
    text = text .. " (" .. c.reason .. ")"
  end
  if c.message ~= nil and c.message ~= "" then
    text = text .. ": " .. c.message
  end
  return text
end

local status = obj.status
if status == nil or next(status) == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to start the backup"
  return hs
end

local conditions = status.conditions or {}
local verified = condition(conditions, "Verified")
local complete = condition(conditions, "Complete")
local phase = status.phase

if verified ~= nil and verified.status == "True" then
  hs.status = "Healthy"
  hs.message = describe("Verified", verified)
  if status.archive ~= nil and status.archive.sha256 ~= nil and status.archive.sha256 ~= "" then
    hs.message = hs.message .. " (sha256 " .. status.archive.sha256 .. ")"
  end
  return hs
end

if phase == "Failed" then
  hs.status = "Degraded"
  if verified ~= nil and verified.status == "False" and verified.message ~= nil and verified.message ~= "" then
    hs.message = describe("Backup failed", verified)
  elseif complete ~= nil and complete.message ~= nil and complete.message ~= "" then
    hs.message = describe("Backup failed", complete)
  else
    hs.message = "Backup failed"
  end
  return hs
end

if verified ~= nil and verified.status == "False" and (failure_reasons[verified.reason] or
    (not running_phases[phase] and not pending_reasons[verified.reason])) then
  hs.status = "Degraded"
  hs.message = describe("Verification failed", verified)
  return hs
end

hs.status = "Progressing"
if phase ~= nil and phase ~= "" then
  hs.message = "Phase " .. phase
  local detail = nil
  if verified ~= nil and verified.message ~= nil and verified.message ~= "" then
    detail = verified.message
  elseif complete ~= nil and complete.message ~= nil and complete.message ~= "" then
    detail = complete.message
  end
  if detail ~= nil then
    hs.message = hs.message .. ": " .. detail
  end
else
  hs.message = "Waiting for the backup to be verified"
end
return hs
