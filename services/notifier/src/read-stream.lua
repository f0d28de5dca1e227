#!lua flags=no-writes
-- Reads one stream in one atomic step: its epoch, its tip (where it stands
-- now), and a page of what a client missed after its position, with whether
-- history still reaches back that far. A replay reads a stream page by page:
-- each later page is read after the last id of the one before, in the epoch
-- the first one found, so a stream that began again or was trimmed past that
-- id while the replay ran is a gap too.
--
-- KEYS[1]  the stream's history
-- KEYS[2]  the stream's epoch
-- ARGV[1]  the client's position (an id), or '' to read only epoch and tip
-- ARGV[2]  the client's epoch, or '-' when the client resumes by time alone
--          (`last_id`: epochs unknown, ids compared across streams)
-- ARGV[3]  the maximum age of history (milliseconds)
-- ARGV[4]  the most entries to return (a page); fewer means the page reaches
--          the tip: everything up to it is returned
-- Returns { epoch or '', tip, gap (0|1), entries (XRANGE's form) }.
--   tip:  the last id the stream handed out; for a stream that does not
--         exist, one just below any id it could hand out from now on.
--   gap:  1 if something after the position may be gone: the stream began
--         again since (epoch), entries after it were trimmed, or the position
--         is older than the window (a stream may have come and expired in
--         between).

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
local after, clientEpoch, maxAgeMs, count = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local oldest = string.format('%d-0', now - maxAgeMs)
local epoch = redis.call('GET', KEYS[2]) or ''
local exists = redis.call('EXISTS', KEYS[1]) == 1
local info = {}
if exists then
  local raw = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #raw, 2 do info[raw[i]] = raw[i + 1] end
end
local tip = exists and info['last-generated-id'] or string.format('%d-0', now - 1)
if after == '' then return { epoch, tip, 0, {} } end

local gap = false
local start = after
if before(after, oldest) then
  gap = true
  start = oldest
end
if clientEpoch ~= '-' then
  if not exists then
    -- Nothing to replay; the client lost something only if it had seen this stream begin.
    if clientEpoch ~= '' then gap = true end
  elseif clientEpoch ~= '' and clientEpoch ~= epoch then
    -- The stream began again: the client's position means nothing in it.
    gap = true
    start = oldest
  end
end
if exists and tonumber(info['entries-added']) > tonumber(info['length']) then
  -- Entries were trimmed: the client missed some if the oldest one kept lies past its position.
  -- (XTRIM leaves max-deleted-entry-id alone: only XDEL moves it.)
  local first = info['first-entry']
  if (not first) or before(after, first[1]) then gap = true end
end
local entries = {}
if exists then
  local from = start == after and '(' .. after or start
  entries = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', count)
end
return { epoch, tip, gap and 1 or 0, entries }
