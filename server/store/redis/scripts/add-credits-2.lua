--[[
  addCredits: grows a wallet's budget. A root is topped up from outside (a REFILL line, counted
  in the refill aggregates) and its budget must stay <= 2^53-1; a child draws from its parent,
  whose `allocated` grows (an ALLOCATION line, which no receipt figure counts). Events: the
  line's, then wallet_exhausted when an allocation drained a hard-capped parent; the wallet's
  thresholds and soft cap alert re-arm silently.

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
  ARGV[9]  metadata, JSON (of the line)

  Returns  {0, wallet JSON} (a replay: the wallet as it is now), or {16} WORK_PENDING: the
           tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED,
           {5, wallet id} WALLET_CLOSED, {10} CREDIT_LIMIT (a root's budget would pass 2^53-1),
           {4, parent id, requested, available} INSUFFICIENT_CREDITS (a child's parent)
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"
--- @include "lines"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local wallet_id, amount_text, meta = ARGV[7], ARGV[8], ARGV[9]
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
  return {OK, wallet_json(wallet_id)}
end
if w.status ~= "open" then
  return refuse(E_WALLET_CLOSED, wallet_id)
end

if w.parent == "" then
  if w.budget + amount > MAX_CREDITS then
    return refuse(E_CREDIT_LIMIT)
  end
  incr(w, "budget", amount)
  count_credits(w, "refill", amount)
  post_line(w, "refill", amount, "", meta, false, "", request_id, now_ms)
else
  -- An open wallet's parent is open: closing cascades down.
  local parent = load_wallet(w.parent)
  local parent_available = available(parent)
  if parent_available < amount then
    return refuse(E_INSUFFICIENT_CREDITS, w.parent, amount_text, fmt(parent_available))
  end
  incr(parent, "allocated", amount)
  incr(w, "budget", amount)
  post_line(w, "allocation", amount, "", meta, false, "", request_id, now_ms)
  -- After the allocation event: wallet_exhausted when the parent gave its last credits.
  sync_live(parent)
end
sync_live(w)
rearm_alerts(w)
events_flush()
remember(request_id, {wallet = wallet_id}, now_ms, fingerprint, ttl_ms)
return {OK, wallet_json(wallet_id)}
