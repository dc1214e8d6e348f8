--[[
  createRoot: creates the tree and its root wallet. The root id hashes project and request id,
  so an existing tree here is this very request again. Its request id is remembered like any
  other of the tree (a later call reusing it elsewhere in the tree is refused), and the tree also
  keeps the create's fingerprint for good: a retry after the record expired is still answered
  (same parameters) or refused (different ones), never turned into a second root. The project's
  root listing is written first, by add-root-1.lua. Its event: wallet_created, the tree's first.

  KEYS[1]  P{R}:tree                    the tree (R = the new root id)
  KEYS[2]  P{R}:idem                    the tree's idempotency records
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  request id
  ARGV[5]  fingerprint
  ARGV[6]  idempotency TTL, ms
  ARGV[7]  name
  ARGV[8]  budget, 0..2^53-1
  ARGV[9]  hard cap: "1" or "0"
  ARGV[10] metadata, JSON
  ARGV[11] alert thresholds, comma-separated, ascending ("50,80,100")

  Returns  {0, wallet JSON} (a replay: the root as it is now), or {16} WORK_PENDING: the
           tree's pending work took the batch; call again
  Errors   {3} IDEMPOTENCY_KEY_REUSED (different parameters; or another project, which would
           take a SHA-256 collision and is refused rather than revealed)
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local name, budget_text, hard, meta, alerts = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11]
events_setup(project, now_ms, ARGV[3])

local owner = redis.call("HGET", KEYS[1], "project")
if owner then
  if owner ~= project then
    return refuse(E_IDEMPOTENCY_KEY_REUSED)
  end
  if open_tree(project, now_ms) == "pending" then
    return {WORK_PENDING}
  end
  local record = find_record(request_id, now_ms, fingerprint)
  if record == false then
    return refuse(E_IDEMPOTENCY_KEY_REUSED)
  end
  if record then
    return {OK, wallet_json(ROOT_ID)}
  end
  -- The record expired, but the tree remembers which create made it.
  if redis.call("HGET", KEYS[1], "fingerprint") ~= fingerprint then
    return refuse(E_IDEMPOTENCY_KEY_REUSED)
  end
  remember(request_id, {wallet = ROOT_ID}, now_ms, fingerprint, ttl_ms)
  return {OK, wallet_json(ROOT_ID)}
end

redis.call("HSET", KEYS[1], "project", project, "seq", "0", "held", "0",
  "fingerprint", fingerprint, "fmt", "2")
-- A new tree: no event or line yet.
events_seen(nil, nil)
create_wallet(ROOT_ID, "", "", 1, name, budget_text, hard, meta, now_ms, alerts)
events_flush()
remember(request_id, {wallet = ROOT_ID}, now_ms, fingerprint, ttl_ms)
return {OK, wallet_json(ROOT_ID)}
