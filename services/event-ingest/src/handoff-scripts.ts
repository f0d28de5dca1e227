/**
 * Scripts that move a batch of jobs through a BullMQ queue in one call each,
 * writing exactly what BullMQ's own one-job scripts (addStandardJob,
 * moveToActive, moveToFinished) write for the options our jobs use: the job
 * hash and its fields, the lists and sets, the lock, the events stream. So
 * BullMQ's Queue reads these jobs like any other, and BullMQ's worker takes
 * one over through its stall check if the lock lapses. Written against
 * BullMQ 5.81 (pinned to 5.81.x); test/job-handoff.test.ts reads every job
 * back through BullMQ, so an upgrade that changes the layout fails there.
 *
 * Each script works on keys of one queue, all under the `{pr}` hash tag. Job
 * keys are built inside the scripts from the queue's key prefix, as BullMQ's
 * scripts build them.
 */

/**
 * Stores each job and, unless the queue is paused or limited, takes it for
 * this worker in the same step: in `active`, locked with the worker's token,
 * as moveToActive leaves it. A job id that exists is not stored again (BullMQ
 * answers a re-add the same way). Paused or limited, the job waits in the list
 * BullMQ would put it in, for BullMQ's workers.
 *
 * KEYS: meta, active, wait, paused, marker, events.
 * ARGV: key prefix, timestamp (ms), lock token, lock ms, then per job: id, name, data, opts.
 * Returns per job `claimed`, `waiting` or `exists`.
 */
export const STORE_CLAIMED_SCRIPT = `
local prefix, now, token, lockMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta = redis.call('HMGET', KEYS[1], 'paused', 'concurrency', 'max', 'opts.maxLenEvents')
local maxEvents = meta[4]
if not maxEvents then
  maxEvents = 10000
  redis.call('HSET', KEYS[1], 'opts.maxLenEvents', maxEvents)
end
local claim = not (meta[1] or meta[2] or meta[3])
local results = {}
for i = 5, #ARGV, 4 do
  local id, name = ARGV[i], ARGV[i + 1]
  local jobKey = prefix .. id
  if redis.call('EXISTS', jobKey) == 1 then
    redis.call('XADD', KEYS[6], 'MAXLEN', '~', maxEvents, '*', 'event', 'duplicated', 'jobId', id)
    results[#results + 1] = 'exists'
  else
    redis.call('HMSET', jobKey, 'name', name, 'data', ARGV[i + 2], 'opts', ARGV[i + 3], 'timestamp', now, 'delay', 0, 'priority', 0)
    redis.call('XADD', KEYS[6], '*', 'event', 'added', 'jobId', id, 'name', name)
    if claim then
      redis.call('LPUSH', KEYS[2], id)
      redis.call('SET', jobKey .. ':lock', token, 'PX', lockMs)
      redis.call('HSET', jobKey, 'processedOn', now, 'ats', 1)
      redis.call('XADD', KEYS[6], '*', 'event', 'active', 'jobId', id, 'prev', 'waiting')
      results[#results + 1] = 'claimed'
    else
      if meta[1] then
        redis.call('LPUSH', KEYS[4], id)
      else
        redis.call('LPUSH', KEYS[3], id)
        redis.call('ZADD', KEYS[5], 0, '0')
      end
      redis.call('XADD', KEYS[6], '*', 'event', 'waiting', 'jobId', id)
      results[#results + 1] = 'waiting'
    end
  end
end
return results
`;

/**
 * Completes each job this worker still holds, as moveToFinished does with our
 * jobs' removeOnComplete: completed set, attempts made, return value, event;
 * then, once for the batch, drops completed jobs past the age and count kept,
 * and trims the events stream. A job whose lock lapsed is left alone: BullMQ's
 * stall check gave it to another worker, which completes it.
 *
 * KEYS: active, stalled, completed, events, meta.
 * ARGV: key prefix, timestamp (ms), lock token, keep age (s), keep count, then per job: id, return value.
 * Returns per job `ok` or `lost`.
 */
export const COMPLETE_CLAIMED_SCRIPT = `
local prefix, now, token = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local maxAge, maxCount = tonumber(ARGV[4]), tonumber(ARGV[5])
local results = {}
for i = 6, #ARGV, 2 do
  local id, value = ARGV[i], ARGV[i + 1]
  local jobKey = prefix .. id
  if redis.call('GET', jobKey .. ':lock') == token and redis.call('LREM', KEYS[1], -1, id) > 0 then
    redis.call('DEL', jobKey .. ':lock')
    redis.call('SREM', KEYS[2], id)
    redis.call('HINCRBY', jobKey, 'atm', 1)
    redis.call('ZADD', KEYS[3], now, id)
    redis.call('HSET', jobKey, 'returnvalue', value, 'finishedOn', now)
    redis.call('XADD', KEYS[4], '*', 'event', 'completed', 'jobId', id, 'returnvalue', value, 'prev', 'active')
    results[#results + 1] = 'ok'
  else
    results[#results + 1] = 'lost'
  end
end
local function removeJob(id)
  local jobKey = prefix .. id
  redis.call('DEL', jobKey, jobKey .. ':logs', jobKey .. ':dependencies', jobKey .. ':processed', jobKey .. ':failed', jobKey .. ':unsuccessful')
end
local oldest = now - maxAge * 1000
local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', oldest, 'LIMIT', 0, 1000)
for _, id in ipairs(old) do removeJob(id) end
if #old > 0 then redis.call('ZREM', KEYS[3], unpack(old)) end
local extra = redis.call('ZREVRANGE', KEYS[3], maxCount, -1)
for _, id in ipairs(extra) do removeJob(id) end
if #extra > 0 then redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(maxCount + 1)) end
redis.call('XTRIM', KEYS[4], 'MAXLEN', '~', redis.call('HGET', KEYS[5], 'opts.maxLenEvents') or 10000)
return results
`;

/**
 * Takes up to a count of jobs from `wait` for this worker, oldest first, as
 * moveToActive takes one: into `active`, locked with the worker's token,
 * attempt started, event. Only `wait`: delayed and prioritized jobs, and any
 * queue that is paused or limited, stay BullMQ's. (This queue holds only
 * notification jobs, none with a parent.)
 *
 * KEYS: wait, active, meta, events.
 * ARGV: key prefix, timestamp (ms), lock token, lock ms, most jobs.
 * Returns per job: id, data, timestamp.
 */
export const CLAIM_WAITING_SCRIPT = `
local prefix, now, token, lockMs = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local meta = redis.call('HMGET', KEYS[3], 'paused', 'concurrency', 'max')
if meta[1] or meta[2] or meta[3] then return {} end
local out = {}
for _ = 1, tonumber(ARGV[5]) do
  local id = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
  if not id then break end
  local jobKey = prefix .. id
  redis.call('SET', jobKey .. ':lock', token, 'PX', lockMs)
  redis.call('HSET', jobKey, 'processedOn', now)
  redis.call('HINCRBY', jobKey, 'ats', 1)
  redis.call('XADD', KEYS[4], '*', 'event', 'active', 'jobId', id, 'prev', 'waiting')
  local job = redis.call('HMGET', jobKey, 'data', 'timestamp')
  out[#out + 1] = id
  out[#out + 1] = job[1] or ''
  out[#out + 1] = job[2] or '0'
end
return out
`;
