--[[
  claimDue: takes up to `count` trees whose pending work is due off the sweeper's schedule by
  moving their score to `claimed` (past any hold's expiry), so two sweepers never work the same
  tree at once and a sweeper that dies leaves the entry to be claimed again later. A tree that
  gets a new hold meanwhile lowers the score again (ZADD LT), which settle-due-1.lua respects.

  KEYS[1]  P{sweep}:due                 the schedule
  ARGV[1]  nowMs
  ARGV[2]  claimed: the score a claimed entry takes, decimal ms
  ARGV[3]  count, >= 1

  Returns  {0, root id...}
  Errors   none
]]

local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, tonumber(ARGV[3]))
for _, root_id in ipairs(due) do
  redis.call("ZADD", KEYS[1], "XX", ARGV[2], root_id)
end
return {0, unpack(due)}
