--[[
  Reply codes. A script answers {OK, ...} on success, or {code, detail...} when it refuses, and a
  refusal always comes before the first write (Redis does not roll a script back).
  server/store/redis/script-errors.ts turns each code into one LedgerError.
]]
local OK = 0
-- Not found: detail is the id asked for, the same whether it is missing or another project's.
local E_WALLET_NOT_FOUND = 1 -- detail: wallet id (the parent, for a carve-out or a listing)
local E_HOLD_NOT_FOUND = 2 -- detail: hold id
local E_IDEMPOTENCY_KEY_REUSED = 3
local E_INSUFFICIENT_CREDITS = 4 -- detail: wallet id, requested, available
local E_WALLET_CLOSED = 5 -- detail: wallet id
local E_HOLD_EXPIRED = 6 -- detail: hold id
local E_HOLD_ALREADY_RESOLVED = 7 -- detail: hold id
local E_DEPTH_EXCEEDED = 8 -- detail: max depth
local E_SOFT_CHILD_OF_HARD = 9
local E_CREDIT_LIMIT = 10 -- a budget or the tree's spend would pass 2^53 - 1
local E_CAPTURE_EXCEEDS_HOLD = 11 -- detail: hold amount
local E_MERGED_METADATA_TOO_LARGE = 12 -- a capture's metadata over the hold's passes 16 keys

local function refuse(code, ...)
  return {code, ...}
end
