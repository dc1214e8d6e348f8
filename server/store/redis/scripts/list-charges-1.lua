--[[
  listCharges: one page of a wallet's lines (or its subtree's), oldest first.

  KEYS[1]  P{R}:tree                    the tree
  ARGV[1]  project
  ARGV[2]  nowMs
  ARGV[3]  event retention: "<max events per tree> <max age ms>"
  ARGV[4]  wallet id
  ARGV[5]  "1": the whole subtree's lines, "0": the wallet's own
  ARGV[6]  cursor: offset of the first line
  ARGV[7]  page size, >= 1

  Returns  {0, next cursor or "" on the last page, then per line: the line, the hash it links
           to (line-reads.lua)}, each line with the gateway's
           failure record (`gwfail`) when it has one, or {16} WORK_PENDING: the
           tree's pending work took the batch; call again
  Errors   {1, wallet id} WALLET_NOT_FOUND
]]
--- @include "errors"
--- @include "access"
--- @include "line-reads"

local wallet_id, cursor, page_size = ARGV[4], tonumber(ARGV[6]), tonumber(ARGV[7])
events_setup(ARGV[1], ARGV[2], ARGV[3])
local w, reply = open_wallet(ARGV[1], wallet_id, ARGV[2])
if not w then
  return reply
end
local key = ARGV[5] == "1" and key_subtree_lines(wallet_id) or key_own_lines(wallet_id)
local stop = cursor + page_size
local reply = {OK, stop < redis.call("LLEN", key) and fmt(stop) or ""}
local ids = redis.call("LRANGE", key, cursor, stop - 1)
if #ids > 0 then
  -- The gateway names a failed line by its full id; a list names it as the lines hash does
  -- (relative, or in full for a line written before the compact layout).
  local full = {}
  for i, id in ipairs(ids) do
    full[i] = string.find(id, ".", 1, true) and id or ROOT_ID .. "." .. id
  end
  local failures = redis.call("HMGET", key_gateway_failures(), unpack(full))
  local lines = redis.call("HMGET", key_lines(), unpack(ids))
  local prevs = line_prevs(lines)
  for i, line in ipairs(lines) do
    if failures[i] then
      -- A compact line (an array) takes it as a last element, an older one (an object) as a field.
      local compact = string.sub(line, 1, 1) == "["
      line = string.sub(line, 1, -2) .. (compact and "," or ',"gwfail":') ..
        cjson.encode(failures[i]) .. (compact and "]" or "}")
    end
    reply[#reply + 1] = line
    reply[#reply + 1] = prevs[i]
  end
end
return reply
