import { type AcceptedEvent, broadcastStream, NOTIFICATION_FRAME_PIECES, notificationBody, type StreamName, userStream } from '@parking-realtime/protocol';
import { broadcastChannel, epochKey, historyKey, isCluster, LuaScript, publishedKey, type RedisClient, slotGroupOf, userChannel } from '@parking-realtime/redis';
import { type Context, endSpan, type Span, SpanKind, startSpan, traceparentOf, TurnBatch, tracing } from '@parking-realtime/runtime';

/** Writes each notification to its streams' history and channels; the file's header says how. */
const PUBLISH_SCRIPT = new LuaScript('publishNotifications', new URL('./publish-notifications.lua', import.meta.url));

type PublishingRedis = RedisClient & {
  publishNotifications(numKeys: number, keys: string[], argv: Array<string | number>): Promise<[string[], string[]]>;
};

/**
 * Most targets in one script call: an event with more is split over several
 * entries, and a batch over several calls, so no call (nor its argument list)
 * grows with the input. Redis runs a script alone; this bounds how long.
 */
export const MAX_TARGETS_PER_CALL = 256;

export interface PublisherOptions {
  /** An event id published to a stream is remembered this long (and at most `historyMaxEntries` per stream). */
  dedupeTtlSeconds: number;
  /** Past this many entries, a stream drops what is older than the window. */
  historyMaxLength: number;
  /** Entries older than this leave the history, and a stream expires this long after its last entry. */
  historyMaxAgeSeconds: number;
  /** Everything published to a stream this recently stays in its history. Default DEFAULT_HISTORY_WINDOW_SECONDS. */
  historyWindowSeconds?: number;
  /** The most entries a stream holds whatever the rate (approximate): the memory guard. Default DEFAULT_HISTORY_MAX_ENTRIES. */
  historyMaxEntries?: number;
}

/** Two minutes: longer than a notifier crash, a deploy or a phone changing networks takes to come back from. */
export const DEFAULT_HISTORY_WINDOW_SECONDS = 120;

/**
 * The window at the rated load, 200 notifications/s on one stream, with a
 * quarter to spare: 200 × 120 × 1.25. About 8 MB per stream that full
 * (docs/reliability.md has the measurement).
 */
export const DEFAULT_HISTORY_MAX_ENTRIES = 30_000;

interface PendingPublish {
  event: AcceptedEvent;
  published: (fresh: boolean) => void;
  failed: (err: Error) => void;
  /** With tracing on: the worker's span for the event, parent of its publish spans. */
  trace?: Context | undefined;
}

/** A stream a notification goes to: its channel (which names its keys) and its name in frames. */
interface Target {
  channel: string;
  stream: StreamName;
}

/** One event's share of targets in one call. */
interface Entry {
  pending: PendingPublish;
  targets: Target[];
  body: string;
}

/** Where a notification goes: each user once, in a stable order, or the type's broadcast stream. */
function targetsOf(event: AcceptedEvent): Target[] {
  if (!event.user_ids) return [{ channel: broadcastChannel(event.type), stream: broadcastStream(event.type) }];
  return [...new Set(event.user_ids.map(String))].map((u) => ({ channel: userChannel(u, event.type), stream: userStream(event.type) }));
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

/** How one event's entries went, across every call it took. */
interface Outcome {
  left: number;
  fresh: boolean;
  error?: Error;
}

export class NotificationPublisher {
  private readonly redis: PublishingRedis;
  /** SPUBLISH on a cluster: a channel's messages stay on its shard. */
  private readonly publishCommand: 'PUBLISH' | 'SPUBLISH';
  /** Events published while a batch is on its way wait and leave together, in order. */
  private readonly commits = new TurnBatch<PendingPublish[]>({
    empty: () => [],
    commit: (batch) => this.publishBatch(batch),
    fail(batch, err) {
      for (const { failed } of batch) failed(err as Error);
    },
  });

  constructor(
    redis: RedisClient,
    private readonly options: PublisherOptions,
  ) {
    this.redis = PUBLISH_SCRIPT.defineOn(redis) as PublishingRedis;
    this.publishCommand = isCluster(redis) ? 'SPUBLISH' : 'PUBLISH';
  }

  /**
   * Publishes an accepted event; resolves with true, or false if every
   * target had it before. Events published together (a job's events) share
   * script calls and are published in the order given. One that fails on a
   * stream blocks that stream: the events after it in its batch on the same
   * stream are not published and fail too (a retry keeps their order); the
   * others go on. With tracing on, `trace` (the worker's span) is the parent
   * of the event's `publish notification` span, one per script call it takes.
   */
  publish(event: AcceptedEvent, trace?: Context): Promise<boolean> {
    return new Promise((published, failed) => this.commits.gather().push({ event, published, failed, trace }));
  }

  /** Resolves once everything handed to publish() has been answered. */
  settled(): Promise<void> {
    return this.commits.drain();
  }

  private async publishBatch(batch: PendingPublish[]): Promise<void> {
    // A call holds one slot group's streams, on one Redis as on a cluster: one path for both,
    // and every call is one a cluster accepts (e2e/test/slot-safety.test.ts watches for it).
    const groups = new Map<string, Entry[]>();
    const outcomes = new Map<PendingPublish, Outcome>();
    for (const pending of batch) {
      let body: string;
      try {
        body = notificationBody(pending.event);
      } catch (err) {
        // Data that cannot be framed can never be published; it must not hold up the rest.
        pending.failed(err as Error);
        continue;
      }
      const outcome: Outcome = { left: 0, fresh: false };
      outcomes.set(pending, outcome);
      const byGroup = new Map<string, Target[]>();
      for (const target of targetsOf(pending.event)) {
        const group = slotGroupOf(target.channel);
        const targets = byGroup.get(group) ?? [];
        targets.push(target);
        byGroup.set(group, targets);
      }
      for (const [group, targets] of byGroup) {
        const entries = groups.get(group) ?? [];
        for (let first = 0; first < targets.length; first += MAX_TARGETS_PER_CALL) {
          entries.push({ pending, targets: targets.slice(first, first + MAX_TARGETS_PER_CALL), body });
          outcome.left += 1;
        }
        groups.set(group, entries);
      }
    }
    // Groups share no stream, so they go out together; within one, calls follow each other.
    await Promise.all([...groups.values()].map((entries) => this.publishGroup(entries, outcomes)));
    for (const [pending, outcome] of outcomes) {
      if (outcome.left === 0) pending.published(outcome.fresh);
      else pending.failed(outcome.error ?? new Error('not published, behind a failure on its stream'));
    }
  }

  /**
   * One group's entries, in calls that follow each other. As the script does
   * within a call, across calls: a stream that failed is blocked, so nothing
   * later on it is published ahead of the failure; the other streams go on.
   */
  private async publishGroup(entries: readonly Entry[], outcomes: Map<PendingPublish, Outcome>): Promise<void> {
    const blocked = new Set<string>();
    const fail = (entry: Entry, error: Error) => {
      const outcome = outcomes.get(entry.pending)!;
      outcome.error = outcome.error ?? error;
    };
    for (const packed of callsOf(entries)) {
      const call = packed.filter((entry) => {
        if (!entry.targets.some(({ channel }) => blocked.has(channel))) return true;
        fail(entry, new Error('not published, behind a failure on its stream'));
        return false;
      });
      if (call.length === 0) continue;
      const spans = tracing.enabled ? publishSpans(call) : undefined;
      const answer = await this.run(call, spans).catch((err: Error) => err);
      if (spans) endPublishSpans(spans, answer);
      if (answer instanceof Error) {
        // Redis did not answer: nothing after this call in the group is sent.
        for (const entry of entries) if (!outcomes.get(entry.pending)!.error) fail(entry, answer);
        return;
      }
      const [results, blockedChannels] = answer;
      for (const channel of blockedChannels) blocked.add(channel);
      call.forEach((entry, i) => {
        const result = results[i] ?? 'err:no result for the entry';
        const outcome = outcomes.get(entry.pending)!;
        if (result === 'ok' || result === 'dup') {
          outcome.left -= 1;
          outcome.fresh ||= result === 'ok';
        } else {
          fail(entry, new Error(result.startsWith('err:') ? result.slice(4) : 'not published, behind a failure on its stream'));
        }
      });
    }
  }

  /** `spans`: each entry's publish span (or none), whose `traceparent` the script puts before the frames it publishes. */
  private run(call: readonly Entry[], spans?: ReadonlyArray<Span | undefined>): Promise<[string[], string[]]> {
    const keys: string[] = [];
    const argv: Array<string | number> = [
      this.options.dedupeTtlSeconds * 1000,
      this.options.historyMaxLength,
      this.options.historyMaxAgeSeconds * 1000,
      this.publishCommand,
      (this.options.historyWindowSeconds ?? DEFAULT_HISTORY_WINDOW_SECONDS) * 1000,
      this.options.historyMaxEntries ?? DEFAULT_HISTORY_MAX_ENTRIES,
      ...NOTIFICATION_FRAME_PIECES,
    ];
    for (let i = 0; i < call.length; i++) {
      const { pending, targets, body } = call[i]!;
      const span = spans?.[i];
      argv.push(targets.length, pending.event.id, pending.event.type, body, span ? traceparentOf(span) : '');
      for (const { channel, stream } of targets) {
        keys.push(historyKey(channel), epochKey(channel), publishedKey(channel));
        argv.push(channel, stream);
      }
    }
    return this.redis.publishNotifications(keys.length, keys, argv);
  }
}

/** A `publish notification` span for each entry of a call whose event is traced: its share of the script call. */
function publishSpans(call: readonly Entry[]): Array<Span | undefined> {
  return call.map(({ pending, targets }) =>
    pending.trace
      ? startSpan(
          'publish notification',
          SpanKind.PRODUCER,
          {
            'messaging.system': 'redis',
            'messaging.operation.type': 'send',
            'messaging.batch.message_count': targets.length,
            'notification.id': pending.event.id,
            'notification.type': pending.event.type,
          },
          pending.trace,
        )
      : undefined,
  );
}

/** Ends each entry's span with the script's answer for it (`ok`, `dup`, `skip`, `err:…`), or the call's error. */
function endPublishSpans(spans: ReadonlyArray<Span | undefined>, answer: [string[], string[]] | Error): void {
  spans.forEach((span, i) => {
    if (!span) return;
    if (answer instanceof Error) {
      endSpan(span, answer);
      return;
    }
    const result = answer[0][i] ?? 'err:no result for the entry';
    span.setAttribute('notification.publish.result', result.startsWith('err:') ? 'err' : result);
    endSpan(span, result.startsWith('err:') ? result.slice(4) : undefined);
  });
}
