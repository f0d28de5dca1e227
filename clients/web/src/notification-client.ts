import type { NotificationFrame, NotificationsResponse, NotificationType, ServerFrame, StreamName, StreamPositions } from '@parking-realtime/protocol';
import { CloseCode } from '@parking-realtime/protocol/close-codes';
import { type BackoffOptions, DEFAULT_BACKOFF, fullJitterDelay } from './backoff.js';
import { NotificationClientError } from './client-error.js';
import { DeliveredNotifications } from './delivered-notifications.js';
import { compareNotificationIds } from './notification-ids.js';
import { type ReadonlyStreamPositions, ResumeState } from './resume-state.js';
import { notificationsUrlFor, pageOrigin, socketUrlFor, tokenUrlFor } from './urls.js';

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** The subset of the WebSocket API the client uses: the browser's, or `ws` in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;

/** Where the client hears that the device is back: the window (`online`) or the document (`visibilitychange`). */
export interface WakeEventSource {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
}

/** The document, as far as the client reads it. */
export interface VisibilitySource extends WakeEventSource {
  readonly visibilityState: string;
}

/** Timer functions, injectable so tests can drive time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  now(): number;
}

export interface NotificationClientOptions {
  /** The app's current JWT; called before every token fetch, so a refreshed JWT is used. */
  getJwt: () => string | Promise<string>;
  /** Notification types to subscribe to. Default: reservation and parking_lot. */
  types?: readonly NotificationType[];
  /** Origin of the API. Default: the page's origin (required outside a browser). */
  baseUrl?: string;
  /** Default `<baseUrl>/api/user/ws-token/`. */
  tokenUrl?: string;
  /** Default `<baseUrl>/ws/notifications/`, with wss: on an https page. */
  socketUrl?: string;
  /** `GET /api/notifications/`, the notifications from history. Default `<baseUrl>/api/notifications/` (without baseUrl, on the token URL's origin). */
  notificationsUrl?: string;
  /**
   * After a `resume_gap`, fetch what the gapped streams still hold from the
   * notifications endpoint and deliver what the socket did not bring, then
   * emit `history_gap` for the streams even that could not fill. Default true;
   * false: only `resume_gap`, as before the endpoint existed.
   */
  catchUpOnGap?: boolean;
  /** Default: the global WebSocket. */
  WebSocket?: WebSocketFactory;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /**
   * Its `online` event ends a backoff wait: the client reconnects at once.
   * Default: the global window (globalThis, when it takes event listeners);
   * null: not listened to.
   */
  window?: WakeEventSource | null;
  /**
   * Its `visibilitychange` to `visible` ends a backoff wait like `online`,
   * and has an open socket checked with a ping at once. Default: the global
   * document; null: not listened to.
   */
  document?: VisibilitySource | null;
  /** Default 500 ms initial, 30 s cap, full jitter. */
  backoff?: Partial<BackoffOptions>;
  /** An application ping this often detects a dead link. Default 25 000 ms. */
  pingIntervalMs?: number;
  /** No pong (or any frame) within this after a ping: the link is dead. Default 10 000 ms. */
  pongTimeoutMs?: number;
  /** Notifications kept in `notifications`, newest last. Default 100. */
  bufferSize?: number;
  timers?: Timers;
  random?: () => number;
}

/** Something in these streams may be lost while the client was away: refetch the state they feed. */
export interface ResumeGap {
  streams: StreamName[];
  /** The `last_id` this resume sent, if it sent one (as the server echoed it before positions). */
  last_id?: string;
}

/** Notifications in these streams are lost for good: refetch the app state they feed. */
export interface HistoryGap {
  streams: StreamName[];
}

/** What `fetchNotifications()` asks for; see `GET /api/notifications/` in docs/protocol.md. */
export interface NotificationsQueryOptions {
  /** Default: the client's types. */
  types?: readonly NotificationType[];
  /** Positions to read on from (at most one per stream); absent: the most recent notifications. */
  after?: ReadonlyStreamPositions;
  /** 1 to 200; default the server's (50). */
  limit?: number;
}

/** What a catch-up delivered: the notifications new to the client, and the streams with a gap even history could not fill. */
export interface CatchUp {
  notifications: NotificationFrame[];
  gap: StreamName[];
}

export interface ClientEvents {
  status: ConnectionStatus;
  /** A notification, live or (while catching up) from history; each is delivered once. */
  notification: NotificationFrame;
  /**
   * The socket's resume did not reach back to where the client was. With
   * `catchUpOnGap` (the default) the client now fetches what history still
   * holds, and `history_gap` says whether something is lost for good.
   */
  resume_gap: ResumeGap;
  /** Even the notifications endpoint's history does not reach back: refetch the state these streams feed. */
  history_gap: HistoryGap;
  error: NotificationClientError;
}

type Listener<K extends keyof ClientEvents> = (value: ClientEvents[K]) => void;

const OPEN = 1;

/** The largest page the notifications endpoint serves (NOTIFICATIONS_MAX_LIMIT). */
const PAGE_LIMIT = 200;
/**
 * Pages one catch-up fetches at most: 1000 notifications. A client further
 * behind is better off refetching its state (`history_gap`).
 */
export const MAX_CATCH_UP_PAGES = 5;
/** Notifications remembered to deliver each once: room for a whole catch-up and a whole replay. */
const DELIVERED_REMEMBERED = 4 * PAGE_LIMIT * MAX_CATCH_UP_PAGES;
/** Closes after which the client must not come back on its own. */
const FINAL_CLOSES: Record<number, { code: 'displaced' | 'revoked'; message: string }> = {
  // The user opened a newer socket elsewhere; coming back would only push that one out.
  [CloseCode.tooManySockets]: { code: 'displaced', message: 'Closed: this user opened too many sockets' },
  // Logout or ban: the service closed every socket of this user.
  [CloseCode.revoked]: { code: 'revoked', message: 'Closed by the service (logout or ban)' },
};
function globalWindow(): WakeEventSource | null {
  const scope = globalThis as Partial<WakeEventSource>;
  return typeof scope.addEventListener === 'function' && typeof scope.removeEventListener === 'function' ? (scope as WakeEventSource) : null;
}

function globalDocument(): VisibilitySource | null {
  const document = (globalThis as { document?: Partial<VisibilitySource> }).document;
  return typeof document?.addEventListener === 'function' ? (document as VisibilitySource) : null;
}

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

/**
 * One notification connection that keeps itself alive: a fresh token for
 * every attempt, reconnects with exponential backoff and full jitter, an
 * application ping to find dead links, resume from where it was in each
 * stream, and no reconnect after `close()` or when the token endpoint
 * refuses the JWT. A device coming back (`online`, or the page in view
 * again) cuts a backoff wait short.
 */
export class NotificationClient {
  private readonly options: Required<Omit<NotificationClientOptions, 'baseUrl' | 'backoff'>> & { backoff: BackoffOptions };
  private readonly listeners: { [K in keyof ClientEvents]: Set<Listener<K>> } = {
    status: new Set(),
    notification: new Set(),
    resume_gap: new Set(),
    history_gap: new Set(),
    error: new Set(),
  };
  private socket: WebSocketLike | undefined;
  private retryTimer: unknown;
  private pingTimer: unknown;
  private pongTimer: unknown;
  private failures = 0;
  private stopped = true;
  private buffer: NotificationFrame[] = [];
  private currentStatus: ConnectionStatus = 'idle';
  private lastError: NotificationClientError | undefined;
  private readonly resume = new ResumeState();
  /** The `last_id` the current socket's subscribe sent. */
  private resumedFromId: string | undefined;
  /** The positions the current socket's subscribe sent: where a catch-up after an up-front `resume_gap` starts. */
  private resumedFromPositions: StreamPositions | undefined;
  /** Where the current socket's notifications got to, per stream: a `resume_gap` in the middle of a replay lies after it. */
  private socketPositions: StreamPositions = {};
  private readonly delivered = new DeliveredNotifications(DELIVERED_REMEMBERED);
  /** Catch-ups run one after the other, so each reads the positions the one before left. */
  private catchUps: Promise<unknown> = Promise.resolve();
  /** Counts close() calls: a catch-up answered after one delivers nothing. */
  private closes = 0;

  constructor(options: NotificationClientOptions) {
    const base = options.baseUrl ?? pageOrigin();
    const tokenUrl = options.tokenUrl ?? (base ? tokenUrlFor(base) : undefined);
    const socketUrl = options.socketUrl ?? (base ? socketUrlFor(base) : undefined);
    if (!tokenUrl || !socketUrl) throw new TypeError('NotificationClient: baseUrl (or tokenUrl and socketUrl) is required outside a browser');
    const notificationsUrl = options.notificationsUrl ?? notificationsUrlFor(base ?? tokenUrl);
    const WebSocketImpl = options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketFactory | undefined);
    if (!WebSocketImpl) throw new TypeError('NotificationClient: no WebSocket implementation; pass options.WebSocket');
    this.options = {
      getJwt: options.getJwt,
      types: options.types ?? ['reservation', 'parking_lot'],
      tokenUrl,
      socketUrl,
      notificationsUrl,
      catchUpOnGap: options.catchUpOnGap ?? true,
      WebSocket: WebSocketImpl,
      fetch: options.fetch ?? ((...args) => globalThis.fetch(...args)),
      window: options.window === undefined ? globalWindow() : options.window,
      document: options.document === undefined ? globalDocument() : options.document,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      pingIntervalMs: options.pingIntervalMs ?? 25_000,
      pongTimeoutMs: options.pongTimeoutMs ?? 10_000,
      bufferSize: options.bufferSize ?? 100,
      timers: options.timers ?? defaultTimers,
      random: options.random ?? Math.random,
    };
  }

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** The latest notifications, oldest first, at most `bufferSize`. */
  get notifications(): readonly NotificationFrame[] {
    return this.buffer;
  }

  get error(): NotificationClientError | undefined {
    return this.lastError;
  }

  /** Sent as `last_id` on every reconnect. */
  get lastId(): string | undefined {
    return this.resume.lastId;
  }

  /** Where the client is in each stream (a snapshot), sent as `positions` on every reconnect. */
  get positions(): ReadonlyStreamPositions {
    return this.resume.positions;
  }

  on<K extends keyof ClientEvents>(event: K, listener: Listener<K>): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  /** Starts (or restarts after close or a fatal error). */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.listenForWakeUps(true);
    this.failures = 0;
    this.lastError = undefined;
    this.setStatus('connecting');
    void this.attempt();
  }

  /** Closes for good: no reconnect until `connect()` is called again. */
  close(): void {
    this.closes += 1;
    this.stop();
    this.options.timers.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stopPing();
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      detach(socket);
      socket.close(1000, 'client closed');
    }
    this.setStatus('closed');
  }

  /** Empties the notification buffer (the resume position is kept). */
  clear(): void {
    this.buffer = [];
  }

  /**
   * One page of the user's notifications from history (`GET
   * /api/notifications/` with the JWT), as the server answers it: nothing is
   * delivered or remembered. Rejects with a `notifications_unavailable`
   * NotificationClientError (its `serverCode` the server's code, if any).
   */
  async fetchNotifications(query: NotificationsQueryOptions = {}): Promise<NotificationsResponse> {
    const params = new URLSearchParams({ types: (query.types ?? this.options.types).join(',') });
    for (const [stream, at] of Object.entries(query.after ?? {})) {
      if (at) params.append('after', `${stream}:${at.id}:${at.epoch}`);
    }
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const url = `${this.options.notificationsUrl}${this.options.notificationsUrl.includes('?') ? '&' : '?'}${params}`;
    const jwt = await this.options.getJwt();
    let response: Response;
    try {
      response = await this.options.fetch(url, { headers: { authorization: `Bearer ${jwt}` } });
    } catch (err) {
      throw new NotificationClientError('notifications_unavailable', `Notifications endpoint unreachable: ${(err as Error).message}`, false);
    }
    const body = (await response.json().catch(() => undefined)) as Partial<NotificationsResponse> & { code?: string; message?: string } | undefined;
    if (!response.ok) {
      throw new NotificationClientError('notifications_unavailable', body?.message ?? `Notifications endpoint answered ${response.status}`, false, body?.code);
    }
    if (!body || !Array.isArray(body.notifications) || typeof body.positions !== 'object' || !Array.isArray(body.gap)) {
      throw new NotificationClientError('notifications_unavailable', 'Notifications endpoint sent no notifications', false);
    }
    return body as NotificationsResponse;
  }

  /**
   * Catches up from history: what came after the client's position in each
   * stream of its types (or, before it has any, the most recent
   * notifications), page by page. Each notification it has not delivered yet
   * is delivered like a live one (a `notification` event, in `notifications`,
   * moving the positions); a stream history no longer reaches back in gets a
   * `history_gap` event. Works before `connect()` too: the first subscribe
   * then goes on from where this left off.
   */
  fetchMissed(): Promise<CatchUp> {
    const held = this.resume.positions;
    const after: StreamPositions = {};
    for (const stream of streamsOf(this.options.types)) {
      const at = held[stream];
      if (at) after[stream] = { ...at };
    }
    return this.queueCatchUp(this.options.types, Object.keys(after).length > 0 ? after : undefined);
  }

  private async attempt(): Promise<void> {
    let token: string;
    try {
      token = await this.fetchToken();
    } catch (err) {
      if (this.stopped) return; // closed while the token was on its way
      const error = err as NotificationClientError;
      this.emit('error', error);
      this.lastError = error;
      if (error.fatal) {
        this.stop();
        this.setStatus('closed');
      } else {
        this.scheduleRetry();
      }
      return;
    }
    if (this.stopped) return;
    const url = `${this.options.socketUrl}${this.options.socketUrl.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    const socket = new this.options.WebSocket(url);
    this.socket = socket;
    socket.onopen = () => {
      const resume = this.resume.subscribeFields();
      this.resumedFromId = resume.last_id;
      this.resumedFromPositions = resume.positions;
      this.socketPositions = {};
      socket.send(JSON.stringify({ type: 'subscribe', notification_types: this.options.types, ...resume }));
      this.startPing(socket);
    };
    socket.onmessage = (event) => this.handleFrame(event.data);
    socket.onclose = (event) => {
      const final = FINAL_CLOSES[event.code];
      if (final) {
        const error = new NotificationClientError(final.code, final.message, true);
        this.lastError = error;
        this.emit('error', error);
        this.stop();
      }
      this.lost(socket);
      if (this.stopped) this.setStatus('closed');
    };
    socket.onerror = () => {}; // a close event follows
  }

  private async fetchToken(): Promise<string> {
    const jwt = await this.options.getJwt();
    let response: Response;
    try {
      response = await this.options.fetch(this.options.tokenUrl, { headers: { authorization: `Bearer ${jwt}` } });
    } catch (err) {
      throw new NotificationClientError('token_unavailable', `Token endpoint unreachable: ${(err as Error).message}`, false);
    }
    if (response.status === 401 || response.status === 403) {
      const body = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
      throw new NotificationClientError('auth_failed', body.message ?? 'The JWT was refused', true, body.code);
    }
    if (!response.ok) throw new NotificationClientError('token_unavailable', `Token endpoint answered ${response.status}`, false);
    const body = (await response.json()) as { ws_token?: unknown };
    if (typeof body.ws_token !== 'string') throw new NotificationClientError('token_unavailable', 'Token endpoint sent no ws_token', false);
    return body.ws_token;
  }

  private handleFrame(data: unknown): void {
    this.armPongTimeout(false);
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(data)) as ServerFrame;
    } catch {
      return;
    }
    switch (frame.type) {
      case 'subscribed':
        // Before the status event, so a listener reading `positions` sees them.
        this.resume.subscribed(frame);
        this.failures = 0;
        this.setStatus('open');
        return;
      case 'notification':
        if (typeof frame.stream === 'string') this.socketPositions[frame.stream as StreamName] = { id: frame.id, epoch: frame.epoch };
        if (!this.delivered.add(frame)) return; // a catch-up delivered it already
        this.resume.notification(frame);
        this.buffer.push(frame);
        this.trimBuffer();
        this.emit('notification', frame);
        return;
      case 'resume_gap': {
        // The server echoes last_id only to a resume without positions; apps that read it still get the one sent.
        const lastId = frame.last_id ?? this.resumedFromId;
        // A server that predates streams names none.
        const streams = (frame.streams ?? []) as StreamName[];
        this.emit('resume_gap', lastId === undefined ? { streams } : { streams, last_id: lastId });
        if (this.options.catchUpOnGap) this.catchUpAfterGap(streams, { ...this.resumedFromPositions, ...this.socketPositions });
        return;
      }
      case 'error': {
        const error = new NotificationClientError('server_error', frame.message, false, frame.code);
        this.lastError = error;
        this.emit('error', error);
        return;
      }
      default:
        return; // pong: any frame already counts as a sign of life
    }
  }

  /**
   * After `resume_gap`: fetches what history holds in the gapped streams
   * after where the socket got to (the last notification it brought in the
   * stream, for a gap found in the middle of a replay; else the position the
   * resume started from), and tells the app what even that could not fill. A
   * stream with no position (a server that predates streams names none)
   * cannot be caught up: it is a history gap at once.
   */
  private catchUpAfterGap(streams: StreamName[], from: StreamPositions): void {
    const after: StreamPositions = {};
    const unknown: StreamName[] = [];
    for (const stream of streams) {
      const at = from[stream];
      if (at) after[stream] = at;
      else unknown.push(stream);
    }
    if (streams.length === 0 || unknown.length > 0) this.emit('history_gap', { streams: unknown });
    const types = [...new Set(Object.keys(after).map(typeOfStream))];
    if (types.length === 0) return;
    this.queueCatchUp(types, after).catch((err: NotificationClientError) => {
      // Nothing could be fetched: the gap stands, as the socket reported it.
      this.lastError = err;
      this.emit('error', err);
      this.emit('history_gap', { streams: Object.keys(after) as StreamName[] });
    });
  }

  private queueCatchUp(types: readonly NotificationType[], after: StreamPositions | undefined): Promise<CatchUp> {
    const closes = this.closes;
    const run = this.catchUps.then(() => this.catchUp(types, after, closes));
    this.catchUps = run.catch(() => {});
    return run;
  }

  /** Pages through history from `after` (or the most recent), delivering what is new; see fetchMissed(). */
  private async catchUp(types: readonly NotificationType[], after: StreamPositions | undefined, closes: number): Promise<CatchUp> {
    const result: CatchUp = { notifications: [], gap: [] };
    let from = after;
    for (let page = 1; ; page++) {
      const answer = await this.fetchNotifications({ types, ...(from ? { after: from } : {}), limit: PAGE_LIMIT });
      if (closes !== this.closes) return result; // closed meanwhile: nothing more reaches the app
      for (const stream of answer.gap) if (!result.gap.includes(stream)) result.gap.push(stream);
      for (const frame of answer.notifications) {
        if (!this.delivered.add(frame)) continue;
        if (typeof frame.stream === 'string') this.resume.fetched(frame.stream as StreamName, frame);
        this.insertInOrder(frame);
        this.emit('notification', frame);
        result.notifications.push(frame);
      }
      // Only the streams read after a position moved by what was delivered; the answer places the others at their tip.
      const read = (from ? Object.keys(from) : Object.keys(answer.positions)) as StreamName[];
      for (const stream of read) {
        const at = answer.positions[stream];
        if (at) this.resume.fetched(stream, at);
      }
      if (!answer.more) break;
      from = {};
      for (const stream of read) {
        const at = answer.positions[stream];
        if (at) from[stream] = at;
      }
      if (page === MAX_CATCH_UP_PAGES) {
        // Further behind than a catch-up reaches: what was not fetched counts as lost.
        for (const stream of read) if (!result.gap.includes(stream)) result.gap.push(stream);
        break;
      }
    }
    if (result.gap.length > 0) this.emit('history_gap', { streams: result.gap });
    return result;
  }

  /** A notification from history goes where its id puts it among those held (it may be older than live ones). */
  private insertInOrder(frame: NotificationFrame): void {
    let at = this.buffer.length;
    while (at > 0 && compareNotificationIds(this.buffer[at - 1]!.id, frame.id) > 0) at -= 1;
    this.buffer.splice(at, 0, frame);
    this.trimBuffer();
  }

  private trimBuffer(): void {
    if (this.buffer.length > this.options.bufferSize) this.buffer.splice(0, this.buffer.length - this.options.bufferSize);
  }

  /** The socket is gone (closed, or found dead): reconnect unless stopped. */
  private lost(socket: WebSocketLike): void {
    if (socket !== this.socket) return;
    detach(socket);
    this.socket = undefined;
    this.stopPing();
    if (this.stopped) return;
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.setStatus('reconnecting');
    const delay = fullJitterDelay(this.failures, this.options.backoff, this.options.random);
    this.failures += 1;
    this.retryTimer = this.options.timers.setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) void this.attempt();
    }, delay);
  }

  /** No more reconnects, and no more listening for the device to come back. */
  private stop(): void {
    this.stopped = true;
    this.listenForWakeUps(false);
  }

  private listenForWakeUps(listen: boolean): void {
    const method = listen ? 'addEventListener' : 'removeEventListener';
    this.options.window?.[method]('online', this.onOnline);
    this.options.document?.[method]('visibilitychange', this.onVisibilityChange);
  }

  private readonly onOnline = () => this.wake();

  private readonly onVisibilityChange = () => {
    if (this.options.document?.visibilityState === 'visible') this.wake();
  };

  /**
   * The network is back or the page is in view again (a phone waking up):
   * a client waiting out its backoff reconnects now. A socket open or on its
   * way is kept (never a second one); an open one is pinged at once, since
   * after a sleep it may be dead without having said so.
   */
  private wake(): void {
    if (this.stopped) return;
    if (this.retryTimer !== undefined) {
      this.options.timers.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      void this.attempt();
      return;
    }
    const socket = this.socket;
    if (socket && socket.readyState === OPEN && this.pongTimer === undefined) this.ping(socket);
  }

  private ping(socket: WebSocketLike): void {
    socket.send('{"type":"ping"}');
    this.armPongTimeout(true);
  }

  private startPing(socket: WebSocketLike): void {
    this.stopPing();
    const tick = () => {
      if (socket !== this.socket || socket.readyState !== OPEN) return;
      this.ping(socket);
      this.pingTimer = this.options.timers.setTimeout(tick, this.options.pingIntervalMs);
    };
    this.pingTimer = this.options.timers.setTimeout(tick, this.options.pingIntervalMs);
  }

  /** Starts waiting for a sign of life after a ping; any frame ends the wait. */
  private armPongTimeout(waiting: boolean): void {
    this.options.timers.clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    if (!waiting) return;
    const socket = this.socket;
    this.pongTimer = this.options.timers.setTimeout(() => {
      if (!socket || socket !== this.socket) return;
      // A dead link may take minutes to report its close: give up on it now.
      socket.close(4000, 'pong timeout');
      this.lost(socket);
    }, this.options.pongTimeoutMs);
  }

  private stopPing(): void {
    this.options.timers.clearTimeout(this.pingTimer);
    this.options.timers.clearTimeout(this.pongTimer);
    this.pingTimer = undefined;
    this.pongTimer = undefined;
  }

  private setStatus(status: ConnectionStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.emit('status', status);
  }

  private emit<K extends keyof ClientEvents>(event: K, value: ClientEvents[K]): void {
    for (const listener of this.listeners[event]) listener(value);
  }
}

/** The streams a subscription to `types` reads (streamsOf in the protocol, whose module would bring its schemas along). */
function streamsOf(types: readonly NotificationType[]): StreamName[] {
  return types.flatMap((type) => [`user:${type}`, `all:${type}`] as StreamName[]);
}

function typeOfStream(stream: string): NotificationType {
  return stream.slice(stream.indexOf(':') + 1) as NotificationType;
}

function detach(socket: WebSocketLike): void {
  socket.onopen = null;
  socket.onmessage = null;
  socket.onclose = null;
  // Closing a socket still connecting reports an error (an unhandled one would throw in Node's ws).
  socket.onerror = () => {};
}
