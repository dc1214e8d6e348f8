--[[
  closeWallet: closes a wallet and every open descendant, deepest level first and, within a
  level, in creation order. Each one's open holds are voided (VOID lines with this request id,
  in hold creation order), it is marked closed, and its parent takes back its remainder:
  `allocated` drops by its budget, `settled` grows by its consumption (spent + settled). Leaves
  close before their parents, so each `settled` is final when its wallet's turn comes.

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem:<request id>       the request's idempotency record
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  request id
  ARGV[4]  fingerprint
  ARGV[5]  idempotency TTL, ms
  ARGV[6]  wallet id

  Returns  {0, wallet JSON, returned}: returned = budget - consumption, 0 for a root (a replay:
           the wallet as it is now, the first returned)
  Errors   {1, wallet id} WALLET_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED, {5, wallet id} WALLET_CLOSED
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local wallet_id = ARGV[6]

local w = find_wallet(project, wallet_id, now_ms)
if not w then
  return refuse(E_WALLET_NOT_FOUND, wallet_id)
end
local record = find_record(now_ms, fingerprint)
if record == false then
  return refuse(E_IDEMPOTENCY_KEY_REUSED)
end
if record then
  return {OK, wallet_json(wallet_id), record.returned}
end
if w.status ~= "open" then
  return refuse(E_WALLET_CLOSED, wallet_id)
end

-- The open subtree. A closed wallet's descendants are all closed already, so the walk stops there.
local closing, members, next_index = {w}, {[wallet_id] = true}, 1
while next_index <= #closing do
  local x = closing[next_index]
  next_index = next_index + 1
  for _, child_id in ipairs(redis.call("LRANGE", key_children(x.id), 0, -1)) do
    local child = load_wallet(child_id)
    if child.status == "open" then
      closing[#closing + 1] = child
      members[child_id] = true
    end
  end
end
table.sort(closing, function(a, b)
  if a.depth ~= b.depth then
    return a.depth > b.depth
  end
  return seq_of(a.id) < seq_of(b.id)
end)

-- Their open holds, in creation order per wallet.
local holds_of = {}
for _, hold_id in ipairs(redis.call("ZRANGE", key_open_holds(), 0, -1)) do
  local owner = redis.call("HGET", key_hold(hold_id), "wallet")
  if members[owner] then
    holds_of[owner] = holds_of[owner] or {}
    table.insert(holds_of[owner], hold_id)
  end
end

local returned = 0
for _, entry in ipairs(closing) do
  local holds = holds_of[entry.id] or {}
  table.sort(holds, function(a, b)
    return seq_of(a) < seq_of(b)
  end)
  for _, hold_id in ipairs(holds) do
    release_hold(load_hold(hold_id), "void", request_id, now_ms)
  end
  local x = load_wallet(entry.id)
  redis.call("HSET", key_wallet(x.id), "status", "closed")
  x.status = "closed"
  sync_live(x)
  if x.parent ~= "" then
    local parent = load_wallet(x.parent)
    local consumed = x.spent + x.settled
    incr(parent, "allocated", -x.budget)
    incr(parent, "settled", consumed)
    sync_live(parent)
    if x.id == wallet_id then
      returned = x.budget - consumed
    end
  end
end
remember({returned = fmt(returned)}, now_ms, fingerprint, ttl_ms)
return {OK, wallet_json(wallet_id), fmt(returned)}
