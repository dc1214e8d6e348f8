--[[
  void: releases a whole open hold with a VOID line carrying the hold's service and metadata
  (and its void event).

  KEYS[1]  P{R}:tree                    the tree
  KEYS[2]  P{R}:idem                    the tree's idempotency records
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  request id
  ARGV[5]  fingerprint
  ARGV[6]  idempotency TTL, ms
  ARGV[7]  hold id

  Returns  {0, line, the hash it links to, hold JSON, remaining} (a replay: the first line and remaining, the
           hold as it is now), or {16} WORK_PENDING: the tree's pending work took the batch
  Errors   {2, hold id} HOLD_NOT_FOUND, {3} IDEMPOTENCY_KEY_REUSED, {6, hold id} HOLD_EXPIRED,
           {7, hold id} HOLD_ALREADY_RESOLVED
]]
--- @include "errors"
--- @include "access"
--- @include "idempotency"
--- @include "line-reads"

local project, now_ms, request_id, fingerprint, ttl_ms = ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6]
local hold_id = ARGV[7]
events_setup(project, now_ms, ARGV[3])

local h, reply = open_hold(project, hold_id, now_ms)
if not h then
  return reply
end
local record = find_record(request_id, now_ms, fingerprint)
if record == false then
  return refuse(E_IDEMPOTENCY_KEY_REUSED)
end
if record then
  local line, prev = line_with_prev(record.line)
  return {OK, line, prev, hold_json(hold_id), record.remaining}
end
if h.status == "expired" then
  return refuse(E_HOLD_EXPIRED, hold_id)
end
if h.status ~= "open" then
  return refuse(E_HOLD_ALREADY_RESOLVED, hold_id)
end

local line, prev, line_id, w = release_hold(h, "void", request_id, now_ms)
events_flush()
local remaining = fmt(available(w))
remember(request_id, {line = line_id, remaining = remaining}, now_ms, fingerprint, ttl_ms)
return {OK, line, prev, hold_json(hold_id), remaining}
