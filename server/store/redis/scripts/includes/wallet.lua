--[[
  Wallet hashes (P{R}:w:<id>). Balances: budget, spent, held, allocated, settled. total_spent,
  calls, over_budget_count, refill_*, voided_* are receipt aggregates of the whole subtree;
  own_calls is the wallet's own (its own credits are `spent`). `path` lists the ancestors, root
  first, so a line reaches every covering receipt without a lookup per level.

  Exhaustion is kept incrementally: `flag` is 1 while the wallet is open with available > 0, and
  `live` counts the flagged wallets of its subtree. An open wallet's ancestors are all open (close
  cascades down), so "own available <= 0 and every open child exhausted" is exactly live == 0.
]]
--- @include "keys"
--- @include "numbers"

local WALLET_FIELDS = {
  "parent", "path", "depth", "name", "budget", "hard", "meta", "spent", "held", "allocated",
  "settled", "total_spent", "status", "created", "flag", "live",
}
local NUMERIC_FIELDS = {
  depth = true, budget = true, spent = true, held = true, allocated = true, settled = true,
  total_spent = true, flag = true, live = true,
}

-- The wallet as a table (numbers as numbers), or nil when it does not exist.
local function load_wallet(id)
  local values = redis.call("HMGET", key_wallet(id), unpack(WALLET_FIELDS))
  if not values[1] then
    return nil
  end
  local w = {id = id}
  for i, field in ipairs(WALLET_FIELDS) do
    w[field] = NUMERIC_FIELDS[field] and tonumber(values[i]) or values[i]
  end
  return w
end

local function available(w)
  return w.budget - w.spent - w.held - w.allocated - w.settled
end

-- Ancestor ids, root first.
local function ancestors(w)
  local ids = {}
  for id in string.gmatch(w.path, "%S+") do
    ids[#ids + 1] = id
  end
  return ids
end

-- The wallet and its ancestors: every wallet whose subtree receipt covers a line of `w`.
local function covering(w)
  local ids = ancestors(w)
  ids[#ids + 1] = w.id
  return ids
end

-- Adds `delta` to one numeric field, in Redis and in the table.
local function incr(w, field, delta)
  if delta ~= 0 then
    redis.call("HINCRBY", key_wallet(w.id), field, fmt(delta))
    w[field] = w[field] + delta
  end
end

-- Re-derives the wallet's flag after a change and, only when it flips, moves `live` of the
-- wallet and every ancestor by one: O(depth) per change, so a read never walks a subtree.
local function sync_live(w)
  local flag = (w.status == "open" and available(w) > 0) and 1 or 0
  if flag == w.flag then
    return
  end
  local delta = flag - w.flag
  w.flag = flag
  redis.call("HSET", key_wallet(w.id), "flag", fmt(flag))
  for _, id in ipairs(covering(w)) do
    redis.call("HINCRBY", key_wallet(id), "live", fmt(delta))
  end
  w.live = w.live + delta
end

-- Writes a new open wallet with every figure at 0 but its budget, then counts it as live.
-- ARGV-sourced text (name, meta, budget, now) is stored as given.
local function create_wallet(id, parent, path, depth, name, budget, hard, meta, now_ms)
  redis.call("HSET", key_wallet(id),
    "parent", parent, "path", path, "depth", fmt(depth), "name", name, "budget", budget,
    "hard", hard, "meta", meta, "spent", "0", "held", "0", "allocated", "0", "settled", "0",
    "total_spent", "0", "calls", "0", "own_calls", "0", "over_budget_count", "0",
    "refill_credits", "0", "refill_count", "0", "voided_credits", "0", "voided_count", "0",
    "status", "open", "created", now_ms, "flag", "0", "live", "0")
  local w = load_wallet(id)
  sync_live(w)
  return w
end

-- The wallet as the interface reports it; every number as exact text.
local function wallet_view(w)
  local open = w.status == "open"
  return {
    id = w.id, parent = w.parent, depth = fmt(w.depth), name = w.name, budget = fmt(w.budget),
    hard = w.hard, meta = w.meta, spent = fmt(w.spent), held = fmt(w.held),
    allocated = fmt(w.allocated), settled = fmt(w.settled),
    -- A closed wallet's remainder went back to its parent: it has nothing left to offer.
    available = open and fmt(available(w)) or "0",
    total_spent = fmt(w.total_spent), status = w.status,
    exhausted = (not open or w.live == 0) and "1" or "0", created = w.created,
  }
end

-- The wallet as stored right now, as JSON.
local function wallet_json(id)
  return cjson.encode(wallet_view(load_wallet(id)))
end
