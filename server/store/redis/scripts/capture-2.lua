--[[
  capture: posts `amount` (<= the hold) and releases the rest of an open hold. `held` drops by
  the hold's amount, `spent` grows by `amount`; a CAPTURE line with the hold's service and the
  hold's metadata overlaid by the capture's; its events are capture then the alerts of a debit
  (as spend). No 2^53 check: the hold's credits were counted in
  the tree's spent + held bound when it was placed, and the capture is at most that.

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem                    the tree's idempotency records
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  request id
  ARGV[5]  fingerprint
  ARGV[6]  idempotency TTL, ms
  ARGV[7]  hold id
  ARGV[8]  amount, 1..2^53-1
  ARGV[9]  metadata, JSON
  ARGV[10] the tree's limit on distinct service (and agent) names

  Returns  {0, line, the hash it links to, hold JSON, remaining} (a replay: the first line and remaining, the
           hold as it is now), or {16} WORK_PENDING: the tree's pending work took the batch
  Errors   {2, hold id} HOLD_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED, {6, hold id} HOLD_EXPIRED,
           {7, hold id} HOLD_ALREADY_RESOLVED, {11, hold amount} CAPTURE_EXCEEDS_HOLD,
           {12} MERGED_METADATA_TOO_LARGE (the line's metadata would pass 16 keys),
           {15, wallet id, "agent", limit} TOO_MANY_BREAKDOWN_KEYS: the capture's metadata
           names an agent other than the hold's (its metadata's `agent`, else its wallet's
           name) that is new to the tree and past the limit. The hold's own names were checked
           when it was placed, so a capture can always post them
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"
--- @include "line-reads"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local hold_id, amount_text, meta = ARGV[7], ARGV[8], ARGV[9]
local amount = tonumber(amount_text)
events_setup(project, now_ms, ARGV[3])

local h, reply = open_hold(project, hold_id, now_ms)
if not h then
  return reply
end
local record = find_record(request_id, now_ms, fingerprint)
if record == false then
  return refuse(E_IDEMPOTENCY_KEY_REUSED)
end
if record then
  local line, prev = line_with_prev(record.line)
  return {OK, line, prev, hold_json(hold_id), record.remaining}
end
-- The hold's state before the amount: a hold that is gone cannot be captured for any amount.
if h.status == "expired" then
  return refuse(E_HOLD_EXPIRED, hold_id)
end
if h.status ~= "open" then
  return refuse(E_HOLD_ALREADY_RESOLVED, hold_id)
end
if amount > h.amount then
  return refuse(E_CAPTURE_EXCEEDS_HOLD, fmt(h.amount))
end

-- Metadata values are strings, so the cjson round trip is exact (but for a lone surrogate, which
-- becomes U+FFFD as in any UTF-8 encoding of it: see decode_meta).
local merged = decode_meta(h.meta)
for key, value in pairs(decode_meta(meta)) do
  merged[key] = value
end
-- The same per-line key limit as validation, checked before any write.
local merged_keys = 0
for _ in pairs(merged) do
  merged_keys = merged_keys + 1
end
if merged_keys > METADATA_MAX_KEYS then
  return refuse(E_MERGED_METADATA_TOO_LARGE)
end
local wallet_name = redis.call("HGET", key_wallet(h.wallet), "name")
local agent = merged.agent or wallet_name
local hold_agent = decode_meta(h.meta).agent or wallet_name
if agent ~= hold_agent and name_full(key_by_agent(ROOT_ID), agent, tonumber(ARGV[10])) then
  return refuse(E_TOO_MANY_BREAKDOWN_KEYS, h.wallet, "agent", ARGV[10])
end
local w = unhold(h, "captured")
redis.call("HSET", key_hold(hold_id), "captured", amount_text)
incr(w, "spent", amount)
local remaining = available(w)
local over_budget = remaining < 0
local totals = count_debit(w, amount, h.service, agent, over_budget)
local line, prev, line_id = post_line(w, "capture", amount, h.service, cjson.encode(merged),
  over_budget, hold_id, request_id, now_ms)
sync_live(w)
debit_alerts(w, over_budget, totals)
events_flush()
remember(request_id, {line = line_id, remaining = fmt(remaining)}, now_ms, fingerprint, ttl_ms)
return {OK, line, prev, hold_json(hold_id), fmt(remaining)}
