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

  Returns  {0, line, the hash it links to, remaining} (a replay: the first outcome's),
           or {16} WORK_PENDING: the tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED,
           {5, wallet id} WALLET_CLOSED,
           {4, wallet id, requested, available} INSUFFICIENT_CREDITS (hard cap),
           {10} CREDIT_LIMIT (the tree's spent + held would pass 2^53-1),
           {15, wallet id, "service" or "agent", limit} TOO_MANY_BREAKDOWN_KEYS
]]
--- @include "errors"
--- @include "access"
--- @include "spend"

local project, now_ms = ARGV[1], ARGV[2]
local refused = open_for_spends(project, now_ms, ARGV[3], ARGV[7])
if refused then
  return refused
end
local reply = spend_one(now_ms, ARGV[6], {
  request_id = ARGV[4], fingerprint = ARGV[5], wallet_id = ARGV[7], amount = ARGV[8],
  service = ARGV[9], meta = ARGV[10], key_limit = ARGV[11], agent = ARGV[12],
})
events_flush()
return reply
