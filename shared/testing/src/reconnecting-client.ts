import { advancePosition, type StreamName, type StreamPositions } from '@parking-realtime/protocol';
import type { Frame, TestSocket } from './test-socket.js';

/** What a reconnecting client adds to its `subscribe`: the positions it holds, and its last id for older servers. */
export type ResumeFields = { positions?: StreamPositions; last_id?: string };

/**
 * A client that does what an app's client should: when its socket closes, it
 * opens a new one (through `connect`, which fetches a fresh token and
 * subscribes with `resume`: the positions it holds in each stream) and
 * carries on. Collects every notification across all its sockets, in arrival order.
 */
export class ReconnectingClient {
  readonly notifications: Frame[] = [];
  readonly closeCodes: number[] = [];
  /** Every `resume_gap` the server sent: history no longer reached back to a position held. */
  readonly gaps: Frame[] = [];
  /** For each notification, which socket (0, 1, …) it came on, and the last_id each socket resumed from. */
  readonly origins: number[] = [];
  readonly resumedFrom: Array<string | undefined> = [];
  /** Where the client is in each stream, from `subscribed` and every notification. */
  readonly positions: StreamPositions = {};
  reconnects = 0;
  /** Set when reconnecting failed for good (e.g. the whole stack went away). */
  gaveUp: Error | undefined;
  private socket: TestSocket | undefined;
  private stopped = false;
  private listeners: Array<() => void> = [];

  constructor(private readonly connect: (resume: ResumeFields) => Promise<TestSocket>) {}

  /** Connects; after `stop()`, connects again and resumes from the last id seen. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.open();
  }

  get lastId(): string | undefined {
    return this.notifications.at(-1)?.id as string | undefined;
  }

  /** Resolves once `check` holds, re-checked on every notification; fails after `timeoutMs`. */
  waitUntil(check: (c: ReconnectingClient) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (check(this)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; have ${this.notifications.length}`));
      }, timeoutMs);
      const listener = () => {
        if (!check(this)) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== listener);
        resolve();
      };
      this.listeners.push(listener);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.socket?.close();
  }

  private async open(): Promise<void> {
    let attempt = 0;
    for (;;) {
      try {
        const lastId = this.lastId;
        const resume: ResumeFields = lastId === undefined ? {} : { positions: { ...this.positions }, last_id: lastId };
        const socket = await this.connect(resume);
        this.resumedFrom.push(lastId);
        this.attach(socket);
        return;
      } catch (err) {
        attempt += 1;
        if (attempt >= 20 || this.stopped) throw err;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  private attach(socket: TestSocket): void {
    this.socket = socket;
    const origin = this.resumedFrom.length - 1;
    let cursor = 0;
    // TestSocket records every frame, including those that arrived before this listener.
    const drain = () => {
      for (; cursor < socket.received.length; cursor++) {
        const frame = socket.received[cursor]!;
        if (frame.type === 'subscribed') {
          for (const [stream, at] of Object.entries(frame.positions as StreamPositions)) {
            if (at) advancePosition(this.positions, stream as StreamName, at.id, at.epoch);
          }
        }
        if (frame.type === 'resume_gap') this.gaps.push(frame);
        if (frame.type === 'notification') {
          advancePosition(this.positions, frame.stream as StreamName, frame.id as string, frame.epoch as string);
          this.notifications.push(frame);
          this.origins.push(origin);
        }
      }
      for (const listener of [...this.listeners]) listener();
    };
    socket.ws.on('message', drain);
    drain();
    void socket.closed.then(({ code }) => {
      drain();
      this.closeCodes.push(code);
      if (this.stopped) return;
      this.reconnects += 1;
      this.open().catch((err: Error) => {
        this.gaveUp = err;
      });
    });
  }
}
