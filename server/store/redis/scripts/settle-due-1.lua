--[[
  settleDue: puts a claimed tree back on the sweeper's schedule at its next due time, or takes it
  off when it has none. If its score moved since the claim, a new hold lowered it: keep the
  earlier of the two.

  KEYS[1]  P{sweep}:due                 the schedule
  ARGV[1]  root id
  ARGV[2]  claimed: the score the claim gave it
  ARGV[3]  next due, decimal ms, or "" for none

  Returns  {0}
  Errors   none
]]

local root_id, claimed, due = ARGV[1], ARGV[2], ARGV[3]
local score = redis.call("ZSCORE", KEYS[1], root_id)
if score and tonumber(score) == tonumber(claimed) then
  if due == "" then
    redis.call("ZREM", KEYS[1], root_id)
  else
    redis.call("ZADD", KEYS[1], due, root_id)
  end
elseif due ~= "" then
  redis.call("ZADD", KEYS[1], "LT", due, root_id)
end
return {0}
