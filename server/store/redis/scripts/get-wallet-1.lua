--[[
  getWallet: reads one wallet (after expiring the tree's due holds, as every access does).

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  wallet id

  Returns  {0, wallet JSON}, or {16} WORK_PENDING: the tree's pending work took the batch
  Errors   {1, wallet id} WALLET_NOT_FOUND
]]
--- @include "errors"
--- @include "access"

local wallet_id = ARGV[4]
events_setup(ARGV[1], ARGV[2], ARGV[3])
local w, reply = open_wallet(ARGV[1], wallet_id, ARGV[2])
if not w then
  return reply
end
return {OK, cjson.encode(wallet_view(w))}
