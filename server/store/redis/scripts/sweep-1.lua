--[[
  sweep: one batch (WORK_BATCH units) of a tree's pending work (a close under way, then the holds
  due at nowMs): the background sweeper's step, so an idle tree's holds expire on time and a close
  left half done by a caller that went away is finished, and what an operation runs between its
  own WORK_PENDING answers. Appends the work's events (expire; a close's void and wallet_closed)
  and announces them on the tree's project's channel. No project check: only the store calls it,
  for a tree it already opened for the caller (or found on the schedule).

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  nowMs
  ARGV[2]  event retention: "<max events per tree> <max age ms>"

  Returns  {0, due}: when the tree next has pending work, decimal ms: nowMs when some is left
           now, the earliest open hold's expiry, or "" when it has none (or no longer exists)
  Errors   none
]]
--- @include "errors"
--- @include "access"

local now_ms = ARGV[1]
local tree = read_tree()
if not tree[1] then
  return {OK, ""}
end
-- The tree's own project names the channel its events are announced on.
events_setup(tree[1], now_ms, ARGV[2])
if not work_off(tree, now_ms, WORK_BATCH) then
  return {OK, now_ms}
end
return {OK, next_expiry() or ""}
