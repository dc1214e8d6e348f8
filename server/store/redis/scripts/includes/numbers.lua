--[[
  Lua numbers are doubles: exact for integers up to 2^53, which the ledger never lets an amount or
  balance pass (MAX_CREDITS). Their text is the trap: tostring() and ".." use %.14g, which rounds
  any integer past 10^14. So every number that leaves a script, as an argument or in a reply,
  goes through fmt.
]]

-- The exact decimal text of an integer-valued number.
local function fmt(n)
  return string.format("%d", n)
end

-- The creation sequence of an id ("<root>.h12" -> 12; a root, which has none, -> 0).
local function seq_of(id)
  return tonumber(string.match(id, "%.%a(%d+)$")) or 0
end
