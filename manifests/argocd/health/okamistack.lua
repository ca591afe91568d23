-- Argo CD health check for okami.io/OkamiStack (Lua 5.1, as Argo CD runs it).
-- Reads status.conditions (authoritative), status.observedGeneration and spec.paused.
-- Order: problems first (Degraded), then states that wait for a person (Suspended), then
-- Healthy once the current generation is Ready, and Progressing for everything else.
local hs = {}

-- UpgradeBlocked reasons that wait for a person to supply or refresh a verified backup.
local waiting_reasons = {
  BackupRequired = true,
  BackupNotVerified = true,
  BackupStale = true,
}
-- UpgradeBlocked reasons that need the spec or the annotation fixed: the named backup can never
-- approve this step (another stack's, altered, or taken from other data), or the step is refused.
local refused_reasons = {
  DowngradeRefused = true,
  BackupSignatureInvalid = true,
  BackupForOtherStack = true,
  BackupFormatMismatch = true,
  CompatibilityGateFailed = true,
}

local function condition(conditions, ctype)
  for _, c in ipairs(conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

-- "Type (Reason): message", leaving out the parts a condition does not have.
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

local spec = obj.spec or {}
local status = obj.status
local paused = spec.paused == true

if status == nil or next(status) == nil then
  if paused then
    hs.status = "Suspended"
    hs.message = "Paused (spec.paused): the operator is not acting on this stack"
  else
    hs.status = "Progressing"
    hs.message = "Waiting for the operator to report status"
  end
  return hs
end

local conditions = status.conditions or {}
local stalled = condition(conditions, "Stalled")
local degraded = condition(conditions, "Degraded")
local blocked = condition(conditions, "UpgradeBlocked")
local ready = condition(conditions, "Ready")
local reconciling = condition(conditions, "Reconciling")

if is_true(stalled) then
  hs.status = "Degraded"
  hs.message = describe("Stalled", stalled)
  return hs
end
if is_true(degraded) then
  hs.status = "Degraded"
  hs.message = describe("Degraded", degraded)
  return hs
end
if is_true(blocked) and refused_reasons[blocked.reason] then
  hs.status = "Degraded"
  hs.message = describe("Upgrade refused", blocked)
  return hs
end
if status.phase == "Degraded" then
  hs.status = "Degraded"
  if ready ~= nil and ready.message ~= nil and ready.message ~= "" then
    hs.message = "Phase Degraded: " .. ready.message
  else
    hs.message = "Phase Degraded"
  end
  return hs
end

if paused then
  hs.status = "Suspended"
  hs.message = "Paused (spec.paused): the operator is not acting on this stack"
  return hs
end

if is_true(blocked) then
  if waiting_reasons[blocked.reason] then
    hs.status = "Suspended"
    hs.message = describe("Upgrade waiting for a verified backup", blocked) ..
      " (set annotation okami.io/verified-backup to a Verified OkamiBackup)"
  else
    -- A reason this check does not know: never report it as healthy or merely waiting.
    hs.status = "Degraded"
    hs.message = describe("Upgrade blocked", blocked)
  end
  return hs
end

local generation = obj.metadata ~= nil and obj.metadata.generation or nil
local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation) ..
    " (observed " .. tostring(observed or "none") .. ")"
  return hs
end

if is_true(ready) then
  hs.status = "Healthy"
  hs.message = describe("Ready", ready)
  return hs
end

local migration = status.migration or {}
hs.status = "Progressing"
if migration.step ~= nil and migration.step ~= "" and migration.finishedAt == nil then
  hs.message = "Migration step " .. migration.step
  if migration.message ~= nil and migration.message ~= "" then
    hs.message = hs.message .. ": " .. migration.message
  end
elseif is_true(reconciling) then
  hs.message = describe("Reconciling", reconciling)
elseif ready ~= nil then
  hs.message = describe("Not ready", ready)
elseif status.phase ~= nil and status.phase ~= "" then
  hs.message = "Phase " .. status.phase
else
  hs.message = "Waiting for the Ready condition"
end
return hs
