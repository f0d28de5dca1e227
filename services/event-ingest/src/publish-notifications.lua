-- Publishes a batch of notification entries in one atomic step. An entry is
-- one event's share of targets in this call. A target is one stream: its
-- history, its epoch and its channel share a name and a Redis Cluster slot,
-- and on a cluster every target of one call lies in one slot.
--
-- For each target of each entry, in order:
--   * if the event was published to this stream before (its id is in the
--     stream's dedupe set, within the dedupe window) it is skipped, so a
--     retry never reaches a target twice, whatever failed first;
--   * the notification gets the stream's next id (XADD *): positions are per
--     stream, with no clock shared between streams;
--   * the stream's epoch is the id of its first entry since it last began: a
--     stream that expired or was lost begins again with a new epoch, which
--     tells a resuming client its position there no longer counts;
--   * the entry (type and frame body) is appended to the history, and the
--     frame is published on the stream's channel: with tracing on, after the
--     entry's traceparent and a newline (the notifier strips them; history
--     never holds them), otherwise alone.
-- History is kept by time first: everything from the last window stays;
-- older entries stay while the stream holds at most the soft length, and
-- never past the maximum age (the stream expires with it). The hard length
-- bounds a stream whatever the rate (the memory guard). The dedupe set keeps
-- each event id for the dedupe window, and at most the hard length of them.
-- A stream whose append failed is blocked for the rest of the call: later
-- targets on it are not published (their entry answers `skip`), so nothing
-- overtakes a failure on the same stream; other streams go on.
--
-- KEYS                per target: history stream, epoch, dedupe set
-- ARGV[1]             dedupe window (milliseconds)
-- ARGV[2]             soft length: past it, entries older than the window go
-- ARGV[3]             history max age (milliseconds)
-- ARGV[4]             PUBLISH, or SPUBLISH on a cluster
-- ARGV[5]             history window (milliseconds)
-- ARGV[6]             hard length (entries, approximate)
-- ARGV[7..10]         the frame's fixed text before the id, the stream, the
--                     epoch and the body (NOTIFICATION_FRAME_PIECES in
--                     shared/protocol, which owns the layout)
-- then per entry:     number of targets n, event id, notification type,
--                     frame body (notificationBody), traceparent of its
--                     publish span ('' with tracing off), then per target its
--                     channel and its stream's name in frames
-- Returns { per entry: `ok` (published to at least one target), `dup` (every
-- target had it before), `err:<message>`, or `skip` (behind a failure);
-- then the channels of the streams blocked }.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dedupeMs, softLength, maxAgeMs, publish = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local windowMs, hardLength = tonumber(ARGV[5]), ARGV[6]
local beforeId, beforeStream, beforeEpoch, beforeBody = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local oldest = string.format('%d-0', now - maxAgeMs)
local windowStart = string.format('%d-0', now - windowMs)
local blocked = {}
local blockedChannels = {}
local results = {}
local k, a = 1, 11
while a <= #ARGV do
  local n, eventId, notificationType, body = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local traceHeader = ARGV[a + 4]
  if traceHeader ~= '' then traceHeader = traceHeader .. '\n' end
  local fresh, err, skipped = 0, nil, false
  for i = 0, n - 1 do
    local history, epochKey, published = KEYS[k + 3 * i], KEYS[k + 3 * i + 1], KEYS[k + 3 * i + 2]
    local channel, name = ARGV[a + 5 + 2 * i], ARGV[a + 6 + 2 * i]
    if blocked[history] then
      skipped = true
    elseif not redis.call('ZSCORE', published, eventId) then
      local id = redis.pcall('XADD', history, 'MAXLEN', '~', hardLength, '*', 't', notificationType, 'b', body)
      if type(id) == 'table' and id.err then
        err = err or id.err
        blocked[history] = true
        blockedChannels[#blockedChannels + 1] = channel
      else
        local epoch = redis.call('GET', epochKey)
        if epoch then
          redis.call('PEXPIRE', epochKey, maxAgeMs)
        else
          epoch = id
          redis.call('SET', epochKey, epoch, 'PX', maxAgeMs)
        end
        redis.call('XTRIM', history, 'MINID', oldest)
        if redis.call('XLEN', history) > softLength then
          -- `~`: whole nodes only, so the window is always kept, and this costs next to nothing.
          redis.call('XTRIM', history, 'MINID', '~', windowStart)
        end
        redis.call('PEXPIRE', history, maxAgeMs)
        redis.call('ZADD', published, now, eventId)
        redis.call('ZREMRANGEBYSCORE', published, '-inf', string.format('(%d', now - dedupeMs))
        local remembered = redis.call('ZCARD', published)
        if remembered > tonumber(hardLength) then redis.call('ZREMRANGEBYRANK', published, 0, remembered - tonumber(hardLength) - 1) end
        redis.call('PEXPIRE', published, dedupeMs)
        redis.call(publish, channel, traceHeader .. beforeId .. id .. beforeStream .. name .. beforeEpoch .. epoch .. beforeBody .. body)
        fresh = fresh + 1
      end
    end
  end
  if err then
    results[#results + 1] = 'err:' .. err
  elseif skipped then
    results[#results + 1] = 'skip'
  elseif fresh > 0 then
    results[#results + 1] = 'ok'
  else
    results[#results + 1] = 'dup'
  end
  k = k + 3 * n
  a = a + 5 + 2 * n
end
return { results, blockedChannels }
