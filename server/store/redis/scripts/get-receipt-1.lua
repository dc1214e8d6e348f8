--[[
  getReceipt: a wallet's subtree receipt, read from the aggregates every line maintains (never
  from the lines): the top RECEIPT_BREAKDOWN_TOP names of each breakdown (the rest sum into an
  "other" row the store derives from the totals) and the first RECEIPT_CHILDREN_MAX children, so
  the script's work is bounded however wide the tree is; the rest page in full through
  list-breakdown-1.lua and list-child-receipts-1.lua.

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  wallet id

  Returns  {0, receipt JSON}: {wallet, calls, own_calls, refill_credits, refill_count,
           voided_credits, voided_count, over_budget_count, by_service, by_agent,
           service_keys, agent_keys, children, child_count}; by_service/by_agent are rows
           {key, credits, calls}, most credits first, ties by key; children are {wallet, calls}
           in creation order. Empty lists encode as {}.
           Or {16} WORK_PENDING: the tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND
]]
--- @include "errors"
--- @include "access"
--- @include "breakdown"

local wallet_id = ARGV[4]
events_setup(ARGV[1], ARGV[2], ARGV[3])
local w, reply = open_wallet(ARGV[1], wallet_id, ARGV[2])
if not w then
  return reply
end
local figures = redis.call("HMGET", key_wallet(wallet_id), "calls", "own_calls", "refill_credits",
  "refill_count", "voided_credits", "voided_count", "over_budget_count")
local children_key = key_children(wallet_id)
local children = {}
for _, child_id in ipairs(redis.call("LRANGE", children_key, 0, RECEIPT_CHILDREN_MAX - 1)) do
  children[#children + 1] = child_summary(child_id)
end
return {OK, cjson.encode({
  wallet = wallet_view(w),
  calls = figures[1], own_calls = figures[2], refill_credits = figures[3],
  refill_count = figures[4], voided_credits = figures[5], voided_count = figures[6],
  over_budget_count = figures[7],
  by_service = breakdown_rows("service", wallet_id, 0, RECEIPT_BREAKDOWN_TOP),
  by_agent = breakdown_rows("agent", wallet_id, 0, RECEIPT_BREAKDOWN_TOP),
  service_keys = fmt(redis.call("ZCARD", key_by_service(wallet_id))),
  agent_keys = fmt(redis.call("ZCARD", key_by_agent(wallet_id))),
  children = children,
  child_count = fmt(redis.call("LLEN", children_key)),
})}
