--[[
  createRoot: creates the tree and its root wallet. The root id hashes project and request id,
  so an existing tree here is this very request again: the tree keeps the create's fingerprint
  for good (not for the idempotency TTL), and a retry at any later time is answered (same
  parameters) or refused (different ones), never turned into a second root. The project's root
  listing is written first, by add-root-1.lua.

  KEYS[1]  P{R}:tree                    the tree (R = the new root id)
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  fingerprint
  ARGV[4]  name
  ARGV[5]  budget, 0..2^53-1
  ARGV[6]  hard cap: "1" or "0"
  ARGV[7]  metadata, JSON

  Returns  {0, wallet JSON} (a replay: the root as it is now)
  Errors   {3} IDEMPOTENCY_KEY_REUSED (different parameters; or another project, which would
           take a SHA-256 collision and is refused rather than revealed)
]]
--- @include "errors"
--- @include "access"

local project, now_ms, fingerprint = ARGV[1], ARGV[2], ARGV[3]
local name, budget_text, hard, meta = ARGV[4], ARGV[5], ARGV[6], ARGV[7]

local owner = redis.call("HGET", KEYS[1], "project")
if owner then
  expire_due_holds(now_ms)
  if owner ~= project or redis.call("HGET", KEYS[1], "fingerprint") ~= fingerprint then
    return refuse(E_IDEMPOTENCY_KEY_REUSED)
  end
  return {OK, wallet_json(ROOT_ID)}
end

redis.call("HSET", KEYS[1], "project", project, "seq", "0", "held", "0",
  "fingerprint", fingerprint)
create_wallet(ROOT_ID, "", "", 1, name, budget_text, hard, meta, now_ms)
return {OK, wallet_json(ROOT_ID)}
