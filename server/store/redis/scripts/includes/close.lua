--[[
  A close under way. Closing a wallet closes its open subtree children before parents (each
  wallet after all its children, siblings in creation order), voiding each one's open holds in
  creation order before it closes; its parent then takes back its remainder (`allocated` drops by
  its budget, `settled` grows by its consumption, spent + settled, final since its children
  closed first). A wide subtree is more than one script may do, so the walk is a stack in
  P{R}:closing ("<next child index> <wallet id>" entries) that every script on the tree works
  off in bounded batches before anything else (see access.lua): nobody sees a half-closed tree,
  and the outcome is that of one atomic close. The close's request id and time, which its VOID
  lines carry, are on the tree: close_request, close_at.
]]
--- @include "keys"
--- @include "numbers"
--- @include "wallet"
--- @include "holds"

-- Puts `wallet_id` on the stack: the tree now has a close under way.
local function begin_close(wallet_id, request_id, now_ms)
  redis.call("HSET", KEYS[1], "close_at", now_ms, "close_request", request_id)
  redis.call("RPUSH", key_closing(), "0 " .. wallet_id)
end

-- Marks one wallet closed (its children are closed, its holds voided: their void events came
-- first), appends its wallet_closed, and settles its parent.
local function close_one(id)
  local x = load_wallet(id)
  redis.call("HSET", key_wallet(id), "status", "closed")
  x.status = "closed"
  sync_live(x)
  emit("wallet_closed", x)
  if x.parent ~= "" then
    local parent = load_wallet(x.parent)
    incr(parent, "allocated", -x.budget)
    incr(parent, "settled", x.spent + x.settled)
    sync_live(parent)
  end
end

-- Works the stack for at most `budget` units (a child looked at, a hold voided, a wallet closed).
-- Returns the budget left; the stack is empty (and the close done) when that is above 0.
local function continue_close(budget, request_id, at_ms)
  local stack = key_closing()
  while budget > 0 do
    local top = redis.call("LINDEX", stack, -1)
    if not top then
      redis.call("HDEL", KEYS[1], "close_at", "close_request")
      return budget
    end
    budget = budget - 1
    local cursor, id = string.match(top, "^(%d+) (.+)$")
    local child_id = redis.call("LINDEX", key_children(id), cursor)
    if child_id then
      redis.call("LSET", stack, -1, fmt(tonumber(cursor) + 1) .. " " .. id)
      -- A closed child's subtree is closed already: closing cascades down.
      if redis.call("HGET", key_wallet(child_id), "status") == "open" then
        redis.call("RPUSH", stack, "0 " .. child_id)
      end
    else
      local holds = redis.call("ZRANGE", key_wallet_holds(id), 0, budget)
      local voiding = math.min(#holds, budget)
      for i = 1, voiding do
        release_hold(load_hold(holds[i]), "void", request_id, at_ms)
      end
      budget = budget - voiding
      if #holds == voiding then
        close_one(id)
        redis.call("RPOP", stack)
      end
    end
  end
  return 0
end
