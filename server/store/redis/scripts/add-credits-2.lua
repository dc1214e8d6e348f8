--[[
  addCredits: grows a wallet's budget. A root is topped up from outside (a REFILL line, counted
  in the refill aggregates) and its budget must stay <= 2^53-1; a child draws from its parent,
  whose `allocated` grows (an ALLOCATION line, which no receipt figure counts).

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem:<request id>       the request's idempotency record
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  request id
  ARGV[4]  fingerprint
  ARGV[5]  idempotency TTL, ms
  ARGV[6]  wallet id
  ARGV[7]  amount, 1..2^53-1
  ARGV[8]  metadata, JSON (of the line)

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

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local wallet_id, amount_text, meta = ARGV[6], ARGV[7], ARGV[8]
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
  post_line(w, "refill", amount, "", meta, false, "", request_id, now_ms)
  count_credits(w, "refill", amount)
else
  -- An open wallet's parent is open: closing cascades down.
  local parent = load_wallet(w.parent)
  local parent_available = available(parent)
  if parent_available < amount then
    return refuse(E_INSUFFICIENT_CREDITS, w.parent, amount_text, fmt(parent_available))
  end
  incr(parent, "allocated", amount)
  sync_live(parent)
  incr(w, "budget", amount)
  post_line(w, "allocation", amount, "", meta, false, "", request_id, now_ms)
end
sync_live(w)
remember({wallet = wallet_id}, now_ms, fingerprint, ttl_ms)
return {OK, wallet_json(wallet_id)}
