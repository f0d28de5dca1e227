import WebSocket from 'ws';

export type Frame = { type: string; [key: string]: unknown };

export interface RefusedUpgrade {
  status: number;
  body: string;
}

/**
 * A real WebSocket client for tests: keeps every frame it receives and lets a
 * test wait for the next one that matches, with a timeout instead of a sleep.
 */
export class TestSocket {
  /** Every frame received, in order, parsed. */
  readonly received: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly inbox: Frame[] = [];
  private waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Frame;
      this.received.push(frame);
      const waiter = this.waiters.find((w) => w.match(frame));
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(frame);
      } else {
        this.inbox.push(frame);
      }
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
  }

  /** Opens a socket; rejects with the HTTP status if the server refuses the upgrade. */
  static connect(url: string, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      const socket = new TestSocket(ws);
      ws.once('open', () => resolve(socket));
      ws.once('unexpected-response', (_req, res) => {
        reject(Object.assign(new Error(`upgrade refused with ${res.statusCode}`), { status: res.statusCode }));
        res.resume();
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  /** Attempts an upgrade that must be refused; resolves with the HTTP status and body. */
  static refused(url: string, options: WebSocket.ClientOptions = {}): Promise<RefusedUpgrade> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => {
        ws.terminate();
        reject(new Error('the upgrade was accepted'));
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => {
          ws.terminate();
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      ws.once('error', (err) => {
        if (!/Unexpected server response|closed before the connection/.test(err.message)) reject(err);
      });
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame (already received or still to come) matching `match`, taken out of the inbox. */
  next(match: (f: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching frame within ${timeoutMs} ms; ${this.lastReceived()}`));
      }, timeoutMs);
      const done = (f: Frame) => {
        clearTimeout(timer);
        resolve(f);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** The next frame of a given `type`. */
  nextOfType(type: string, timeoutMs?: number): Promise<Frame> {
    return this.next((f) => f.type === type, timeoutMs);
  }

  /** Sends `subscribe` and waits for the `subscribed` answer. */
  async subscribe(types: string[], extra: Record<string, unknown> = {}): Promise<Frame> {
    this.send({ type: 'subscribe', notification_types: types, ...extra });
    return this.nextOfType('subscribed');
  }

  /** Drops every frame kept so far (for long runs that would otherwise hold them all). */
  forget(): void {
    this.received.length = 0;
    this.inbox.length = 0;
  }

  notifications(): Frame[] {
    return this.received.filter((f) => f.type === 'notification');
  }

  /** The server's close, or a rejection naming what came last if it has not closed within `timeoutMs`. */
  closedWithin(timeoutMs: number): Promise<{ code: number; reason: string }> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms; ${this.lastReceived()}`)), timeoutMs);
    });
    return Promise.race([this.closed, late]).finally(() => clearTimeout(timer));
  }

  /**
   * Closes from this side. A paused socket is resumed first: the server's close
   * frame may wait behind frames it has not read, and the handshake needs them read.
   */
  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.isPaused) this.ws.resume();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }

  /** A failed wait's diagnosis: how many frames came, and the last few (a replay can bring thousands). */
  private lastReceived(): string {
    return `received ${this.received.length} frames, the last: ${JSON.stringify(this.received.slice(-5))}`;
  }
}
