--[[
  Receipt lines and the aggregates they feed. A line is a compact JSON array in the tree's
  P{R}:lines hash under its id relative to the tree ("c12"); that field goes on the wallet's own
  list and on the subtree list of the wallet and every ancestor (at most maxDepth entries), so
  listing a subtree pages by offset instead of filtering the tree's lines. Trees also hold lines
  written before this layout: JSON objects under their full id, listed by full id.

  Breakdowns: per covering wallet, a zset scores each service (agent) name by minus its credits,
  so rank order is the receipt's order (most credits first, ties by name) and its top rows are one
  ZRANGE; a hash beside it counts the calls.

  The hash chain (docs/events.md#the-hash-chain): each line stores `prev`, the hash of the tree's
  line before it (P{R}:tree lhash, "" for the first), and `hash`, the SHA-1 of its canonical
  encoding, byte for byte what client/line-hash.ts `canonicalLine` builds.
]]
--- @include "keys"
--- @include "numbers"
--- @include "wallet"
--- @include "events"

-- Takes the next id of the tree's one sequence: "<root>.<letter><seq>".
local function next_id(letter)
  return ROOT_ID .. "." .. letter .. fmt(redis.call("HINCRBY", KEYS[1], "seq", 1))
end

-- `<byte length>:<bytes>,` (Lua strings are bytes, so # is the UTF-8 length).
local function netstring(text)
  return string.format("%d:%s,", #text, text)
end

-- Byte order, whatever the server's locale: Lua's `<` on strings uses strcoll.
local function bytes_before(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      return x < y
    end
  end
  return #a < #b
end

-- `json` with every lone UTF-16 surrogate escape (\uD800-\uDFFF not in a high-low pair) made
-- \uFFFD. JSON.stringify writes a lone surrogate (a string cut inside an emoji) as such an
-- escape, which cjson refuses; JavaScript's UTF-8 encoding, which line-hash.ts hashes, makes
-- each one U+FFFD. Only called when cjson refused: it walks the text byte by byte.
local function without_lone_surrogates(json)
  local out, i, n = {}, 1, #json
  local high = nil -- index in `out` of a high surrogate escape still waiting for its low half
  local function lone()
    if high then
      out[high] = "\\ufffd"
      high = nil
    end
  end
  while i <= n do
    local c = string.sub(json, i, i)
    if c == "\\" and string.sub(json, i + 1, i + 1) == "u" then
      local code = tonumber(string.sub(json, i + 2, i + 5), 16) or 0
      local escape = string.sub(json, i, i + 5)
      if code >= 0xD800 and code <= 0xDBFF then
        lone()
        out[#out + 1] = escape
        high = #out
      elseif code >= 0xDC00 and code <= 0xDFFF then
        out[#out + 1] = high and escape or "\\ufffd"
        high = nil
      else
        lone()
        out[#out + 1] = escape
      end
      i = i + 6
    else
      lone()
      -- Any other escape is two bytes: its second byte is never the start of another.
      local width = c == "\\" and 2 or 1
      out[#out + 1] = string.sub(json, i, i + width - 1)
      i = i + width
    end
  end
  lone()
  return table.concat(out)
end

-- Metadata JSON (string values) as a table; never fails on what JSON.stringify wrote (see
-- without_lone_surrogates), so no script stops half-way over a label.
local function decode_meta(json)
  local ok, value = pcall(cjson.decode, json)
  if ok then
    return value
  end
  return cjson.decode(without_lone_surrogates(json))
end

-- SHA-1 hex of a line's canonical encoding (`line` has the fields of post_line's table, `meta`
-- still JSON text). Metadata values are strings, so cjson gives back the exact bytes. Written
-- with string.format: each `#text .. ":"` would format its length as a float, the costliest step
-- of the whole encoding (callgrind, issue 11).
local function line_hash(line)
  local meta = decode_meta(line.meta)
  local keys = {}
  for key in pairs(meta) do
    keys[#keys + 1] = key
  end
  table.sort(keys, bytes_before)
  local id, wallet, kind, amount = line.id, line.wallet, line.kind, line.amount
  local service, over, hold, request = line.service, line.over, line.hold, line.request
  local created = line.created
  local parts = {
    string.format(
      "16:tollgate-line-v1,%d:%s,%d:%s,%d:%s,%d:%s,%d:%s,%d:%s,%d:%s,%d:%s,%d:%s,",
      #id, id, #wallet, wallet, #kind, kind, #amount, amount, #service, service, #over, over,
      #hold, hold, #request, request, #created, created),
    netstring(string.format("%d", #keys)),
  }
  for _, key in ipairs(keys) do
    local value = meta[key]
    parts[#parts + 1] = string.format("%d:%s,%d:%s,", #key, key, #value, value)
  end
  parts[#parts + 1] = netstring(line.prev)
  return redis.sha1hex(table.concat(parts))
end

-- The line as stored in P{R}:lines (docs/architecture.md#receipt-lines): a JSON array, ids
-- relative to the tree and the metadata object last, as it came:
-- [prev, hash, id, wallet, kind, amount, service, over, hold, request, created, meta].
-- `prev` names the line before it in the chain by its field ("c11"; "" for the tree's first
-- line; "#" and the hash itself after a line stored before this layout): the hash it links to is
-- that line's, read when the line is (line-reads.lua), so no hash is stored twice. Both come first,
-- where a pattern finds them. Built by hand: cjson would write numbers past 10^14 rounded, and
-- re-escape the metadata.
local function compact_line(f, prev_ref)
  return '["' .. prev_ref .. '","' .. f.hash .. '","' .. tree_rel(f.id) .. '","' ..
    tree_rel(f.wallet) .. '","' .. f.kind .. '",' .. f.amount .. "," .. cjson.encode(f.service) ..
    "," .. f.over .. ',"' .. (f.hold == "" and "" or tree_rel(f.hold)) .. '",' ..
    cjson.encode(f.request) .. "," .. f.created .. "," .. f.meta .. "]"
end

-- Writes one line of `w`, links it into the tree's hash chain and appends its event (kind =
-- the line's kind) with `w`'s balances as they are now: callers change the balances first.
-- Returns the stored line, the hash it links to and its field in P{R}:lines (the id relative to
-- the tree, "c12"). `meta` is JSON text, `created` decimal text.
local function post_line(w, kind, amount, service, meta, over_budget, hold_id, request_id, created)
  local id = next_id("c")
  local field = tree_rel(id)
  events_load()
  local fields = {
    id = id, wallet = w.id, kind = kind, amount = fmt(amount), service = service, meta = meta,
    over = over_budget and "1" or "0", hold = hold_id, request = request_id, created = created,
    prev = EVENTS.lhash,
  }
  fields.hash = line_hash(fields)
  -- `lid` is "<field> <hash>" of the chain's head: its field names the previous line only while
  -- that hash is still the head's (a writer that knows no `lid`, such as scripts v3 on the same
  -- data, moves `lhash` alone); otherwise the previous hash itself is named.
  local head_field, head_hash = string.match(EVENTS.lid or "", "^(%S+) (%x+)$")
  local prev_ref = head_hash == EVENTS.lhash and head_field or
    (EVENTS.lhash == "" and "" or "#" .. EVENTS.lhash)
  EVENTS.lhash, EVENTS.lid = fields.hash, field .. " " .. fields.hash
  local line = compact_line(fields, prev_ref)
  redis.call("HSET", key_lines(), field, line)
  -- The chain's head, and the event clock in the same command when this script has not yet
  -- written it.
  redis.call("HSET", KEYS[1], "lhash", fields.hash, "lid", EVENTS.lid, unpack(take_tree_clock()))
  redis.call("RPUSH", key_own_lines(w.id), field)
  for _, covering_id in ipairs(covering(w)) do
    redis.call("RPUSH", key_subtree_lines(covering_id), field)
  end
  emit(kind, w, {l = id})
  return line, fields.prev, field
end

-- Whether `name` would be a new key past `limit` distinct keys of the root's `ranked` breakdown.
-- The root's breakdowns hold every name of the tree, so checking them bounds every receipt.
local function name_full(ranked, name, limit)
  return not redis.call("ZSCORE", ranked, name) and redis.call("ZCARD", ranked) >= limit
end

-- The breakdown that a debit's (or a hold's) names would push past `limit`, or nil.
local function breakdown_full(service, agent, limit)
  if name_full(key_by_service(ROOT_ID), service, limit) then
    return "service"
  end
  if name_full(key_by_agent(ROOT_ID), agent, limit) then
    return "agent"
  end
  return nil
end

-- A SPEND or CAPTURE of `w`: totals, calls and breakdowns of every covering receipt. Returns
-- each covering wallet's new total_spent by id (what its budget alerts compare), and keeps
-- w.total_spent in step.
local function count_debit(w, amount, service, agent, over_budget)
  local credits = fmt(amount)
  local minus = fmt(-amount)
  local totals = {}
  redis.call("HINCRBY", key_wallet(w.id), "own_calls", "1")
  for _, id in ipairs(covering(w)) do
    local key = key_wallet(id)
    totals[id] = tonumber(redis.call("HINCRBY", key, "total_spent", credits))
    redis.call("HINCRBY", key, "calls", "1")
    if over_budget then
      redis.call("HINCRBY", key, "over_budget_count", "1")
    end
    redis.call("ZINCRBY", key_by_service(id), minus, service)
    redis.call("HINCRBY", key_service_calls(id), service, "1")
    redis.call("ZINCRBY", key_by_agent(id), minus, agent)
    redis.call("HINCRBY", key_agent_calls(id), agent, "1")
  end
  w.total_spent = totals[w.id]
  return totals
end

-- A VOID or EXPIRE (`prefix` "voided") or a REFILL (`prefix` "refill") of `w`.
local function count_credits(w, prefix, amount)
  local credits = fmt(amount)
  for _, id in ipairs(covering(w)) do
    redis.call("HINCRBY", key_wallet(id), prefix .. "_credits", credits)
    redis.call("HINCRBY", key_wallet(id), prefix .. "_count", "1")
  end
end

-- Spent plus held credits of the whole tree; every debit and hold keeps this <= MAX_CREDITS,
-- so a later capture (<= its hold) stays exact too. `w`, when given, is a wallet loaded by this
-- script before any write: if it is the root, its total_spent saves a read.
local function committed_credits(w)
  local spent = w and w.id == ROOT_ID and w.total_spent or
    tonumber(redis.call("HGET", key_wallet(ROOT_ID), "total_spent"))
  local held = redis.call("HGET", KEYS[1], "held")
  return spent + tonumber(held)
end
