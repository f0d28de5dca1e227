-- Publishes a batch of notification entries in one atomic step. An entry is
-- one event's share of targets: an event with more targets than one call may
-- carry is split over several entries, in several calls.
--
-- For each entry, in order:
--   * the event's marker counts how many of its targets were already
--     published (within the dedupe window); targets below that count are
--     skipped, so a retry never reaches a target twice, whichever failed first;
--     an event whose every target is counted is a duplicate;
--   * a notification id is drawn from a clock that only moves forward, so ids
--     order notifications across every stream;
--   * the frame is appended to each target's history stream (trimmed by count
--     and by age, and set to expire with the maximum age) and published on the
--     target's channel, and the marker counts it.
-- An entry that fails blocks its event and its streams for the rest of the
-- call: a later entry of the same event, or one that shares a stream with it,
-- answers `skip` (and blocks its own in turn), so nothing is published ahead
-- of a failure on the same stream; entries on other streams go on.
--
-- KEYS[1]            the clock (last notification id handed out)
-- then per entry:    the event's published marker, then one history stream per target
-- ARGV[1]            dedupe TTL (seconds)
-- ARGV[2]            history max length (entries, approximate)
-- ARGV[3]            history max age (milliseconds)
-- then per entry:    number of targets n, index of its first target in the
--                    event's target list, the event's total number of targets,
--                    notification type, frame without its leading `{` and id,
--                    then n channels (one per history stream, same order)
-- Returns per entry: `ok:<id>`, `dup` (every target published before),
-- `err:<message>` or `skip` (behind an earlier failure on its event or a stream).

local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', KEYS[1])
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  lms = tonumber(lms)
  if lms >= ms then ms = lms; seq = tonumber(lseq) + 1 end
end
local ttl, maxLen, maxAgeMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local oldest = string.format('%d-0', ms - maxAgeMs)
local results = {}
local lastId = nil
-- The markers and streams of entries that failed or were skipped.
local blocked = {}
local function block(k, n)
  for i = 0, n do blocked[KEYS[k + i]] = true end
end
local function isBlocked(k, n)
  for i = 0, n do
    if blocked[KEYS[k + i]] then return true end
  end
  return false
end
local k, a = 2, 4
while a <= #ARGV do
  local n, first, total = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local marker = KEYS[k]
  if isBlocked(k, n) then
    block(k, n)
    results[#results + 1] = 'skip'
  else
    -- A marker written before counts were kept holds a notification id: published.
    local done = redis.call('GET', marker)
    done = done and (tonumber(done) or total) or 0
    if done >= first + n then
      results[#results + 1] = 'dup'
    else
      local id = string.format('%d-%d', ms, seq)
      seq = seq + 1
      -- The id is spent either way, so the clock never hands it out twice.
      lastId = id
      local frame = '{"type":"notification","id":"' .. id .. '",' .. ARGV[a + 4]
      local err = nil
      for i = 1, n do
        if first + i > done then
          local stream = KEYS[k + i]
          local r = redis.pcall('XADD', stream, 'MAXLEN', '~', maxLen, id, 't', ARGV[a + 3], 'f', frame)
          if type(r) == 'table' and r.err then err = r.err; break end
          redis.call('XTRIM', stream, 'MINID', oldest)
          redis.call('PEXPIRE', stream, maxAgeMs)
          redis.call('PUBLISH', ARGV[a + 4 + i], frame)
          done = first + i
        end
      end
      redis.call('SET', marker, done, 'EX', ttl)
      if err then
        block(k, n)
        results[#results + 1] = 'err:' .. err
      else
        results[#results + 1] = 'ok:' .. id
      end
    end
  end
  k = k + 1 + n
  a = a + 5 + n
end
if lastId then redis.call('SET', KEYS[1], lastId) end
return results
