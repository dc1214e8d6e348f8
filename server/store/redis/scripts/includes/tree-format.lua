--[[
  Which layout a tree was created with: P{R}:tree `fmt` is "2" on trees created with the compact
  idempotency hash (P{R}:idem). Older trees may still hold records as P{R}:idem:<request id>
  strings, which idempotency.lua then also reads; their lines are read in either form anyway.
  read_tree (access.lua) notes it, create-root sets it.
]]

local TREE = {legacy = false}
