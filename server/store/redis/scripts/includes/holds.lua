--[[
  Holds (P{R}:h:<id>) and their release. Open holds are in two sorted sets: the tree's P{R}:holds
  (members are 16-digit zero-padded creation seqs scored by expiresAtMs, so rank order is due
  order with ties in creation order, and a bounded batch of the due ones is one ZRANGEBYSCORE
  ... LIMIT) and their wallet's P{R}:w:<id>:holds (ids scored by seq: what a close voids).
]]
--- @include "keys"
--- @include "numbers"
--- @include "wallet"
--- @include "lines"

local HOLD_FIELDS = {
  "wallet", "amount", "service", "meta", "status", "captured", "created", "expires",
}

-- A hold's member of the tree's P{R}:holds: its seq, zero-padded so text order is seq order.
local function due_member(hold_id)
  return string.format("%016d", seq_of(hold_id))
end

-- The hold id of a P{R}:holds member.
local function hold_of_member(member)
  return ROOT_ID .. ".h" .. fmt(tonumber(member))
end

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

-- Files a new open hold under its tree (for expiry) and its wallet (for a close).
local function index_hold(hold_id, wallet_id, expires)
  redis.call("ZADD", key_open_holds(), expires, due_member(hold_id))
  redis.call("ZADD", key_wallet_holds(wallet_id), fmt(seq_of(hold_id)), hold_id)
end

-- Takes an open hold off its wallet's books; returns the wallet.
local function unhold(h, status)
  local w = load_wallet(h.wallet)
  incr(w, "held", -h.amount)
  redis.call("HINCRBY", KEYS[1], "held", fmt(-h.amount))
  redis.call("HSET", key_hold(h.id), "status", status)
  redis.call("ZREM", key_open_holds(), due_member(h.id))
  redis.call("ZREM", key_wallet_holds(h.wallet), h.id)
  return w
end

-- Releases a whole open hold: a VOID line (void, close) or an EXPIRE line (dated at the hold's
-- expiry, with no request id: nobody asked for it). Returns the line, the hash it links to, its
-- field in P{R}:lines, the wallet.
local function release_hold(h, kind, request_id, created)
  local w = unhold(h, kind == "void" and "voided" or "expired")
  local line, prev, line_id =
    post_line(w, kind, h.amount, h.service, h.meta, false, h.id, request_id, created)
  count_credits(w, "voided", h.amount)
  sync_live(w)
  return line, prev, line_id, w
end

-- Expires at most `budget` of the holds due at `now_ms`, earliest first and ties in creation
-- order, so EXPIRE lines follow their dates across batches. Returns true when none is left due.
local function expire_due_holds(now_ms, budget)
  local due = redis.call("ZRANGEBYSCORE", key_open_holds(), "-inf", now_ms, "LIMIT", 0, budget + 1)
  for i = 1, math.min(#due, budget) do
    local h = load_hold(hold_of_member(due[i]))
    release_hold(h, "expire", "", h.expires)
  end
  return #due <= budget
end

-- "1" when `hold_id` is open and the first of the tree's open holds to fall due, else "0".
local function earliest(hold_id)
  local first = redis.call("ZRANGE", key_open_holds(), 0, 0)[1]
  return first == due_member(hold_id) and "1" or "0"
end

-- When the tree's next hold falls due (decimal text), or nil when it has no open hold.
local function next_expiry()
  local first = redis.call("ZRANGE", key_open_holds(), 0, 0, "WITHSCORES")
  return first[2]
end
