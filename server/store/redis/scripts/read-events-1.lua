--[[
  readEvents: up to `count` entries of the tree's event log from `start` on, oldest first; of
  those, the events of the wallet's subtree are returned (each line event joined with its line
  from P{R}:lines), and where the read got to whether or not the last ones were returned. Reads
  only: no pending work is done (a due hold's expire event appears once some step works it off,
  which every other script on the tree does first), nothing is written.

  A wallet is in the subtree when it is the wallet or the wallet is on its `path`; each event's
  wallet is looked up once per call (at most `count` HGETs, none when the wallet is the root).

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  wallet id
  ARGV[3]  start: "(<ms>-<seq>" after a position, "<ms>-0" from an ms on, or "-" the oldest kept
  ARGV[4]  count, 1..100

  Returns  {0, scanned to, first seq, head ms, head seq, then per event: entry id, event JSON
           (its ids relative to the tree, as stored), its line or "", the hash the line links
           to or "" (line-reads.lua)}: scanned to is the id of the last entry read ("" when none was),
           first seq the seq of the oldest entry kept (head seq + 1 when none is), head the
           tree's last event ("0", "0" before the first)
  Errors   {1, wallet id} WALLET_NOT_FOUND (the tree or the wallet is missing, or another
           project's)
]]
--- @include "errors"
--- @include "keys"
--- @include "numbers"
--- @include "line-reads"

local project, wallet_id, start, count = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local tree = redis.call("HMGET", KEYS[1], "project", "eseq", "ems")
if tree[1] ~= project then
  return refuse(E_WALLET_NOT_FOUND, wallet_id)
end
if redis.call("EXISTS", key_wallet(wallet_id)) == 0 then
  return refuse(E_WALLET_NOT_FOUND, wallet_id)
end
local head_seq, head_ms = tree[2] or "0", tree[3] or "0"

-- An event's id ("w3", relative to the tree; "" for the root) as the id it stands for.
local function tree_abs(rel)
  return rel == "" and ROOT_ID or (ROOT_ID .. "." .. rel)
end

local whole_tree = wallet_id == ROOT_ID
local in_subtree = {[wallet_id] = true}
-- Whether the event wallet `rel` is in the asked subtree: it or an ancestor is the wallet.
local function covered(rel)
  if whole_tree then
    return true
  end
  local id = tree_abs(rel)
  local known = in_subtree[id]
  if known == nil then
    local path = redis.call("HGET", key_wallet(id), "path") or ""
    known = string.find(" " .. path .. " ", " " .. wallet_id .. " ", 1, true) ~= nil
    in_subtree[id] = known
  end
  return known
end

local oldest = redis.call("XRANGE", key_events(), "-", "+", "COUNT", 1)[1]
local first_seq = oldest and string.match(oldest[1], "%-(%d+)$") or fmt(tonumber(head_seq) + 1)
local reply = {OK, "", first_seq, head_ms, head_seq}
local line_ids, slots = {}, {}
for _, entry in ipairs(redis.call("XRANGE", key_events(), start, "+", "COUNT", count)) do
  local id, json = entry[1], entry[2][2]
  reply[2] = id
  local e = cjson.decode(json)
  if covered(e.w) then
    reply[#reply + 1] = id
    reply[#reply + 1] = json
    reply[#reply + 1] = ""
    reply[#reply + 1] = ""
    if e.l then
      line_ids[#line_ids + 1] = e.l
      slots[#slots + 1] = #reply - 1
    end
  end
end
if #line_ids > 0 then
  -- Lines are stored under their relative id; those written before the compact layout under
  -- their full id, looked up only when some line was not found the first way.
  local lines = redis.call("HMGET", key_lines(), unpack(line_ids))
  local older = {}
  for i in ipairs(slots) do
    if not lines[i] then
      older[#older + 1] = i
    end
  end
  if #older > 0 then
    local full = {}
    for j, i in ipairs(older) do
      full[j] = tree_abs(line_ids[i])
    end
    for j, line in ipairs(redis.call("HMGET", key_lines(), unpack(full))) do
      lines[older[j]] = line
    end
  end
  local prevs = line_prevs(lines)
  for i, slot in ipairs(slots) do
    reply[slot] = lines[i] or ""
    reply[slot + 1] = prevs[i]
  end
end
return reply
