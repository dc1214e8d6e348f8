--[[
  Idempotency records: KEYS[2] = P{R}:idem:<request id>, a JSON object with the fingerprint, the
  command-time expiry and the outcome's ids and figures. Expiry follows nowMs (so a fake clock
  drives it, as in the memory store); PX, on wall time, only reclaims the memory.
]]
--- @include "numbers"

-- The live record for KEYS[2]: nil when there is none (or it expired), false when it belongs to
-- different parameters (IDEMPOTENCY_KEY_REUSED), else the record.
local function find_record(now_ms, fingerprint)
  local raw = redis.call("GET", KEYS[2])
  if not raw then
    return nil
  end
  local record = cjson.decode(raw)
  if tonumber(record.expires) <= tonumber(now_ms) then
    return nil
  end
  if record.fingerprint ~= fingerprint then
    return false
  end
  return record
end

-- Remembers a successful outcome (never a refusal: a refused call may be retried).
local function remember(record, now_ms, fingerprint, ttl_ms)
  record.fingerprint = fingerprint
  record.expires = fmt(tonumber(now_ms) + tonumber(ttl_ms))
  redis.call("SET", KEYS[2], cjson.encode(record), "PX", ttl_ms)
end
