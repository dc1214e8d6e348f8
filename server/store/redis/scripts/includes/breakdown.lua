--[[
  Reading receipts in bounded pieces: rows of a breakdown by rank, and child summaries.
]]
--- @include "keys"
--- @include "numbers"
--- @include "wallet"

-- Rows `first`..`first + count - 1` of a wallet's breakdown by "service" or "agent", in rank
-- order (most credits first, ties by name): {key, credits, calls} with decimal text.
local function breakdown_rows(dimension, wallet_id, first, count)
  local ranked, calls_key
  if dimension == "service" then
    ranked, calls_key = key_by_service(wallet_id), key_service_calls(wallet_id)
  else
    ranked, calls_key = key_by_agent(wallet_id), key_agent_calls(wallet_id)
  end
  local scored = redis.call("ZRANGE", ranked, first, first + count - 1, "WITHSCORES")
  local rows, names = {}, {}
  for i = 1, #scored, 2 do
    names[#names + 1] = scored[i]
    -- Scores are minus the credits: negate back, exactly (integers below 2^53).
    rows[#rows + 1] = {key = scored[i], credits = fmt(-tonumber(scored[i + 1]))}
  end
  if #names > 0 then
    local calls = redis.call("HMGET", calls_key, unpack(names))
    for i, row in ipairs(rows) do
      row.calls = calls[i]
    end
  end
  return rows
end

-- A child's line in its parent's receipt: the child as the interface reports it, and its calls.
local function child_summary(child_id)
  return {
    wallet = wallet_view(load_wallet(child_id)),
    calls = redis.call("HGET", key_wallet(child_id), "calls"),
  }
end
