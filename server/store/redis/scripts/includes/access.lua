--[[
  The first step of every tree script: expire the tree's due holds, then find the wallet or hold
  in the caller's project. Anything missing, or in another project, is "not found" alike, so a
  caller learns nothing about other projects' trees.
]]
--- @include "keys"
--- @include "holds"

-- Expires due holds; returns true when the tree exists and belongs to `project`.
local function open_tree(project, now_ms)
  local owner = redis.call("HGET", KEYS[1], "project")
  if not owner then
    return false
  end
  expire_due_holds(now_ms)
  return owner == project
end

-- The wallet, or nil when the tree, the wallet or the project does not match.
local function find_wallet(project, wallet_id, now_ms)
  if not open_tree(project, now_ms) then
    return nil
  end
  return load_wallet(wallet_id)
end

-- The hold, or nil when the tree, the hold or the project does not match.
local function find_hold(project, hold_id, now_ms)
  if not open_tree(project, now_ms) then
    return nil
  end
  return load_hold(hold_id)
end
