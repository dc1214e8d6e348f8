--[[
  The tree's event log (docs/events.md): a stream P{R}:events appended by the same script as the
  change each event reports, so an event is never seen for a refused call and never missed for a
  committed one. Entry id `<ms>-<seq>`: seq counts the tree's events from 1 (P{R}:tree eseq,
  HINCRBY per event, so the stream and the counter can never disagree), ms is the later of the
  script's clock and the tree's previous event (ems), so ids only grow. One field `e`, compact
  JSON: {k kind, w wallet, b "budget spent held allocated available totalSpent", l line id, o hold
  id, x threshold}; a line event names its line in P{R}:lines instead of copying it. Ids are
  written relative to the tree (tree_rel: "w3", "c12", "" for the root): the stream is the
  tree's, and the root id would be a third of every entry.

  Every script on a tree calls events_setup first. Events are appended with emit (post_line does
  it for every line); events_flush, called where a script's writes end (after its pending work,
  and after its own change), trims the stream by age and PUBLISHes the last position on the
  project's channel, once per flush however many events it appended: notifications only wake
  readers, who read the log.
]]
--- @include "keys"
--- @include "numbers"

local EVENTS = {
  project = nil,
  now = 0,
  max_count = "10000",
  max_age = 0,
  -- The tree's clock, and the chain's head: read once per script (open_tree's HMGET carries them).
  loaded = false,
  ems = 0,
  lhash = "",
  -- The chain head as "<field in P{R}:lines> <hash>", nil when unknown (scripts v3 wrote none).
  lid = nil,
  -- This script's event ms once taken, whether `ems` still has to be written, the last position.
  ms = nil,
  ems_dirty = false,
  last = nil,
}

-- `retention` is "<max events per tree> <max age ms>" (the store's EventRetention).
local function events_setup(project, now_ms, retention)
  EVENTS.project = project
  EVENTS.now = tonumber(now_ms)
  local count, age = string.match(retention, "^(%d+) (%d+)$")
  EVENTS.max_count, EVENTS.max_age = count, tonumber(age)
end

-- The tree's ems and lhash, as P{R}:tree holds them (nil before the first event or line).
local function events_seen(ems, lhash, lid)
  EVENTS.loaded = true
  EVENTS.ems = tonumber(ems) or 0
  EVENTS.lhash = lhash or ""
  EVENTS.lid = lid or nil
end

local function events_load()
  if not EVENTS.loaded then
    local tree = redis.call("HMGET", KEYS[1], "ems", "lhash", "lid")
    events_seen(tree[1], tree[2], tree[3])
  end
end

-- The ms of this script's events: the later of its clock and the tree's last event.
local function event_ms()
  if not EVENTS.ms then
    events_load()
    EVENTS.ms = math.max(EVENTS.now, EVENTS.ems)
    EVENTS.ems_dirty = EVENTS.ms ~= EVENTS.ems
  end
  return EVENTS.ms
end

-- The fields of P{R}:tree still to write for the event clock ({} when written), for a caller
-- that writes the tree hash anyway (post_line's lhash), to save a command.
local function take_tree_clock()
  event_ms()
  if EVENTS.ems_dirty then
    EVENTS.ems_dirty = false
    return {"ems", fmt(EVENTS.ms)}
  end
  return {}
end

-- The wallet's balances as an event carries them: its figures right now (the table `w` is kept
-- in step with Redis by incr; count_debit keeps total_spent).
local function event_balances(w)
  local avail = 0
  if w.status == "open" then
    avail = w.budget - w.spent - w.held - w.allocated - w.settled
  end
  return string.format("%d %d %d %d %d %d", w.budget, w.spent, w.held, w.allocated, avail,
    w.total_spent)
end

-- An id of this tree without the "<root>." every id of it starts with; "" for the root itself.
local function tree_rel(id)
  if id == ROOT_ID then
    return ""
  end
  return string.sub(id, #ROOT_ID + 2)
end

-- Appends one event of wallet `w`. `extra` may carry l (line id), o (hold id), x (threshold).
local function emit(kind, w, extra)
  local ms = event_ms()
  local clock = take_tree_clock()
  if #clock > 0 then
    redis.call("HSET", KEYS[1], unpack(clock))
  end
  local seq = redis.call("HINCRBY", KEYS[1], "eseq", 1)
  local e = {k = kind, w = tree_rel(w.id), b = event_balances(w)}
  if extra then
    e.l = extra.l and tree_rel(extra.l)
    e.o = extra.o and tree_rel(extra.o)
    e.x = extra.x
  end
  local id = fmt(ms) .. "-" .. fmt(seq)
  redis.call("XADD", key_events(), "MAXLEN", "~", EVENTS.max_count, id, "e", cjson.encode(e))
  EVENTS.last = id
end

-- Ends a run of appends: drops events past the age limit (whole stream nodes, `~`) and tells the
-- project's subscribers where the tree's log now ends. Nothing when nothing was appended.
local function events_flush()
  if not EVENTS.last then
    return
  end
  local oldest = EVENTS.ms - EVENTS.max_age
  if oldest > 0 then
    redis.call("XTRIM", key_events(), "MINID", "~", fmt(oldest))
  end
  redis.call("PUBLISH", events_channel(EVENTS.project), ROOT_ID .. " " .. EVENTS.last)
  EVENTS.last = nil
end
