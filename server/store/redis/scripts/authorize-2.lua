--[[
  authorize: reserves credits as a hold that expires at nowMs + TTL. `held` grows; no line is
  written (nothing is charged yet). Events: hold_placed, then wallet_exhausted when it drained a
  hard-capped wallet. Same cap rules as spend, and its names (the service, and the
  agent: metadata.agent or the wallet's name) must fit the tree's breakdown limit now, so that
  its capture can always post them.

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem                    the tree's idempotency records
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  request id
  ARGV[5]  fingerprint
  ARGV[6]  idempotency TTL, ms
  ARGV[7]  wallet id
  ARGV[8]  amount, 1..2^53-1
  ARGV[9]  service
  ARGV[10] metadata, JSON
  ARGV[11] hold TTL, ms
  ARGV[12] the tree's limit on open holds
  ARGV[13] the tree's limit on distinct service (and agent) names
  ARGV[14] agent: metadata.agent; absent when the metadata has none (the wallet's name then)

  Returns  {0, hold JSON, remaining, earliest} (a replay: the hold as it is now, the first
           remaining); earliest is "1" when the hold is open and due before every other open hold
           of the tree (the store then puts the tree on the sweeper's schedule), else "0".
           Or {16} WORK_PENDING: the tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED,
           {5, wallet id} WALLET_CLOSED,
           {4, wallet id, requested, available} INSUFFICIENT_CREDITS (hard cap),
           {10} CREDIT_LIMIT (the tree's spent + held would pass 2^53-1),
           {13, wallet id, limit} TOO_MANY_OPEN_HOLDS,
           {15, wallet id, "service" or "agent", limit} TOO_MANY_BREAKDOWN_KEYS
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"
--- @include "lines"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local wallet_id, amount_text, service, meta = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local hold_ttl_ms, hold_limit = ARGV[11], ARGV[12]
local amount = tonumber(amount_text)
events_setup(project, now_ms, ARGV[3])

local w, reply = open_wallet(project, wallet_id, now_ms)
if not w then
  return reply
end
local record = find_record(request_id, now_ms, fingerprint)
if record == false then
  return refuse(E_IDEMPOTENCY_KEY_REUSED)
end
if record then
  return {OK, hold_json(record.hold), record.remaining, earliest(record.hold)}
end
if w.status ~= "open" then
  return refuse(E_WALLET_CLOSED, wallet_id)
end
local before = available(w)
if w.hard == "1" and before < amount then
  return refuse(E_INSUFFICIENT_CREDITS, wallet_id, amount_text, fmt(before))
end
if committed_credits(w) + amount > MAX_CREDITS then
  return refuse(E_CREDIT_LIMIT)
end
if redis.call("ZCARD", key_open_holds()) >= tonumber(hold_limit) then
  return refuse(E_TOO_MANY_OPEN_HOLDS, wallet_id, hold_limit)
end
local full = breakdown_full(service, ARGV[14] or w.name, tonumber(ARGV[13]))
if full then
  return refuse(E_TOO_MANY_BREAKDOWN_KEYS, wallet_id, full, ARGV[13])
end

local hold_id = next_id("h")
local expires = fmt(tonumber(now_ms) + tonumber(hold_ttl_ms))
redis.call("HSET", key_hold(hold_id), "wallet", wallet_id, "amount", amount_text,
  "service", service, "meta", meta, "status", "open", "captured", "0", "created", now_ms,
  "expires", expires)
index_hold(hold_id, wallet_id, expires)
redis.call("HINCRBY", KEYS[1], "held", amount_text)
incr(w, "held", amount)
emit("hold_placed", w, {o = hold_id})
-- A hard-capped wallet the hold drained: wallet_exhausted, after hold_placed.
sync_live(w)
events_flush()
local remaining = fmt(available(w))
remember(request_id, {hold = hold_id, remaining = remaining}, now_ms, fingerprint, ttl_ms)
return {OK, hold_json(hold_id), remaining, earliest(hold_id)}
