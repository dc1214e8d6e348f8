--[[
  closeWallet: closes a wallet and every open descendant, children before parents (siblings in
  creation order). Each one's open holds are voided (VOID lines with this request id, in hold
  creation order), it is marked closed, and its parent takes back its remainder: `allocated`
  drops by its budget, `settled` grows by its consumption (spent + settled).

  Events, per wallet of the cascade in that order: void for each open hold, then wallet_closed;
  appended by whichever script works that part of the close off.

  A wide subtree is more than one script may do, so the close is put on the tree's stack
  (includes/close.lua) and worked off in bounded batches, by this script and by every script on
  the tree before anything else: until it is done they all answer WORK_PENDING and are called
  again, so nobody sees it half done. The outcome is remembered when the close is accepted;
  the call that finishes it (this one again, or a replay) answers it.

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem                    the tree's idempotency records
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  request id
  ARGV[5]  fingerprint
  ARGV[6]  idempotency TTL, ms
  ARGV[7]  wallet id

  Returns  {0, wallet JSON, returned}: returned = budget - consumption, 0 for a root (a replay:
           the wallet as it is now, the first returned), or {16} WORK_PENDING: the close (or
           other pending work of the tree) is under way; call again with the same request
  Errors   {1, wallet id} WALLET_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED, {5, wallet id} WALLET_CLOSED
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local wallet_id = ARGV[7]
events_setup(project, now_ms, ARGV[3])

local w, reply = open_wallet(project, wallet_id, now_ms)
if not w then
  return reply
end
local record = find_record(request_id, now_ms, fingerprint)
if record == false then
  return refuse(E_IDEMPOTENCY_KEY_REUSED)
end
if record then
  return {OK, wallet_json(wallet_id), record.returned}
end
if w.status ~= "open" then
  return refuse(E_WALLET_CLOSED, wallet_id)
end

-- Its consumption once closed is spent + settled with every child settled: the subtree's debits,
-- which voiding holds does not change. So the outcome is known now.
local returned = w.parent == "" and 0 or w.budget - w.total_spent
remember(request_id, {returned = fmt(returned)}, now_ms, fingerprint, ttl_ms)
begin_close(wallet_id, request_id, now_ms)
if not work_off({project, now_ms, request_id}, now_ms, WORK_SLICE) then
  return {WORK_PENDING}
end
return {OK, wallet_json(wallet_id), fmt(returned)}
