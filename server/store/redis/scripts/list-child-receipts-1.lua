--[[
  listChildReceipts: one page of a wallet's direct children as its receipt summarises them, in
  creation order.

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  wallet id
  ARGV[5]  cursor: offset of the first child
  ARGV[6]  page size, >= 1

  Returns  {0, next cursor or "" on the last page, children JSON}: {wallet, calls} each.
           Or {16} WORK_PENDING: the tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND
]]
--- @include "errors"
--- @include "access"
--- @include "breakdown"

local wallet_id, cursor, page_size = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
events_setup(ARGV[1], ARGV[2], ARGV[3])
local w, reply = open_wallet(ARGV[1], wallet_id, ARGV[2])
if not w then
  return reply
end
local key = key_children(wallet_id)
local stop = cursor + page_size
local children = {}
for _, child_id in ipairs(redis.call("LRANGE", key, cursor, stop - 1)) do
  children[#children + 1] = child_summary(child_id)
end
return {OK, stop < redis.call("LLEN", key) and fmt(stop) or "", cjson.encode(children)}
