--[[
  addRoot: puts a root id on its project's listing, once. Runs before create-root-2.lua (a
  separate round trip: the listing has its own hash tag), so a crash in between leaves a listed
  id without a wallet, which listing skips, and never a root missing from the listing. A retried
  create keeps its first position.

  KEYS[1]  Pp:{<project>}:roots         the project's root listing
  ARGV[1]  root id

  Returns  {0}
  Errors   none
]]

if not redis.call("ZSCORE", KEYS[1], ARGV[1]) then
  -- Roots are never removed from the listing, so the size is a fresh position.
  redis.call("ZADD", KEYS[1], string.format("%d", redis.call("ZCARD", KEYS[1]) + 1), ARGV[1])
end
return {0}
