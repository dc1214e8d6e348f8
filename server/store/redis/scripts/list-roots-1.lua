--[[
  listRoots: one page of a project's root ids, in creation order. The roots' wallets live in
  other slots (one hash tag per tree), so the caller reads each with get-wallet-1.lua.

  KEYS[1]  Pp:{<project>}:roots         the project's root listing
  ARGV[1]  cursor: offset of the first root
  ARGV[2]  page size, >= 1

  Returns  {0, next cursor or "" on the last page, root id...}
  Errors   none
]]

local cursor, page_size = tonumber(ARGV[1]), tonumber(ARGV[2])
local stop = cursor + page_size
local reply = {0, stop < redis.call("ZCARD", KEYS[1]) and string.format("%d", stop) or ""}
for _, id in ipairs(redis.call("ZRANGE", KEYS[1], cursor, stop - 1)) do
  reply[#reply + 1] = id
end
return reply
