import type { AcceptedEvent, NotificationType } from '@parking-realtime/protocol';
import {
  broadcastChannel,
  broadcastHistoryKey,
  GroupCommit,
  LuaScript,
  NOTIFICATION_CLOCK_KEY,
  publishedEventKey,
  type Redis,
  userChannel,
  userHistoryKey,
} from '@parking-realtime/server';

/** Writes each notification to its targets' history and channels; the file's header says how. */
const PUBLISH_SCRIPT = new LuaScript('publishNotifications', new URL('./publish-notifications.lua', import.meta.url));

type PublishingRedis = Redis & {
  publishNotifications(numKeys: number, keys: string[], argv: Array<string | number>): Promise<string[]>;
};

/**
 * Most targets in one script call: an event with more is split over several
 * entries, and a batch over several calls, so no call (nor its argument list)
 * grows with the input. Redis runs a script alone; this bounds how long.
 */
export const MAX_TARGETS_PER_CALL = 256;

export interface PublisherOptions {
  dedupeTtlSeconds: number;
  historyMaxLength: number;
  /** Entries older than this leave the history, and a stream expires this long after its last entry. */
  historyMaxAgeSeconds: number;
}

interface PendingPublish {
  event: AcceptedEvent;
  published: (id: string | null) => void;
  failed: (err: Error) => void;
}

/** One event's share of targets in one call. */
interface Entry {
  pending: PendingPublish;
  /** Index of its first target in the event's target list. */
  first: number;
  total: number;
  targets: Array<[stream: string, channel: string]>;
  frameTail: string;
}

/** Where a notification goes: (history stream, channel) pairs, each user once, in a stable order so retries count the same. */
function targetsOf(type: NotificationType, userIds: ReadonlyArray<string | number> | undefined): Array<[string, string]> {
  if (!userIds) return [[broadcastHistoryKey(type), broadcastChannel(type)]];
  return [...new Set(userIds.map(String))].map((u) => [userHistoryKey(u), userChannel(u, type)]);
}

/** The frame without its opening `{` and id, which the script adds. */
function frameTailOf(event: AcceptedEvent): string {
  return JSON.stringify({
    notification_type: event.type,
    message: event.message,
    data: event.data,
    created_at: event.created_at,
  }).slice(1);
}

/** Entries packed into calls of at most MAX_TARGETS_PER_CALL targets, in order. */
function callsOf(entries: readonly Entry[]): Entry[][] {
  const calls: Entry[][] = [];
  let call: Entry[] = [];
  let size = 0;
  for (const entry of entries) {
    if (size + entry.targets.length > MAX_TARGETS_PER_CALL) {
      calls.push(call);
      call = [];
      size = 0;
    }
    call.push(entry);
    size += entry.targets.length;
  }
  if (call.length > 0) calls.push(call);
  return calls;
}

export class NotificationPublisher {
  private readonly redis: PublishingRedis;
  /** Events published while a batch is on its way wait and leave together, in order. */
  private readonly commits = new GroupCommit<PendingPublish>(
    (batch) => this.publishBatch(batch),
    (batch, err) => {
      for (const { failed } of batch) failed(err as Error);
    },
  );

  constructor(
    redis: Redis,
    private readonly options: PublisherOptions,
  ) {
    this.redis = PUBLISH_SCRIPT.defineOn(redis) as PublishingRedis;
  }

  /**
   * Publishes an accepted event; resolves with its notification id, or null if
   * it was published before. Events published together (a job's events) share
   * script calls and are published in the order given. One that fails blocks
   * the streams it targets: the events after it in its batch on any of them
   * are not published and fail too (a retry keeps their order); the others go on.
   */
  publish(event: AcceptedEvent): Promise<string | null> {
    return new Promise((published, failed) => this.commits.add({ event, published, failed }));
  }

  /** Resolves once everything handed to publish() has been answered. */
  settled(): Promise<void> {
    return this.commits.drain();
  }

  private async publishBatch(batch: PendingPublish[]): Promise<void> {
    const entries: Entry[] = [];
    for (const pending of batch) {
      let frameTail: string;
      try {
        frameTail = frameTailOf(pending.event);
      } catch (err) {
        // Data that cannot be framed can never be published; it must not hold up the rest.
        pending.failed(err as Error);
        continue;
      }
      const targets = targetsOf(pending.event.type, pending.event.user_ids);
      for (let first = 0; first < targets.length; first += MAX_TARGETS_PER_CALL) {
        entries.push({ pending, first, total: targets.length, targets: targets.slice(first, first + MAX_TARGETS_PER_CALL), frameTail });
      }
    }

    const left = new Map<PendingPublish, number>();
    const ids = new Map<PendingPublish, string>();
    const errors = new Map<PendingPublish, Error>();
    for (const { pending } of entries) left.set(pending, (left.get(pending) ?? 0) + 1);
    // As the script does within a call, across calls: what failed blocks its event and its
    // streams, so nothing later on them is published ahead of it; the rest goes on.
    const blocked = new Set<unknown>();
    const touchesBlocked = ({ pending, targets }: Entry) => blocked.has(pending) || targets.some(([stream]) => blocked.has(stream));
    const block = ({ pending, targets }: Entry) => {
      blocked.add(pending);
      for (const [stream] of targets) blocked.add(stream);
    };
    let lost: Error | undefined;
    for (const packed of callsOf(entries)) {
      const call = packed.filter((entry) => {
        if (!touchesBlocked(entry)) return true;
        block(entry);
        return false;
      });
      if (call.length === 0) continue;
      const results = await this.run(call).catch((err: Error) => err);
      if (results instanceof Error) {
        // Redis did not answer: nothing after this call is sent.
        lost = results;
        break;
      }
      call.forEach((entry, i) => {
        const result = results[i] ?? 'err:no result for the entry';
        if (result === 'dup' || result.startsWith('ok:')) {
          left.set(entry.pending, (left.get(entry.pending) ?? 1) - 1);
          if (result !== 'dup') ids.set(entry.pending, ids.get(entry.pending) ?? result.slice(3));
        } else {
          block(entry);
          if (result.startsWith('err:') && !errors.has(entry.pending)) errors.set(entry.pending, new Error(result.slice(4)));
        }
      });
    }
    const firstError = errors.values().next().value;
    for (const [pending, remaining] of left) {
      if (remaining === 0) pending.published(ids.get(pending) ?? null);
      else pending.failed(errors.get(pending) ?? lost ?? new Error(`not published, behind a failure on its stream: ${firstError?.message ?? 'unknown'}`));
    }
  }

  private run(call: readonly Entry[]): Promise<string[]> {
    const keys: string[] = [NOTIFICATION_CLOCK_KEY];
    const argv: Array<string | number> = [this.options.dedupeTtlSeconds, this.options.historyMaxLength, this.options.historyMaxAgeSeconds * 1000];
    for (const { pending, first, total, targets, frameTail } of call) {
      keys.push(publishedEventKey(pending.event.id));
      argv.push(targets.length, first, total, pending.event.type, frameTail);
      for (const [stream] of targets) keys.push(stream);
      for (const [, channel] of targets) argv.push(channel);
    }
    return this.redis.publishNotifications(keys.length, keys, argv);
  }
}
