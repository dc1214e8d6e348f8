--[[
  listBreakdown: one page of a wallet's breakdown by service or by agent, in the receipt's order
  (most credits first, ties by name). The cursor is a rank: a page read while the tree spends
  reflects the ranking at that moment.

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  wallet id
  ARGV[5]  "service" or "agent"
  ARGV[6]  cursor: rank of the first row
  ARGV[7]  page size, >= 1

  Returns  {0, next cursor or "" on the last page, rows JSON}: rows as {key, credits, calls}.
           Or {16} WORK_PENDING: the tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND
]]
--- @include "errors"
--- @include "access"
--- @include "breakdown"

local wallet_id, dimension = ARGV[4], ARGV[5]
local cursor, page_size = tonumber(ARGV[6]), tonumber(ARGV[7])
events_setup(ARGV[1], ARGV[2], ARGV[3])
local w, reply = open_wallet(ARGV[1], wallet_id, ARGV[2])
if not w then
  return reply
end
local ranked = dimension == "service" and key_by_service(wallet_id) or key_by_agent(wallet_id)
local stop = cursor + page_size
local rows = breakdown_rows(dimension, wallet_id, cursor, page_size)
return {OK, stop < redis.call("ZCARD", ranked) and fmt(stop) or "", cjson.encode(rows)}
