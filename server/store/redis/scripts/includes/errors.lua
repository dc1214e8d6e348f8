--[[
  Replies. A script answers {OK, ...} on success, {E_<NAME>, detail...} when it refuses, or
  {WORK_PENDING} when it spent its batch on the tree's pending work and must be called again.
  A refusal always comes before the first write (Redis does not roll a script back). The codes
  are generated from server/store/redis/reply-codes.ts, which turns each refusal into the same
  LedgerError the memory store throws.
]]
--- @include "constants"

local function refuse(code, ...)
  return {code, ...}
end
