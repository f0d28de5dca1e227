#!lua flags=no-writes
-- Where each of several streams stands, in one atomic step: each stream's
-- epoch and tip exactly as read-stream.lua reports them with a count of 0.
-- A subscribe that resumes nothing needs only this for every stream it
-- takes; one call for all of them costs Redis far less than one per stream.
-- On a cluster, every key of one call shares a slot. stream-reader.ts is its
-- one caller.
--
-- KEYS     pairs, one per stream: its history, then its epoch
-- Returns { epoch or '', tip, epoch or '', tip, ... } in the order of KEYS.
--   tip:  the last id the stream handed out; for a stream that does not
--         exist, one just below any id it could hand out from now on.

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local missingTip = string.format('%d-0', now - 1)
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = redis.call('GET', KEYS[i + 1]) or ''
  local tip = missingTip
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local raw = redis.call('XINFO', 'STREAM', KEYS[i])
    for j = 1, #raw, 2 do
      if raw[j] == 'last-generated-id' then tip = raw[j + 1] end
    end
  end
  out[#out + 1] = tip
end
return out
