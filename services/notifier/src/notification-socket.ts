import {
  type ClientFrame,
  CloseCode,
  compareNotificationIds,
  ErrorCode,
  type NotificationType,
  notificationIdOf,
  type StreamName,
  type StreamPositions,
  type SubscribeFrame,
  streamsOf,
} from '@parking-realtime/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import { EPOCH_UNKNOWN, type RedisClient } from '@parking-realtime/redis';
import type { ChannelSubscriber } from './channel-subscriber.js';
import { type ResumeFrom, readStreams, type StreamReplay } from './history-reader.js';
import { parseClientFrame } from './client-frame-parser.js';
import { writePreparedFrame } from './prepared-frame.js';
import { frames } from './server-frames.js';
import type { SubscriptionIndex } from './subscription-index.js';

/** One client's connection: what the index routes to. */
export interface Connection {
  readonly userId: string;
  readonly socket: WebSocket;
  /** While a subscribe reads its streams (and replays), live notifications wait here, in order. */
  held: Array<{ channel: string; payload: Buffer }> | undefined;
  /** Their bytes: they wait for this socket as much as its buffered ones do, and count with them. */
  heldBytes: number;
  /**
   * After a replay, per channel (one stream each), the newest id it covered:
   * a live notification at or below it was replayed already (it was still in
   * flight from Redis), so it is dropped. Cleared per channel by the first newer one.
   */
  floor: Map<string, string> | undefined;
  /** Most bytes that may wait unsent on the socket before it is cut off. */
  readonly maxBufferedBytes: number;
  /** Called once if the socket is cut off for reading too slowly. */
  readonly onSlowConsumer: () => void;
  /**
   * False once a Redis subscription it depends on was lost, or once it is
   * being sent away: it gets nothing more (see `deliver`).
   */
  live: boolean;
}

export interface SocketContext {
  index: SubscriptionIndex<Connection>;
  subscriber: ChannelSubscriber;
  /** For reading history on resume. */
  redis: RedisClient;
  /** A resume replays no history entry older than this. */
  historyMaxAgeMs: number;
  /** Most frames replayed from one stream on one resume; a client further behind gets a gap. */
  replayMaxFrames: number;
  maxFrameBytes: number;
  maxFramesPerSecond: number;
  maxBufferedBytes: number;
  onSlowConsumer: () => void;
  log: FastifyBaseLogger;
}

/**
 * Hands a live notification to a connection: to the socket, held while it
 * resumes, or dropped if replayed. A socket that depends on a Redis
 * subscription that was lost gets nothing more: it missed what went by
 * meanwhile, and a later notification would move its resume point past that
 * gap. It is being asked to reconnect and resume.
 */
export function deliver(conn: Connection, channel: string, payload: Buffer, frame?: Buffer): void {
  if (!conn.live) return;
  if (conn.held) {
    conn.held.push({ channel, payload });
    conn.heldBytes += payload.length;
    // A replay waits for the client to read; one that stopped reading would make this grow without end.
    if (conn.heldBytes + conn.socket.bufferedAmount > conn.maxBufferedBytes) cutOff(conn);
    return;
  }
  const floor = conn.floor?.get(channel);
  if (floor !== undefined) {
    if (compareNotificationIds(notificationIdOf(payload), floor) <= 0) return;
    conn.floor!.delete(channel);
    if (conn.floor!.size === 0) conn.floor = undefined;
  }
  sendPayload(conn, payload, frame);
}

/**
 * Writes unless the client has fallen too far behind: then the socket is
 * closed (4008) and nothing more is queued for it, so one slow reader costs
 * a bounded amount of memory and never delays the others. It resumes from
 * its last id when it reconnects. True if written; `onWritten` is then
 * called once the frame has left for the network (or failed to).
 */
function sendPayload(conn: Connection, payload: Buffer | string, frame?: Buffer, onWritten?: (err?: Error) => void): boolean {
  const socket = conn.socket;
  if (socket.readyState !== socket.OPEN) return false;
  const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
  if (socket.bufferedAmount + bytes > conn.maxBufferedBytes) {
    cutOff(conn);
    return false;
  }
  if (frame && typeof payload !== 'string') writePreparedFrame(socket, frame, payload);
  else socket.send(payload, { binary: false }, onWritten);
  return true;
}

function cutOff(conn: Connection): void {
  const socket = conn.socket;
  conn.live = false;
  conn.held = undefined;
  conn.heldBytes = 0;
  if (socket.readyState !== socket.OPEN) return;
  conn.onSlowConsumer();
  socket.close(CloseCode.slowConsumer, 'slow consumer: reconnect and resume');
  // The close frame waits behind the backlog; a client that never reads is cut loose.
  setTimeout(() => socket.terminate(), 5000).unref();
}

/**
 * Serves one accepted socket: answers its frames in the order they came,
 * keeps the index and the Redis subscriptions in step with it, and forgets
 * it when it closes. Bad frames get an error frame and change nothing else.
 */
export function serveSocket(socket: WebSocket, userId: string, ctx: SocketContext): void {
  const conn: Connection = {
    userId,
    socket,
    held: undefined,
    heldBytes: 0,
    floor: undefined,
    maxBufferedBytes: ctx.maxBufferedBytes,
    onSlowConsumer: ctx.onSlowConsumer,
    live: true,
  };
  let queue = Promise.resolve();
  let closed = false;
  /** Set while a replay waits for the socket to drain: ends the wait when the socket closes. */
  let stopReplay: (() => void) | undefined;

  // A fixed one-second window per socket: a counter and a timestamp, no timer.
  let windowStart = 0;
  let framesInWindow = 0;

  socket.on('message', (data: Buffer, isBinary: boolean) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      windowStart = now;
      framesInWindow = 0;
    }
    framesInWindow += 1;
    if (framesInWindow > ctx.maxFramesPerSecond) {
      if (socket.readyState === socket.OPEN) {
        send(socket, frames.error(ErrorCode.rateLimited, `At most ${ctx.maxFramesPerSecond} frames per second`));
        socket.close(CloseCode.policyViolation, 'rate limited');
      }
      return;
    }
    const parsed = parseClientFrame(data, isBinary, ctx.maxFrameBytes);
    if (!parsed.ok) {
      send(socket, frames.error(parsed.code, parsed.message));
      return;
    }
    queue = queue.then(() => handle(parsed.frame)).catch((err: unknown) => {
      ctx.log.error({ err, userId }, 'frame handling failed');
      send(socket, frames.error(ErrorCode.internal, 'The server could not handle that frame; try again'));
    });
  });

  socket.on('close', () => {
    closed = true;
    stopReplay?.();
    ctx.subscriber.release(ctx.index.remove(conn));
  });
  socket.on('error', (err) => ctx.log.warn({ err: { message: err.message }, userId }, 'socket error'));

  async function handle(frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'ping':
        send(socket, frames.pong);
        return;
      case 'subscribe': {
        if (closed) return;
        return subscribe(frame);
      }
      case 'unsubscribe': {
        const types = unique(frame.notification_types);
        ctx.subscriber.release(ctx.index.unsubscribe(conn, types));
        send(socket, frames.unsubscribed(types));
        return;
      }
    }
  }

  /**
   * Subscribe, then read where each stream stands and, when the client gave
   * positions (or a `last_id`), replay what it missed; then go live. Live
   * notifications are held from before the subscription starts until
   * `subscribed` and the replay are written; then, on each replayed stream,
   * anything at or below the newest id the replay covered is dropped, whether
   * it was held or is still on its way from Redis. Ids rise in publish order
   * within a stream, so this leaves no gap and no duplicate.
   */
  async function subscribe(frame: SubscribeFrame): Promise<void> {
    const types = unique(frame.notification_types);
    conn.held = conn.held ?? [];
    try {
      await ctx.subscriber.ensure(ctx.index.subscribe(conn, types));
      // Only now will every event published from here on reach this socket.
      const resumed = resumeFrom(frame);
      const streams = await readStreams(ctx.redis, userId, streamsOf(types), resumed, ctx.historyMaxAgeMs, ctx.replayMaxFrames).catch(resync);
      if (!streams) return;
      // A resumed stream's position moves with each replayed frame: handing out its tip first
      // would let a client cut off mid-replay resume past what it never got. Its tip goes out
      // only when there is nothing to replay after a gap, so the client stops asking for it.
      const positions: StreamPositions = {};
      for (const s of streams) {
        if (!s.resumedFrom || (s.gap && s.pending === 0 && !s.more)) positions[s.stream] = { id: s.tip, epoch: s.epoch };
      }
      send(socket, frames.subscribed(types, positions));
      const lastId = frame.positions ? undefined : frame.last_id;
      const gaps = streams.filter((s) => s.gap).map((s) => s.stream);
      if (gaps.length > 0) send(socket, frames.resumeGap(gaps, lastId));
      // A stream read only for its tip replays nothing: what is held on it is all news.
      const replays = streams.filter((s) => s.resumedFrom);
      if (replays.length === 0) return;
      const ended = await replay(replays, lastId).catch(resync);
      if (ended !== 'done') return;
      conn.floor = conn.floor ?? new Map();
      for (const r of replays) conn.floor.set(r.channel, r.tip);
    } finally {
      const held = conn.held ?? [];
      conn.held = undefined;
      conn.heldBytes = 0;
      for (const { channel, payload } of held) deliver(conn, channel, payload);
    }
  }

  /**
   * Going live without a history read would leave a silent gap (or no positions to resume
   * from): the client is asked to come back and resume instead, and nothing more is sent.
   */
  function resync(err: unknown): undefined {
    ctx.log.warn({ err: { message: (err as Error).message }, userId }, 'history read failed: asking the client to resume');
    conn.held = undefined;
    conn.heldBytes = 0;
    conn.live = false;
    socket.close(CloseCode.resync, 'history unavailable: resume again');
    return undefined;
  }

  /**
   * Sends what the resumed streams missed, merged by id across them (each
   * stream's frames are in order; merged, they also follow time across
   * streams), reading each stream's next page once its page in hand is sent.
   * It goes no faster than the client reads: past `highWater` bytes waiting
   * on the socket, it waits until they have gone out, so a replay of any
   * length never trips the slow-consumer limit on a client that reads, and
   * holds about one page per stream. Stops, reading nothing more, once the
   * socket closes or is sent away; rejects if a page read fails.
   */
  async function replay(replays: StreamReplay[], lastId: string | undefined): Promise<'done' | 'stopped'> {
    const highWater = Math.floor(conn.maxBufferedBytes / 4);
    let sent = 0;
    let written = 0;
    let wake: (() => void) | undefined;
    const onWritten = () => {
      written += 1;
      if (written === sent) wake?.();
    };
    const going = () => conn.live && socket.readyState === socket.OPEN;
    const drained = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
        stopReplay = resolve;
      });
    const run = async (): Promise<'done' | 'stopped'> => {
      for (;;) {
        let next: StreamReplay | undefined;
        for (const r of replays) {
          if (r.pending === 0 && r.more) {
            if (!going()) return 'stopped';
            const gap = await r.readPage();
            if (!going()) return 'stopped';
            // The stream was overtaken (trimmed past, or begun again) while it was replayed, or
            // the client is more than REPLAY_MAX_FRAMES behind: a gap, said before what follows it.
            if (gap) send(socket, frames.resumeGap([r.stream], lastId));
          }
          const head = r.peek();
          if (head && (!next || compareNotificationIds(head.id, next.peek()!.id) < 0)) next = r;
        }
        if (!next) return 'done';
        const { frame: text } = next.take();
        const buffered = socket.bufferedAmount;
        if (buffered > 0 && buffered + Buffer.byteLength(text) > highWater && written < sent) await drained();
        if (!going()) return 'stopped';
        sent += 1;
        if (!sendPayload(conn, text, undefined, onWritten)) {
          sent -= 1;
          return 'stopped';
        }
      }
    };
    let ended: 'done' | 'stopped' | 'failed' = 'failed';
    try {
      ended = await run();
      return ended;
    } finally {
      wake = undefined;
      stopReplay = undefined;
      const reads = replays.reduce((n, r) => n + r.reads, 0);
      ctx.log.debug({ userId, frames: sent, reads, ended }, 'replay ended');
    }
  }
}

/**
 * Where a subscribe resumes each stream: from the position the client holds
 * in it (exact), or else after its `last_id` (by time, best effort); with
 * neither, nothing is replayed.
 */
function resumeFrom(frame: SubscribeFrame): (stream: StreamName) => ResumeFrom | undefined {
  const { positions, last_id: lastId } = frame;
  if (positions) return (stream) => positions[stream];
  if (lastId !== undefined) return () => ({ id: lastId, epoch: EPOCH_UNKNOWN });
  return () => undefined;
}

function send(socket: WebSocket, text: string): void {
  if (socket.readyState === socket.OPEN) socket.send(text);
}

function unique(types: readonly NotificationType[]): NotificationType[] {
  return [...new Set(types)];
}
