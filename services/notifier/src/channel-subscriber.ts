import type { Redis } from 'ioredis';

/**
 * Keeps one Redis subscriber connection subscribed to exactly the channels
 * asked for. Changes made in one tick go out as one SUBSCRIBE and one
 * UNSUBSCRIBE. ioredis re-subscribes everything itself after a reconnect.
 */
export class ChannelSubscriber {
  private readonly subscribed = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();
  private pendingSubscribe = new Set<string>();
  private pendingUnsubscribe = new Set<string>();
  private batch: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(
    private readonly redis: Redis,
    onMessage: (channel: string, payload: Buffer) => void,
  ) {
    redis.on('messageBuffer', (channel: Buffer, payload: Buffer) => onMessage(channel.toString(), payload));
  }

  /** Resolves once every channel is subscribed on Redis, so messages published after that arrive. */
  ensure(channels: readonly string[]): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const channel of channels) {
      // A pending unsubscribe is simply cancelled: the channel never left.
      const kept = this.pendingUnsubscribe.delete(channel);
      const inFlight = this.inFlight.get(channel);
      if (inFlight) waits.push(inFlight);
      if (kept || inFlight || this.subscribed.has(channel)) continue;
      this.pendingSubscribe.add(channel);
      waits.push(this.scheduleFlush());
    }
    return waits.length === 0 ? Promise.resolve() : Promise.all(waits).then(() => undefined);
  }

  /** Channels no longer needed; unsubscribed in the next batch. */
  release(channels: readonly string[]): void {
    for (const channel of channels) {
      if (this.pendingSubscribe.delete(channel)) continue;
      if (this.subscribed.has(channel) || this.inFlight.has(channel)) {
        this.pendingUnsubscribe.add(channel);
        this.scheduleFlush();
      }
    }
  }

  get channelCount(): number {
    return this.subscribed.size;
  }

  private scheduleFlush(): Promise<void> {
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Callers that only release never await; keep a rejection from going unhandled.
      promise.catch(() => {});
      this.batch = { promise, resolve, reject };
      setImmediate(() => this.flush());
    }
    return this.batch.promise;
  }

  private flush(): void {
    const batch = this.batch!;
    this.batch = undefined;
    const toUnsubscribe = [...this.pendingUnsubscribe];
    const toSubscribe = [...this.pendingSubscribe];
    this.pendingUnsubscribe = new Set();
    this.pendingSubscribe = new Set();
    const work: Promise<unknown>[] = [];
    if (toUnsubscribe.length > 0) {
      for (const channel of toUnsubscribe) this.subscribed.delete(channel);
      // Commands on one connection run in order, so a later SUBSCRIBE of the same channel wins.
      work.push(this.redis.unsubscribe(...toUnsubscribe));
    }
    if (toSubscribe.length > 0) {
      const done = this.redis.subscribe(...toSubscribe).then(() => {
        for (const channel of toSubscribe) {
          this.inFlight.delete(channel);
          this.subscribed.add(channel);
        }
      });
      for (const channel of toSubscribe) this.inFlight.set(channel, done);
      work.push(done);
      done.catch(() => {
        for (const channel of toSubscribe) this.inFlight.delete(channel);
      });
    }
    Promise.all(work).then(() => batch.resolve(), batch.reject);
  }
}
