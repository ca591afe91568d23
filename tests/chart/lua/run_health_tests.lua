-- Runs an Argo CD health script over table fixtures, the way Argo CD runs it: a Lua 5.1 chunk
-- with the resource in the global `obj`, returning {status = ..., message = ...}.
--   lua5.1 run_health_tests.lua HEALTH_SCRIPT CASES_FILE
-- CASES_FILE returns a list of {name = ..., obj = {...}, status = ..., message = ...}; message
-- is compared exactly. Fails when any case fails, and when a line of the script that sets
-- hs.status is reached by no case (every branch must have a fixture).
local script_path, cases_path = arg[1], arg[2]
if script_path == nil or cases_path == nil then
  io.stderr:write("usage: lua5.1 run_health_tests.lua HEALTH_SCRIPT CASES_FILE\n")
  os.exit(2)
end

local script, load_err = loadfile(script_path)
if script == nil then
  io.stderr:write("cannot load " .. script_path .. ": " .. load_err .. "\n")
  os.exit(1)
end
local cases = assert(dofile(cases_path), cases_path .. " must return a list of cases")

-- The globals a health script may use: Argo CD opens the base, string, table and math libraries.
local function sandbox(obj)
  return {
    obj = obj,
    ipairs = ipairs, pairs = pairs, next = next, type = type,
    tostring = tostring, tonumber = tonumber, error = error, pcall = pcall,
    string = string, table = table, math = math,
  }
end

-- Lines of the script that decide a status; each must be reached by some case.
local status_lines = {}
do
  local n = 0
  for line in io.lines(script_path) do
    n = n + 1
    if line:match("^%s*hs%.status%s*=") then
      status_lines[n] = line:match("^%s*(.-)%s*$")
    end
  end
end
local reached = {}
local source_name = "@" .. script_path
local function hook(_, line)
  if debug.getinfo(2, "S").source == source_name then
    reached[line] = true
  end
end

local allowed = { Healthy = true, Progressing = true, Degraded = true, Suspended = true, Missing = true, Unknown = true }
local failures, total = 0, 0
for _, case in ipairs(cases) do
  total = total + 1
  local fn = setfenv(loadfile(script_path), sandbox(case.obj))
  debug.sethook(hook, "l")
  local ok, hs = pcall(fn)
  debug.sethook()
  local problem = nil
  if not ok then
    problem = "script error: " .. tostring(hs)
  elseif type(hs) ~= "table" then
    problem = "script returned " .. type(hs) .. ", not a table"
  elseif not allowed[hs.status] then
    problem = "status " .. tostring(hs.status) .. " is not an Argo CD health status"
  elseif type(hs.message) ~= "string" or hs.message == "" then
    problem = "no message (status " .. tostring(hs.status) .. ")"
  elseif hs.status ~= case.status then
    problem = "status " .. hs.status .. ", want " .. case.status .. " (message: " .. hs.message .. ")"
  elseif case.message ~= nil and hs.message ~= case.message then
    problem = "message\n      got:  " .. hs.message .. "\n      want: " .. case.message
  end
  if problem then
    failures = failures + 1
    print("FAIL " .. case.name .. ": " .. problem)
  else
    print("ok   " .. case.name .. " -> " .. hs.status .. ": " .. hs.message)
  end
end

local unreached = {}
for line, text in pairs(status_lines) do
  if not reached[line] then
    table.insert(unreached, line)
  end
end
table.sort(unreached)
for _, line in ipairs(unreached) do
  failures = failures + 1
  print("FAIL no case reaches " .. script_path .. ":" .. line .. " (" .. status_lines[line] .. ")")
end

print(string.format("%s: %d cases, %d status branches, %d failures", script_path, total,
  (function() local c = 0 for _ in pairs(status_lines) do c = c + 1 end return c end)(), failures))
os.exit(failures == 0 and 0 or 1)
