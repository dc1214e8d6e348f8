--[[
  Reading compact lines (lines.lua `compact_line`) back with the hash each links to: a line
  names the line before it in the chain by its field, so its `prev` hash is that line's `hash`.
]]
--- @include "keys"

-- The hash each of `lines` (stored values, in either layout; false for a missing one) links
-- to, in order: "" for an older line (a JSON object, which holds its own `prev`) or the first,
-- else the hash of the line its `prev` names, all read with one HMGET.
local function line_prevs(lines)
  local prevs, wanted, slots = {}, {}, {}
  for i, line in ipairs(lines) do
    local ref = line and string.match(line, '^%["([^"]*)"') or ""
    if string.sub(ref, 1, 1) == "#" then
      prevs[i] = string.sub(ref, 2)
    else
      prevs[i] = ""
      if ref ~= "" then
        wanted[#wanted + 1] = ref
        slots[#slots + 1] = i
      end
    end
  end
  if #wanted > 0 then
    for j, line in ipairs(redis.call("HMGET", key_lines(), unpack(wanted))) do
      prevs[slots[j]] = line and string.match(line, '^%["[^"]*","(%x*)"') or ""
    end
  end
  return prevs
end

-- A stored line and the hash it links to (line_prevs), by its field; for replies.
local function line_with_prev(field)
  local line = redis.call("HGET", key_lines(), field)
  return line, line_prevs({line})[1]
end
