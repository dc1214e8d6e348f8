--[[
  Receipt lines and the aggregates they feed. A line is JSON in the tree's P{R}:lines hash; its id
  goes on the wallet's own list and on the subtree list of the wallet and every ancestor (at most
  maxDepth entries), so listing a subtree pages by offset instead of filtering the tree's lines.

  Breakdowns: per covering wallet, a zset scores each service (agent) name by minus its credits,
  so rank order is the receipt's order (most credits first, ties by name) and its top rows are one
  ZRANGE; a hash beside it counts the calls.
]]
--- @include "keys"
--- @include "numbers"
--- @include "wallet"

-- Takes the next id of the tree's one sequence: "<root>.<letter><seq>".
local function next_id(letter)
  return ROOT_ID .. "." .. letter .. fmt(redis.call("HINCRBY", KEYS[1], "seq", 1))
end

-- Writes one line of `w`; returns its JSON and id. `meta` is JSON text, `created` decimal text.
local function post_line(w, kind, amount, service, meta, over_budget, hold_id, request_id, created)
  local id = next_id("c")
  local line = cjson.encode({
    id = id, wallet = w.id, kind = kind, amount = fmt(amount), service = service, meta = meta,
    over = over_budget and "1" or "0", hold = hold_id, request = request_id, created = created,
  })
  redis.call("HSET", key_lines(), id, line)
  redis.call("RPUSH", key_own_lines(w.id), id)
  for _, covering_id in ipairs(covering(w)) do
    redis.call("RPUSH", key_subtree_lines(covering_id), id)
  end
  return line, id
end

-- Whether `name` would be a new key past `limit` distinct keys of the root's `ranked` breakdown.
-- The root's breakdowns hold every name of the tree, so checking them bounds every receipt.
local function name_full(ranked, name, limit)
  return not redis.call("ZSCORE", ranked, name) and redis.call("ZCARD", ranked) >= limit
end

-- The breakdown that a debit's (or a hold's) names would push past `limit`, or nil.
local function breakdown_full(service, agent, limit)
  if name_full(key_by_service(ROOT_ID), service, limit) then
    return "service"
  end
  if name_full(key_by_agent(ROOT_ID), agent, limit) then
    return "agent"
  end
  return nil
end

-- A SPEND or CAPTURE of `w`: totals, calls and breakdowns of every covering receipt.
local function count_debit(w, amount, service, agent, over_budget)
  local credits = fmt(amount)
  local minus = fmt(-amount)
  redis.call("HINCRBY", key_wallet(w.id), "own_calls", "1")
  for _, id in ipairs(covering(w)) do
    local key = key_wallet(id)
    redis.call("HINCRBY", key, "total_spent", credits)
    redis.call("HINCRBY", key, "calls", "1")
    if over_budget then
      redis.call("HINCRBY", key, "over_budget_count", "1")
    end
    redis.call("ZINCRBY", key_by_service(id), minus, service)
    redis.call("HINCRBY", key_service_calls(id), service, "1")
    redis.call("ZINCRBY", key_by_agent(id), minus, agent)
    redis.call("HINCRBY", key_agent_calls(id), agent, "1")
  end
end

-- A VOID or EXPIRE (`prefix` "voided") or a REFILL (`prefix` "refill") of `w`.
local function count_credits(w, prefix, amount)
  local credits = fmt(amount)
  for _, id in ipairs(covering(w)) do
    redis.call("HINCRBY", key_wallet(id), prefix .. "_credits", credits)
    redis.call("HINCRBY", key_wallet(id), prefix .. "_count", "1")
  end
end

-- Spent plus held credits of the whole tree; every debit and hold keeps this <= MAX_CREDITS,
-- so a later capture (<= its hold) stays exact too.
local function committed_credits()
  local spent = redis.call("HGET", key_wallet(ROOT_ID), "total_spent")
  local held = redis.call("HGET", KEYS[1], "held")
  return tonumber(spent) + tonumber(held)
end
