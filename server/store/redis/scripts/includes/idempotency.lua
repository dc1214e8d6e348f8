--[[
  Idempotency records: one field per request id in the tree's hash KEYS[2] = P{R}:idem, valued
  "<expires ms> <fingerprint> <tag><value> ...": each value (an id or decimal text, no spaces)
  after the one letter that names it (RECORD_TAGS), so a spend's record fits a 64-byte
  allocation. A line is named by its field in P{R}:lines ("c12"). Expiry follows nowMs (so a
  fake clock drives it, as in the memory store): an expired record is ignored and overwritten.
  Records live as long as their tree, like its lines: about 130 bytes each, against ~260 for a
  key of its own with a TTL (docs/architecture.md#receipt-lines).

  Trees created before this layout (tree-format.lua) may still hold a record as a JSON string at
  P{R}:idem:<request id>, written with a TTL: it is read when the hash has none.
]]
--- @include "keys"
--- @include "numbers"
--- @include "tree-format"

-- The letter each record field is stored under, and back.
local RECORD_TAGS = {line = "l", remaining = "r", hold = "h", wallet = "w", returned = "t"}
local RECORD_NAMES = {l = "line", r = "remaining", h = "hold", w = "wallet", t = "returned"}

-- A record as find_record answers it: nil when expired, false for other parameters.
local function live_record(record, expires, fp, now_ms, fingerprint)
  if tonumber(expires) <= tonumber(now_ms) then
    return nil
  end
  if fp ~= fingerprint then
    return false
  end
  return record
end

-- The live record of `request_id`: nil when there is none (or it expired), false when it belongs
-- to different parameters (IDEMPOTENCY_KEY_REUSED), else the record (a table of text).
local function find_record(request_id, now_ms, fingerprint)
  local raw = redis.call("HGET", KEYS[2], request_id)
  if not raw then
    if not TREE.legacy then
      return nil
    end
    local old = redis.call("GET", key_legacy_idempotency(request_id))
    if not old then
      return nil
    end
    local record = cjson.decode(old)
    return live_record(record, record.expires, record.fingerprint, now_ms, fingerprint)
  end
  local expires, fp, rest = string.match(raw, "^(%d+) (%S+)(.*)$")
  local record = {}
  for tag, value in string.gmatch(rest, " (%a)(%S*)") do
    record[RECORD_NAMES[tag]] = value
  end
  return live_record(record, expires, fp, now_ms, fingerprint)
end

-- Remembers a successful outcome (never a refusal: a refused call may be retried). `record`'s
-- names are those of RECORD_TAGS, its values text without spaces.
local function remember(request_id, record, now_ms, fingerprint, ttl_ms)
  local parts = {fmt(tonumber(now_ms) + tonumber(ttl_ms)), fingerprint}
  for name, value in pairs(record) do
    parts[#parts + 1] = RECORD_TAGS[name] .. value
  end
  redis.call("HSET", KEYS[2], request_id, table.concat(parts, " "))
end
