#!lua flags=no-writes
-- Reads one stream's history in one atomic step: the stream's epoch, its tip
-- (where it stands now), and either what came after a position, with whether
-- history still reaches back that far, or its most recent entries. A
-- position means the same to every reader: the WebSocket's resume (the
-- notifier, page by page: each later page is read after the last id of the
-- one before, in the epoch the first found, so a stream that began again or
-- was trimmed past that id meanwhile is a gap too) and GET
-- /api/notifications/ (auth-token). stream-reader.ts is its one caller.
--
-- KEYS[1]  the stream's history
-- KEYS[2]  the stream's epoch
-- ARGV[1]  the position to read after (an id), or '' for the most recent entries
-- ARGV[2]  the position's epoch: '' when the stream did not exist when the
--          position was taken; '-' when it is unknown and the position is a
--          time (a resume by `last_id`: ids compared across streams, epochs
--          never checked)
-- ARGV[3]  the maximum age of history (milliseconds): older entries are never returned
-- ARGV[4]  the most entries to return (a page: fewer means it reaches the
--          tip); 0: only the epoch and the tip
-- Returns { epoch or '', tip, gap (0|1), entries (XRANGE's form, oldest first) }.
--   tip:  the last id the stream handed out; for a stream that does not
--         exist, one just below any id it could hand out from now on.
--   gap:  1 if something after the position may be gone: the position is
--         older than the maximum age (a stream may have come and expired in
--         between), the stream began again since (another epoch), or is gone
--         though the position had seen it, or an entry after it was trimmed
--         or deleted. The entries then start at the oldest kept (of the
--         current epoch), not after the position. Always 0 without a position.

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function before(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local after, afterEpoch, maxAgeMs, count = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local oldest = string.format('%d-0', now - maxAgeMs)
local epoch = redis.call('GET', KEYS[2]) or ''
local exists = redis.call('EXISTS', KEYS[1]) == 1
local info = {}
if exists then
  local raw = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #raw, 2 do info[raw[i]] = raw[i + 1] end
end
local tip = exists and info['last-generated-id'] or string.format('%d-0', now - 1)
if count == 0 then return { epoch, tip, 0, {} } end

if after == '' then
  if not exists then return { epoch, tip, 0, {} } end
  local newest = redis.call('XREVRANGE', KEYS[1], '+', oldest, 'COUNT', count)
  local entries = {}
  for i = #newest, 1, -1 do entries[#entries + 1] = newest[i] end
  return { epoch, tip, 0, entries }
end

local gap = false
local from = '(' .. after
if before(after, oldest) then
  gap = true
  from = oldest
end
if afterEpoch ~= '-' then
  if not exists then
    -- The position lost something in a stream that is gone only if it had seen it.
    if afterEpoch ~= '' then gap = true end
  elseif afterEpoch ~= '' and afterEpoch ~= epoch then
    -- The stream began again: the position means nothing in it.
    gap = true
    from = oldest
  end
end
if not exists then return { epoch, tip, gap and 1 or 0, {} } end

-- Trimming (XTRIM, by the publisher) removes the oldest entries and records
-- none of their ids (max-deleted-entry-id follows XDEL only): when some were
-- removed and the oldest kept lies past the position, one between the two may
-- have been lost. (When exactly the entries up to the position went, this
-- reports a gap where nothing was lost: it cannot tell the two apart.)
if tonumber(info['entries-added']) > tonumber(info['length']) then
  local first = info['first-entry']
  if first then
    if before(after, first[1]) then gap = true end
  elseif before(after, tip) then
    gap = true
  end
end
if before(after, info['max-deleted-entry-id']) then gap = true end
return { epoch, tip, gap and 1 or 0, redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', count) }
