--[[
  Holds (P{R}:h:<id>) and their release. Open holds are also in the tree's P{R}:holds sorted set,
  scored by expiresAtMs, so each script finds the due ones with one ZRANGEBYSCORE.
]]
--- @include "keys"
--- @include "numbers"
--- @include "wallet"
--- @include "lines"

local HOLD_FIELDS = {
  "wallet", "amount", "service", "meta", "status", "captured", "created", "expires",
}

-- The hold as a table (amounts as numbers, times as text), or nil when it does not exist.
local function load_hold(id)
  local values = redis.call("HMGET", key_hold(id), unpack(HOLD_FIELDS))
  if not values[1] then
    return nil
  end
  local h = {id = id}
  for i, field in ipairs(HOLD_FIELDS) do
    h[field] = values[i]
  end
  h.amount = tonumber(h.amount)
  h.captured = tonumber(h.captured)
  return h
end

-- The hold as stored right now, as JSON.
local function hold_json(id)
  local h = load_hold(id)
  return cjson.encode({
    id = h.id, wallet = h.wallet, amount = fmt(h.amount), service = h.service, meta = h.meta,
    status = h.status, captured = fmt(h.captured), created = h.created, expires = h.expires,
  })
end

-- Takes an open hold off its wallet's books; returns the wallet.
local function unhold(h, status)
  local w = load_wallet(h.wallet)
  incr(w, "held", -h.amount)
  redis.call("HINCRBY", KEYS[1], "held", fmt(-h.amount))
  redis.call("HSET", key_hold(h.id), "status", status)
  redis.call("ZREM", key_open_holds(), h.id)
  return w
end

-- Releases a whole open hold: a VOID line (void, close) or an EXPIRE line (dated at the hold's
-- expiry, with no request id: nobody asked for it). Returns the line's JSON, its id, the wallet.
local function release_hold(h, kind, request_id, created)
  local w = unhold(h, kind == "void" and "voided" or "expired")
  local line, line_id =
    post_line(w, kind, h.amount, h.service, h.meta, false, h.id, request_id, created)
  count_credits(w, "voided", h.amount)
  sync_live(w)
  return line, line_id, w
end

-- Expires every open hold due at `now_ms`, earliest first and ties in creation order, so EXPIRE
-- lines follow their dates. Every script runs this before anything else on the tree (reads
-- too): an expired hold is released with no client action and no timer.
local function expire_due_holds(now_ms)
  local due = redis.call("ZRANGEBYSCORE", key_open_holds(), "-inf", now_ms, "WITHSCORES")
  if #due == 0 then
    return
  end
  local order = {}
  for i = 1, #due, 2 do
    order[#order + 1] = {id = due[i], at = tonumber(due[i + 1]), seq = seq_of(due[i])}
  end
  table.sort(order, function(a, b)
    if a.at ~= b.at then
      return a.at < b.at
    end
    return a.seq < b.seq
  end)
  for _, entry in ipairs(order) do
    local h = load_hold(entry.id)
    release_hold(h, "expire", "", h.expires)
  end
end
