--[[
  spend: debits a wallet. Writes a SPEND line and updates `spent`, the receipts of the wallet
  and every ancestor and the exhaustion counts, and appends its events (spend, then its alerts:
  soft_cap_exceeded or wallet_exhausted, then threshold_crossed up the path), in one atomic step.

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
  ARGV[11] the tree's limit on distinct service (and agent) names
  ARGV[12] agent: metadata.agent; absent when the metadata has none, and then the wallet's name
           stands for it (attribution by role)

  Returns  {0, line JSON, remaining} (a replay: the first outcome's line and remaining),
           or {16} WORK_PENDING: the tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED,
           {5, wallet id} WALLET_CLOSED,
           {4, wallet id, requested, available} INSUFFICIENT_CREDITS (hard cap),
           {10} CREDIT_LIMIT (the tree's spent + held would pass 2^53-1),
           {15, wallet id, "service" or "agent", limit} TOO_MANY_BREAKDOWN_KEYS
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local wallet_id, amount_text, service, meta = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local key_limit = tonumber(ARGV[11])
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
  return {OK, redis.call("HGET", key_lines(), record.line), record.remaining}
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
local agent = ARGV[12] or w.name
local full = breakdown_full(service, agent, key_limit)
if full then
  return refuse(E_TOO_MANY_BREAKDOWN_KEYS, wallet_id, full, ARGV[11])
end

incr(w, "spent", amount)
local remaining = available(w)
local over_budget = remaining < 0
local totals = count_debit(w, amount, service, agent, over_budget)
local line, line_id =
  post_line(w, "spend", amount, service, meta, over_budget, "", request_id, now_ms)
sync_live(w)
debit_alerts(w, over_budget, totals)
events_flush()
remember(request_id, {line = line_id, remaining = fmt(remaining)}, now_ms, fingerprint, ttl_ms)
return {OK, line, fmt(remaining)}
