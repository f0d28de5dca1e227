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
 * In one atomic step: skip an event id already published within the dedupe
 * window; draw the next notification id from a clock that only moves forward,
 * so ids order notifications across every stream; append the frame to each
 * target's history; publish it on each target's channel; mark the id published.
 *
 * KEYS: published marker, clock, history streams…   ARGV: dedupe TTL, history
 * length, history age (ms), notification type, frame without its id, then one
 * channel per history stream.
 */
const PUBLISH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seq = 0
local last = redis.call('GET', KEYS[2])
if last then
  local lms, lseq = string.match(last, '^(%d+)-(%d+)$')
  lms = tonumber(lms)
  if lms >= ms then ms = lms; seq = tonumber(lseq) + 1 end
end
local id = string.format('%d-%d', ms, seq)
redis.call('SET', KEYS[2], id)
local frame = '{"type":"notification","id":"' .. id .. '",' .. ARGV[5]
local oldest = string.format('%d-0', ms - tonumber(ARGV[3]))
for i = 3, #KEYS do
  redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[2], id, 't', ARGV[4], 'f', frame)
  redis.call('XTRIM', KEYS[i], 'MINID', oldest)
  redis.call('PUBLISH', ARGV[i + 3], frame)
end
redis.call('SET', KEYS[1], id, 'EX', ARGV[1])
return id
`;

/** The script as ioredis' defineCommand exposes it (EVALSHA, falling back to EVAL). */
interface WithPublishCommand {
  publishNotification(numKeys: number, ...args: Array<string | number>): Promise<string | null>;
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

  constructor(
    redis: Redis,
    private readonly options: PublisherOptions,
  ) {
    if (!('publishNotification' in redis)) redis.defineCommand('publishNotification', { lua: PUBLISH_SCRIPT });
    this.redis = redis as Redis & WithPublishCommand;
  }

  /** Publishes an accepted event; resolves with its notification id, or null if it was published before. */
  async publish(event: AcceptedEvent): Promise<string | null> {
    const frameTail = JSON.stringify({
      notification_type: event.type,
      message: event.message,
      data: event.data,
      created_at: event.created_at,
    }).slice(1);
    const pairs = targets(event.type, event.user_ids);
    const keys = [publishedEventKey(event.id), NOTIFICATION_CLOCK_KEY, ...pairs.map(([stream]) => stream)];
    const argv = [
      this.options.dedupeTtlSeconds,
      this.options.historyMaxLength,
      this.options.historyMaxAgeSeconds * 1000,
      event.type,
      frameTail,
      ...pairs.map(([, ch]) => ch),
    ];
    return this.redis.publishNotification(keys.length, ...keys, ...argv);
  }
}
