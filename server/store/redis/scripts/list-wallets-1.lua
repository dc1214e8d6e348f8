--[[
  listWallets: one page of a wallet's children, in creation order.

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  parent id
  ARGV[5]  cursor: offset of the first child
  ARGV[6]  page size, >= 1

  Returns  {0, next cursor or "" on the last page, wallet JSON...}, or {16} WORK_PENDING: the
           tree's pending work took the batch; call again
  Errors   {1, parent id} WALLET_NOT_FOUND
]]
--- @include "errors"
--- @include "access"

local parent_id, cursor, page_size = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
events_setup(ARGV[1], ARGV[2], ARGV[3])
local w, reply = open_wallet(ARGV[1], parent_id, ARGV[2])
if not w then
  return reply
end
local key = key_children(parent_id)
local stop = cursor + page_size
local reply = {OK, stop < redis.call("LLEN", key) and fmt(stop) or ""}
for _, id in ipairs(redis.call("LRANGE", key, cursor, stop - 1)) do
  reply[#reply + 1] = wallet_json(id)
end
return reply
