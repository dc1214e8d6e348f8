--[[
  spend-batch: several spends on one tree in one step, in order, each exactly as spend-2.lua
  would run it (its own idempotency record, refusal, line, events and alerts), with the tree
  opened and its pending work done once, and one notification for all of them. The store sends
  the spends of one tree that arrive in the same event-loop turn this way (a stream's concurrent
  operations, concurrent unary calls), so they cost one round trip and one script run.

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem                    the tree's idempotency records
  ARGV[1]  project
  ARGV[2]  nowMs: the latest of the spends' clocks, for the tree's pending work
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  idempotency TTL, ms
  ARGV[5]  the tree's limit on distinct service (and agent) names
  ARGV[6]  n, the number of spends; then 8 arguments per spend, from ARGV[7]:
           request id, fingerprint, wallet id, amount, service, metadata JSON, agent ("-" when
           the metadata has none, else "+" and metadata.agent), and the spend's own nowMs (its
           idempotency expiry and its line's time, as if alone)

  Returns  {0, reply...}: one reply per spend, in order, each what spend-2.lua answers
           ({0, line, remaining} or {code, detail...}),
           or {1, wallet id} WALLET_NOT_FOUND for all of them (the tree is missing or another
           project's; the id is the first spend's), or {16} WORK_PENDING: call again
]]
--- @include "errors"
--- @include "access"
--- @include "spend"

local project, now_ms, ttl_ms, key_limit = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local n = tonumber(ARGV[6])
local refused = open_for_spends(project, now_ms, ARGV[3], ARGV[9])
if refused then
  return refused
end
local reply = {OK}
for i = 0, n - 1 do
  local at = 7 + i * 8
  local agent = ARGV[at + 6]
  reply[#reply + 1] = spend_one(ARGV[at + 7], ttl_ms, {
    request_id = ARGV[at], fingerprint = ARGV[at + 1], wallet_id = ARGV[at + 2],
    amount = ARGV[at + 3], service = ARGV[at + 4], meta = ARGV[at + 5], key_limit = key_limit,
    agent = agent ~= "-" and string.sub(agent, 2) or nil,
  })
end
events_flush()
return reply
