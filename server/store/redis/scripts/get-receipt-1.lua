--[[
  getReceipt: a wallet's subtree receipt, read from the aggregates every line maintains (never
  from the lines), with a summary per direct child.

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  wallet id

  Returns  {0, receipt JSON}: {wallet, calls, own_calls, refill_credits, refill_count,
           voided_credits, voided_count, over_budget_count, by_service, by_agent, children};
           by_service/by_agent are HGETALL pairs ("c:<key>" credits, "n:<key>" calls), children
           are {wallet, calls}. Empty lists encode as {}.
  Errors   {1, wallet id} WALLET_NOT_FOUND
]]
--- @include "errors"
--- @include "access"

local wallet_id = ARGV[3]
local w = find_wallet(ARGV[1], wallet_id, ARGV[2])
if not w then
  return refuse(E_WALLET_NOT_FOUND, wallet_id)
end
local figures = redis.call("HMGET", key_wallet(wallet_id), "calls", "own_calls", "refill_credits",
  "refill_count", "voided_credits", "voided_count", "over_budget_count")
local children = {}
for _, child_id in ipairs(redis.call("LRANGE", key_children(wallet_id), 0, -1)) do
  children[#children + 1] = {
    wallet = wallet_view(load_wallet(child_id)),
    calls = redis.call("HGET", key_wallet(child_id), "calls"),
  }
end
return {OK, cjson.encode({
  wallet = wallet_view(w),
  calls = figures[1], own_calls = figures[2], refill_credits = figures[3],
  refill_count = figures[4], voided_credits = figures[5], voided_count = figures[6],
  over_budget_count = figures[7],
  by_service = redis.call("HGETALL", key_by_service(wallet_id)),
  by_agent = redis.call("HGETALL", key_by_agent(wallet_id)),
  children = children,
})}
