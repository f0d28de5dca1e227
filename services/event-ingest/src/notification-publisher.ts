import type { AcceptedEvent, NotificationType } from '@parking-realtime/protocol';
import {
  broadcastChannel,
  broadcastHistoryKey,
  NOTIFICATION_CLOCK_KEY,
  publishedEventKey,
  type Redis,
  userChannel,
  userHistoryKey,
} from '@parking-realtime/server';

/**
 * For each event of a batch, in one atomic step: skip an event id already
 * published within the dedupe window; draw the next notification id from a
 * clock that only moves forward, so ids order notifications across every
 * stream; append the frame to each target's history; publish it on each
 * target's channel; mark the id published. One call for a batch costs Redis one
 * script run and the worker one write, where a call per event cost one each.
 *
 * An event whose commands fail (say, a history key of the wrong type) answers
 * `err:` and leaves the others of its batch alone: it is retried by itself.
 *
 * KEYS: clock, then per event its published marker and its history streams.
 * ARGV: dedupe TTL, history length, history age (ms), then per event: its
 * number of targets, notification type, frame without its id, one channel per
 * history stream.
 * Returns per event `ok:<id>`, `dup` (published before) or `err:<message>`.
 */
const PUBLISH_SCRIPT = `
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', KEYS[1])
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  lms = tonumber(lms)
  if lms >= ms then ms = lms; seq = tonumber(lseq) + 1 end
end
local oldest = string.format('%d-0', ms - tonumber(ARGV[3]))
local results = {}
local lastId = nil
local k, a = 2, 4
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  local marker = KEYS[k]
  if redis.call('EXISTS', marker) == 1 then
    results[#results + 1] = 'dup'
  else
    local id = string.format('%d-%d', ms, seq)
    seq = seq + 1
    local frame = '{"type":"notification","id":"' .. id .. '",' .. ARGV[a + 2]
    local failed = nil
    for i = 1, n do
      local r = redis.pcall('XADD', KEYS[k + i], 'MAXLEN', '~', ARGV[2], id, 't', ARGV[a + 1], 'f', frame)
      if type(r) == 'table' and r.err then failed = r.err; break end
      redis.call('XTRIM', KEYS[k + i], 'MINID', oldest)
      redis.call('PUBLISH', ARGV[a + 2 + i], frame)
    end
    -- The id is spent either way, so the clock never hands it out twice.
    lastId = id
    if failed then
      results[#results + 1] = 'err:' .. failed
    else
      redis.call('SET', marker, id, 'EX', ARGV[1])
      results[#results + 1] = 'ok:' .. id
    end
  end
  k = k + 1 + n
  a = a + 3 + n
end
if lastId then redis.call('SET', KEYS[1], lastId) end
return results
`;

/** The script as ioredis' defineCommand exposes it (EVALSHA, falling back to EVAL). */
interface WithPublishCommand {
  publishNotifications(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
}

/** Most events in one script call; a larger batch is split. */
const MAX_BATCH = 256;

interface PendingPublish {
  event: AcceptedEvent;
  published: (id: string | null) => void;
  failed: (err: Error) => void;
}

export interface PublisherOptions {
  dedupeTtlSeconds: number;
  historyMaxLength: number;
  /** Entries older than this leave the history. */
  historyMaxAgeSeconds: number;
}

/** Where a notification goes: (history stream, channel) pairs. */
function targets(type: NotificationType, userIds: ReadonlyArray<string | number> | undefined): Array<[string, string]> {
  if (!userIds) return [[broadcastHistoryKey(type), broadcastChannel(type)]];
  const unique = [...new Set(userIds.map(String))];
  return unique.map((u) => [userHistoryKey(u), userChannel(u, type)]);
}

export class NotificationPublisher {
  private readonly redis: Redis & WithPublishCommand;
  private pending: PendingPublish[] = [];

  constructor(
    redis: Redis,
    private readonly options: PublisherOptions,
  ) {
    if (!('publishNotifications' in redis)) redis.defineCommand('publishNotifications', { lua: PUBLISH_SCRIPT });
    this.redis = redis as Redis & WithPublishCommand;
  }

  /**
   * Publishes an accepted event; resolves with its notification id, or null if
   * it was published before. Events published in one turn of the event loop
   * (the worker's jobs in hand) share one script call.
   */
  publish(event: AcceptedEvent): Promise<string | null> {
    return new Promise((published, failed) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ event, published, failed });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) void this.publishBatch(batch.slice(i, i + MAX_BATCH));
  }

  private async publishBatch(batch: PendingPublish[]): Promise<void> {
    const keys: string[] = [NOTIFICATION_CLOCK_KEY];
    const argv: Array<string | number> = [this.options.dedupeTtlSeconds, this.options.historyMaxLength, this.options.historyMaxAgeSeconds * 1000];
    for (const { event } of batch) {
      const pairs = targets(event.type, event.user_ids);
      const frameTail = JSON.stringify({
        notification_type: event.type,
        message: event.message,
        data: event.data,
        created_at: event.created_at,
      }).slice(1);
      keys.push(publishedEventKey(event.id));
      argv.push(pairs.length, event.type, frameTail);
      for (const [stream, channel] of pairs) {
        keys.push(stream);
        argv.push(channel);
      }
    }
    let results: string[];
    try {
      results = await this.redis.publishNotifications(keys.length, ...keys, ...argv);
    } catch (err) {
      for (const p of batch) p.failed(err as Error);
      return;
    }
    batch.forEach((p, i) => {
      const result = results[i];
      if (result === 'dup') p.published(null);
      else if (result?.startsWith('ok:')) p.published(result.slice(3));
      else p.failed(new Error(result ? result.slice(4) : 'no result for the event'));
    });
  }
}
