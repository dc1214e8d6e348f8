--[[
  authorize: reserves credits as a hold that expires at nowMs + TTL. `held` grows; no line is
  written (nothing is charged yet). Same cap rules as spend, and its names (the service, and the
  agent: metadata.agent or the wallet's name) must fit the tree's breakdown limit now, so that
  its capture can always post them.

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem:<request id>       the request's idempotency record
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  request id
  ARGV[4]  fingerprint
  ARGV[5]  idempotency TTL, ms
  ARGV[6]  wallet id
  ARGV[7]  amount, 1..2^53-1
  ARGV[8]  service
  ARGV[9]  metadata, JSON
  ARGV[10] hold TTL, ms
  ARGV[11] the tree's limit on open holds
  ARGV[12] the tree's limit on distinct service (and agent) names
  ARGV[13] agent: metadata.agent; absent when the metadata has none (the wallet's name then)

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

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local wallet_id, amount_text, service, meta = ARGV[6], ARGV[7], ARGV[8], ARGV[9]
local hold_ttl_ms, hold_limit = ARGV[10], ARGV[11]
local amount = tonumber(amount_text)

local w, reply = open_wallet(project, wallet_id, now_ms)
if not w then
  return reply
end
local record = find_record(now_ms, fingerprint)
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
if committed_credits() + amount > MAX_CREDITS then
  return refuse(E_CREDIT_LIMIT)
end
if redis.call("ZCARD", key_open_holds()) >= tonumber(hold_limit) then
  return refuse(E_TOO_MANY_OPEN_HOLDS, wallet_id, hold_limit)
end
local full = breakdown_full(service, ARGV[13] or w.name, tonumber(ARGV[12]))
if full then
  return refuse(E_TOO_MANY_BREAKDOWN_KEYS, wallet_id, full, ARGV[12])
end

local hold_id = next_id("h")
local expires = fmt(tonumber(now_ms) + tonumber(hold_ttl_ms))
redis.call("HSET", key_hold(hold_id), "wallet", wallet_id, "amount", amount_text,
  "service", service, "meta", meta, "status", "open", "captured", "0", "created", now_ms,
  "expires", expires)
index_hold(hold_id, wallet_id, expires)
redis.call("HINCRBY", KEYS[1], "held", amount_text)
incr(w, "held", amount)
sync_live(w)
local remaining = fmt(available(w))
remember({hold = hold_id, remaining = remaining}, now_ms, fingerprint, ttl_ms)
return {OK, hold_json(hold_id), remaining, earliest(hold_id)}
