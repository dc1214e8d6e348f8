--[[
  The first step of every tree script: find the tree in the caller's project, work off the tree's
  pending work, then find the wallet or hold. Anything missing, or in another project, is "not
  found" alike (and does no work), so a caller learns nothing about other projects' trees.

  Pending work is a close under way, then the holds due at now_ms (a close logically happened
  before anything after it, so it finishes first and its holds are voided, not expired). An
  operation's script does at most WORK_SLICE units of it; when some is left it answers
  WORK_PENDING before touching anything else, and the store works the rest off in batches of
  WORK_BATCH (sweep-1.lua) before calling it again. So no script's work grows with what one
  tenant piled up, and no caller ever sees a due hold as held or a half-closed subtree.

  Pending work appends its events (expire; a close's void and wallet_closed) and flushes them
  (PUBLISH) before the script goes on, so a script that then refuses keeps them: the work was
  done, only the refused call appends nothing. Every script calls events_setup before this.
]]
--- @include "errors"
--- @include "keys"
--- @include "holds"
--- @include "close"
--- @include "tree-format"

-- Works off up to `budget` units of the tree's pending work; true when none is left.
-- `tree` is the HMGET of KEYS[1]'s project, close_at, close_request (TREE_FIELDS).
local function work_off(tree, now_ms, budget)
  local done = false
  if tree[2] then
    budget = continue_close(budget, tree[3], tree[2])
  end
  if budget > 0 then
    done = expire_due_holds(now_ms, budget)
  end
  events_flush()
  return done
end

-- What every script reads of P{R}:tree first: the owner and a close under way (work_off), the
-- event clock and chain head (events_seen), and its layout (tree-format.lua), in one command.
local TREE_FIELDS = {
  "project", "close_at", "close_request", "ems", "lhash", "fmt", "lid",
}

-- The tree's fields (TREE_FIELDS), noted for the event log.
local function read_tree()
  local tree = redis.call("HMGET", KEYS[1], unpack(TREE_FIELDS))
  events_seen(tree[4], tree[5], tree[7])
  TREE.legacy = tree[6] ~= "2"
  return tree
end

-- "missing" when the tree does not exist or is another project's, "pending" when its pending
-- work is not done yet, "open" when the script may go on.
local function open_tree(project, now_ms)
  local tree = read_tree()
  if tree[1] ~= project then
    return "missing"
  end
  return work_off(tree, now_ms, WORK_SLICE) and "open" or "pending"
end

-- The wallet (nil when missing or not the project's), or the string "pending".
local function find_wallet(project, wallet_id, now_ms)
  local state = open_tree(project, now_ms)
  if state ~= "open" then
    return state == "pending" and state or nil
  end
  return load_wallet(wallet_id)
end

-- The hold (nil when missing or not the project's), or the string "pending".
local function find_hold(project, hold_id, now_ms)
  local state = open_tree(project, now_ms)
  if state ~= "open" then
    return state == "pending" and state or nil
  end
  return load_hold(hold_id)
end

-- The wallet, or nil and the reply to answer instead: WORK_PENDING while the tree has pending
-- work left, WALLET_NOT_FOUND (naming the id asked for) when it is missing or not the project's.
local function open_wallet(project, wallet_id, now_ms)
  local w = find_wallet(project, wallet_id, now_ms)
  if w == "pending" then
    return nil, {WORK_PENDING}
  end
  if not w then
    return nil, refuse(E_WALLET_NOT_FOUND, wallet_id)
  end
  return w
end

-- The hold, or nil and the reply to answer instead (WORK_PENDING or HOLD_NOT_FOUND).
local function open_hold(project, hold_id, now_ms)
  local h = find_hold(project, hold_id, now_ms)
  if h == "pending" then
    return nil, {WORK_PENDING}
  end
  if not h then
    return nil, refuse(E_HOLD_NOT_FOUND, hold_id)
  end
  return h
end
