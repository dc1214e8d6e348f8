--[[
  One spend on a tree this script has opened (open_tree: found in the caller's project, its
  pending work done): the body of spend-2.lua, and of each operation of spend-batch-2.lua. It
  refuses before any write, and appends the spend's events; the caller flushes them
  (events_flush) once, however many spends it ran.

  `op`: request_id, fingerprint, wallet_id, amount (decimal text, 1..2^53-1), service, meta
  (JSON), key_limit (decimal text: the tree's limit on distinct service and agent names), agent
  (metadata.agent; nil when the metadata has none, and then the wallet's name stands for it).
  Returns the reply spend-2.lua documents.
]]
--- @include "errors"
--- @include "access"
--- @include "wallet"
--- @include "lines"
--- @include "idempotency"
--- @include "line-reads"

-- Starts a script of spends on KEYS[1]'s tree (events_setup, open_tree): nil when they may run,
-- else the one reply for all of them, WORK_PENDING or WALLET_NOT_FOUND naming `wallet_id` (the
-- tree is missing or another project's).
local function open_for_spends(project, now_ms, retention, wallet_id)
  events_setup(project, now_ms, retention)
  local state = open_tree(project, now_ms)
  if state == "pending" then
    return {WORK_PENDING}
  end
  if state == "missing" then
    return refuse(E_WALLET_NOT_FOUND, wallet_id)
  end
  return nil
end

local function spend_one(now_ms, ttl_ms, op)
  local wallet_id, amount_text, service = op.wallet_id, op.amount, op.service
  local amount = tonumber(amount_text)
  local w = load_wallet(wallet_id)
  if not w then
    return refuse(E_WALLET_NOT_FOUND, wallet_id)
  end
  local record = find_record(op.request_id, now_ms, op.fingerprint)
  if record == false then
    return refuse(E_IDEMPOTENCY_KEY_REUSED)
  end
  if record then
    local line, prev = line_with_prev(record.line)
    return {OK, line, prev, record.remaining}
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
  local agent = op.agent or w.name
  local full = breakdown_full(service, agent, tonumber(op.key_limit))
  if full then
    return refuse(E_TOO_MANY_BREAKDOWN_KEYS, wallet_id, full, op.key_limit)
  end

  incr(w, "spent", amount)
  local remaining = available(w)
  local over_budget = remaining < 0
  local totals = count_debit(w, amount, service, agent, over_budget)
  local line, prev, line_id =
    post_line(w, "spend", amount, service, op.meta, over_budget, "", op.request_id, now_ms)
  sync_live(w)
  debit_alerts(w, over_budget, totals)
  remember(op.request_id, {line = line_id, remaining = fmt(remaining)}, now_ms, op.fingerprint,
    ttl_ms)
  return {OK, line, prev, fmt(remaining)}
end
