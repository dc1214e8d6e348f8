--[[
  Wallet hashes (P{R}:w:<id>). Balances: budget, spent, held, allocated, settled. total_spent,
  calls, over_budget_count, refill_*, voided_* are receipt aggregates of the whole subtree;
  own_calls is the wallet's own (its own credits are `spent`). `path` lists the ancestors, root
  first, so a line reaches every covering receipt without a lookup per level.

  Exhaustion is kept incrementally: `flag` is 1 while the wallet is open with available > 0, and
  `live` counts the flagged wallets of its subtree. An open wallet's ancestors are all open (close
  cascades down), so "own available <= 0 and every open child exhausted" is exactly live == 0.

  Budget alerts (docs/events.md#budget-alerts): `alerts` holds the wallet's thresholds
  ("50,80,100", ascending), `alert_level` how many of them are crossed, `over_alerted` "1" once a
  soft-capped wallet's over-budget line has been reported (until an add-credits re-arms it).
]]
--- @include "keys"
--- @include "numbers"
--- @include "events"

local WALLET_FIELDS = {
  "parent", "path", "depth", "name", "budget", "hard", "meta", "spent", "held", "allocated",
  "settled", "total_spent", "status", "created", "flag", "live", "alerts", "alert_level",
  "over_alerted",
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
  w.alerts = w.alerts or ""
  w.alert_level = tonumber(w.alert_level) or 0
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
-- The flag of an open hard-capped wallet falling from 1 to 0 is its available going from above
-- 0 to exactly 0 (a hard cap never goes below): that is `wallet_exhausted`, appended here, so
-- every step that can drain a wallet reports it (spend, authorize, a child's budget).
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
  if flag == 0 and w.status == "open" and w.hard == "1" then
    emit("wallet_exhausted", w)
  end
end

-- Writes a new open wallet with every figure at 0 but its budget, then counts it as live and
-- appends `wallet_created`. ARGV-sourced text (name, meta, budget, now, alerts) is stored as
-- given.
local function create_wallet(id, parent, path, depth, name, budget, hard, meta, now_ms, alerts)
  redis.call("HSET", key_wallet(id),
    "parent", parent, "path", path, "depth", fmt(depth), "name", name, "budget", budget,
    "hard", hard, "meta", meta, "spent", "0", "held", "0", "allocated", "0", "settled", "0",
    "total_spent", "0", "calls", "0", "own_calls", "0", "over_budget_count", "0",
    "refill_credits", "0", "refill_count", "0", "voided_credits", "0", "voided_count", "0",
    "status", "open", "created", now_ms, "flag", "0", "live", "0",
    "alerts", alerts, "alert_level", "0", "over_alerted", "0")
  local w = load_wallet(id)
  sync_live(w)
  emit("wallet_created", w)
  return w
end

-- The thresholds of an `alerts` field, as numbers, ascending.
local function thresholds(alerts)
  local out = {}
  for t in string.gmatch(alerts, "%d+") do
    out[#out + 1] = tonumber(t)
  end
  return out
end

-- How many of `ts` (ascending) `total_spent` has crossed against `budget`: t is crossed when
-- total_spent > 0 and total_spent >= ceil(t * budget / 100). t * budget can pass 2^53, so it is
-- split exactly: budget = 100q + r (fmod and the division are exact on integers below 2^53), and
-- ceil(t * budget / 100) = q*t + ceil(r*t / 100). r*t < 10^5 is exact; q*t and the sum are exact
-- up to 2^53 and, past it, round to values >= 2^53 (rounding is monotonic), still above any
-- total_spent: so the comparison is always the exact one.
local function crossed_count(ts, budget, total_spent)
  if total_spent <= 0 then
    return 0
  end
  local r = math.fmod(budget, 100)
  local q = (budget - r) / 100
  local n = 0
  for _, t in ipairs(ts) do
    if total_spent < q * t + math.ceil(r * t / 100) then
      break
    end
    n = n + 1
  end
  return n
end

-- After a debit anywhere in its subtree: appends threshold_crossed for each threshold of the
-- wallet between its level and what is crossed now (ascending) and raises the level. `w` has
-- id, budget, total_spent (after the debit), alerts, alert_level; `load` gives its full figures
-- for the events (called only when one is appended).
local function raise_alert_level(w, load)
  local ts = thresholds(w.alerts)
  local level = crossed_count(ts, w.budget, w.total_spent)
  if level <= w.alert_level then
    return
  end
  local full = load()
  for i = w.alert_level + 1, level do
    emit("threshold_crossed", full, {x = ts[i]})
  end
  w.alert_level = level
  redis.call("HSET", key_wallet(w.id), "alert_level", fmt(level))
end

-- After an add-credits raised `w`'s budget: the level moves down to what is crossed now,
-- re-arming the thresholds above it, and a soft cap's alert re-arms once available >= 0.
-- No event: re-arming is silent.
local function rearm_alerts(w)
  local level = crossed_count(thresholds(w.alerts), w.budget, w.total_spent)
  if level < w.alert_level then
    w.alert_level = level
    redis.call("HSET", key_wallet(w.id), "alert_level", fmt(level))
  end
  if w.over_alerted == "1" and available(w) >= 0 then
    w.over_alerted = "0"
    redis.call("HSET", key_wallet(w.id), "over_alerted", "0")
  end
end

-- The alerts after a debit of open wallet `w` (a SPEND or CAPTURE line just posted, sync_live
-- done: a hard cap's wallet_exhausted is appended there), in docs/events.md's order: a soft
-- cap's soft_cap_exceeded, then threshold_crossed for `w` and each ancestor up to the root.
-- `totals` is count_debit's new total_spent per covering wallet. Each ancestor costs one HMGET of
-- the three fields its thresholds need (nothing else of it is read unless an alert fires): the
-- only command per covering wallet the alerts add to a debit.
local function debit_alerts(w, over_budget, totals)
  if w.hard ~= "1" and over_budget and w.over_alerted ~= "1" then
    w.over_alerted = "1"
    redis.call("HSET", key_wallet(w.id), "over_alerted", "1")
    emit("soft_cap_exceeded", w)
  end
  raise_alert_level(w, function() return w end)
  local path = ancestors(w)
  for i = #path, 1, -1 do
    local id = path[i]
    local f = redis.call("HMGET", key_wallet(id), "budget", "alerts", "alert_level")
    raise_alert_level(
      {
        id = id, budget = tonumber(f[1]), total_spent = totals[id], alerts = f[2] or "",
        alert_level = tonumber(f[3]) or 0,
      },
      function() return load_wallet(id) end
    )
  end
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
    alerts = w.alerts,
  }
end

-- The wallet as stored right now, as JSON.
local function wallet_json(id)
  return cjson.encode(wallet_view(load_wallet(id)))
end
