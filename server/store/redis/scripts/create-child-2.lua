--[[
  createChild: carves a child out of a parent; the parent's `allocated` grows by the budget.
  Checks after the request id, in order: the parent is open, the child fits within max depth, a
  hard-capped parent gets no soft child, the parent has room for another child, and last the
  parent can afford the budget (argument errors first: they hold whatever the balances are).
  Events: wallet_created (the child), then wallet_exhausted (the parent) when the child's budget
  took a hard-capped parent's last credits.

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem                    the tree's idempotency records
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  request id
  ARGV[5]  fingerprint
  ARGV[6]  idempotency TTL, ms
  ARGV[7]  parent id
  ARGV[8]  name
  ARGV[9]  budget, 0..2^53-1
  ARGV[10] hard cap: "1", "0", or "" to inherit the parent's
  ARGV[11] metadata, JSON
  ARGV[12] max depth (root = 1)
  ARGV[13] the limit on a wallet's children
  ARGV[14] alert thresholds, comma-separated, ascending ("50,80,100")

  Returns  {0, wallet JSON} (a replay: the child as it is now), or {16} WORK_PENDING: the
           tree's pending work took the batch; call again
  Errors   {1, parent id} WALLET_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED,
           {5, parent id} WALLET_CLOSED, {8, max depth} DEPTH_EXCEEDED, {9} SOFT_CHILD_OF_HARD,
           {14, parent id, limit} TOO_MANY_CHILDREN,
           {4, parent id, requested, available} INSUFFICIENT_CREDITS
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"
--- @include "lines"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local parent_id, name, budget_text, hard_arg, meta = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
local max_depth = tonumber(ARGV[12])
local budget = tonumber(budget_text)
events_setup(project, now_ms, ARGV[3])

local parent, reply = open_wallet(project, parent_id, now_ms)
if not parent then
  return reply
end
local record = find_record(request_id, now_ms, fingerprint)
if record == false then
  return refuse(E_IDEMPOTENCY_KEY_REUSED)
end
if record then
  return {OK, wallet_json(record.wallet)}
end
if parent.status ~= "open" then
  return refuse(E_WALLET_CLOSED, parent_id)
end
if parent.depth + 1 > max_depth then
  return refuse(E_DEPTH_EXCEEDED, fmt(max_depth))
end
local hard = hard_arg == "" and parent.hard or hard_arg
-- A soft child could overspend and so break the cap of its hard-capped ancestors.
if parent.hard == "1" and hard ~= "1" then
  return refuse(E_SOFT_CHILD_OF_HARD)
end
-- Closed children count too: they stay listed, and the limit bounds what a listing must carry.
if redis.call("LLEN", key_children(parent_id)) >= tonumber(ARGV[13]) then
  return refuse(E_TOO_MANY_CHILDREN, parent_id, ARGV[13])
end
local parent_available = available(parent)
if parent_available < budget then
  return refuse(E_INSUFFICIENT_CREDITS, parent_id, budget_text, fmt(parent_available))
end

local id = next_id("w")
local path = parent.path == "" and parent_id or (parent.path .. " " .. parent_id)
incr(parent, "allocated", budget)
create_wallet(id, parent_id, path, parent.depth + 1, name, budget_text, hard, meta, now_ms,
  ARGV[14])
sync_live(parent)
redis.call("RPUSH", key_children(parent_id), id)
events_flush()
remember(request_id, {wallet = id}, now_ms, fingerprint, ttl_ms)
return {OK, wallet_json(id)}
