import { isCluster, type RedisClient, slotGroupOf } from '@parking-realtime/redis';
import { TurnBatch } from '@parking-realtime/runtime';

/**
 * Most channels named in one SUBSCRIBE or UNSUBSCRIBE. Spreading a whole list
 * into one call puts every channel on the stack: past about 120,000 channels
 * that throws `RangeError: Maximum call stack size exceeded`.
 */
export const MAX_CHANNELS_PER_COMMAND = 1000;

/**
 * SUBSCRIBE to every channel, any number of them, in commands of a bounded
 * size sent back to back; on a cluster, SSUBSCRIBE (sharded pub/sub: a
 * channel's messages stay on its shard), one command per slot group. Settles
 * once every command is answered, like one command would: resolves if all
 * succeeded, else rejects with the first error.
 */
export function subscribeAll(redis: RedisClient, channels: readonly string[]): Promise<void> {
  if (isCluster(redis)) return settled(inCommands(channels, true).map((group) => redis.ssubscribe(...group)));
  return settled(inCommands(channels, false).map((chunk) => redis.subscribe(...chunk)));
}

/** UNSUBSCRIBE from every channel, as `subscribeAll` subscribes. */
export function unsubscribeAll(redis: RedisClient, channels: readonly string[]): Promise<void> {
  if (isCluster(redis)) return settled(inCommands(channels, true).map((group) => redis.sunsubscribe(...group)));
  return settled(inCommands(channels, false).map((chunk) => redis.unsubscribe(...chunk)));
}

/** Channels in commands of at most MAX_CHANNELS_PER_COMMAND; sharded, each command within one slot group. */
function inCommands(channels: readonly string[], sharded: boolean): string[][] {
  const groups = new Map<string, string[]>();
  for (const channel of channels) {
    const key = sharded ? slotGroupOf(channel) : '';
    const group = groups.get(key);
    if (group) group.push(channel);
    else groups.set(key, [channel]);
  }
  const chunks: string[][] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += MAX_CHANNELS_PER_COMMAND) chunks.push(group.slice(i, i + MAX_CHANNELS_PER_COMMAND));
  }
  return chunks;
}

async function settled(commands: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(commands);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Subscriptions changed in one turn, and when they are all answered. */
interface Changes {
  subscribe: Set<string>;
  unsubscribe: Set<string>;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newChanges(): Changes {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Callers that only release never await; keep a rejection from going unhandled.
  done.catch(() => {});
  return { subscribe: new Set(), unsubscribe: new Set(), done, resolve, reject };
}

/**
 * Keeps one Redis subscriber connection (on a cluster, ioredis' sharded
 * subscribers: one connection per master) subscribed to exactly the channels
 * asked for. Changes made in one tick go out together: the UNSUBSCRIBEs, then
 * the SUBSCRIBEs, each in commands of at most MAX_CHANNELS_PER_COMMAND
 * channels. ioredis re-subscribes everything itself after a reconnect or failover.
 */
export class ChannelSubscriber {
  private readonly subscribed = new Set<string>();
  /** Channels whose subscription died with its connection, until restore() subscribes them again. */
  private readonly lost = new Set<string>();
  private restoration: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  /**
   * Channels whose SUBSCRIBE in flight was followed by an UNSUBSCRIBE (its
   * socket closed meanwhile): Redis ends unsubscribed, so when the SUBSCRIBE
   * is answered the channel is not marked subscribed, and a new ensure()
   * sends a SUBSCRIBE of its own.
   */
  private readonly undone = new Set<string>();
  /**
   * The changes asked for in this turn, sent at its end. The commit only
   * sends: commands on one connection run in order, so a turn's changes need
   * not wait for the previous turn's to be answered.
   */
  private readonly changes = new TurnBatch<Changes>({
    empty: newChanges,
    commit: (changes) => this.send(changes),
    fail: (changes, err) => changes.reject(err),
  });

  constructor(
    private readonly redis: RedisClient,
    onMessage: (channel: string, payload: Buffer) => void,
  ) {
    redis.on(isCluster(redis) ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, payload: Buffer) => onMessage(channel.toString(), payload));
  }

  /** Resolves once every channel is subscribed on Redis, so messages published after that arrive. */
  ensure(channels: readonly string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const channel of channels) {
      if (this.lost.has(channel)) {
        // Live only once subscribed again: what a caller reads after this must not precede it.
        waits.push(this.restoration!.promise);
        continue;
      }
      // A pending unsubscribe is simply cancelled: it was never sent.
      this.changes.gathering?.unsubscribe.delete(channel);
      const inFlight = this.inFlight.get(channel);
      // A SUBSCRIBE on its way holds, unless an UNSUBSCRIBE went out after it: then it is undone.
      if (inFlight && !this.undone.has(channel)) {
        waits.push(inFlight);
        continue;
      }
      if (!inFlight && this.subscribed.has(channel)) continue;
      const changes = this.changes.gather();
      changes.subscribe.add(channel);
      waits.push(changes.done);
    }
    return waits.length === 0 ? Promise.resolve() : Promise.all(waits).then(() => undefined);
  }

  /** Channels no longer needed; unsubscribed in the next batch. */
  release(channels: readonly string[]): void {
    for (const channel of channels) {
      if (this.changes.gathering?.subscribe.delete(channel)) continue;
      const held = this.subscribed.has(channel) || (this.inFlight.has(channel) && !this.undone.has(channel));
      // A lost channel is unsubscribed all the same: ioredis would otherwise subscribe it again itself.
      if (held || this.lost.delete(channel)) this.changes.gather().unsubscribe.add(channel);
    }
  }

  /**
   * The subscriptions of these channels died with their connection (a
   * reconnect, or a cluster shard's subscriber lost with its master): until
   * restore() has subscribed them again, ensure() of any of them waits.
   */
  markLost(channels: Iterable<string>): void {
    for (const channel of channels) {
      if (this.subscribed.delete(channel)) this.lost.add(channel);
    }
    if (this.lost.size > 0 && !this.restoration) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.restoration = { promise, resolve };
    }
  }

  /** Subscribes the lost channels again; resolves with them once Redis confirmed, rejects (keeping them lost) if it did not. */
  async restore(): Promise<string[]> {
    const channels = [...this.lost];
    if (channels.length === 0) return [];
    await subscribeAll(this.redis, channels);
    for (const channel of channels) {
      // Released meanwhile: its unsubscribe is on its way and wins.
      if (this.lost.delete(channel) && !this.changes.gathering?.unsubscribe.has(channel)) this.subscribed.add(channel);
    }
    if (this.lost.size === 0) {
      this.restoration?.resolve();
      this.restoration = undefined;
    }
    return channels;
  }

  get lostCount(): number {
    return this.lost.size;
  }

  get channelCount(): number {
    return this.subscribed.size;
  }

  private send({ subscribe, unsubscribe, resolve, reject }: Changes): void {
    const toUnsubscribe = [...unsubscribe];
    const toSubscribe = [...subscribe];
    const work: Promise<unknown>[] = [];
    if (toUnsubscribe.length > 0) {
      for (const channel of toUnsubscribe) {
        this.subscribed.delete(channel);
        if (this.inFlight.has(channel)) this.undone.add(channel);
      }
      // Commands on one connection run in order, so a later SUBSCRIBE of the same channel wins.
      work.push(unsubscribeAll(this.redis, toUnsubscribe));
    }
    if (toSubscribe.length > 0) {
      const done: Promise<void> = subscribeAll(this.redis, toSubscribe).then(() => {
        for (const channel of toSubscribe) {
          // A later SUBSCRIBE of the channel is in charge of it now.
          if (this.inFlight.get(channel) !== done) continue;
          this.inFlight.delete(channel);
          if (!this.undone.delete(channel)) this.subscribed.add(channel);
        }
      });
      for (const channel of toSubscribe) {
        this.undone.delete(channel);
        this.inFlight.set(channel, done);
      }
      work.push(done);
      done.catch(() => {
        for (const channel of toSubscribe) {
          if (this.inFlight.get(channel) !== done) continue;
          this.inFlight.delete(channel);
          this.undone.delete(channel);
        }
      });
    }
    Promise.all(work).then(() => resolve(), reject);
  }
}
