import type { ClientFrame, NotificationType } from '@parking-realtime/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { WebSocket } from 'ws';
import type { ChannelSubscriber } from './channel-subscriber.js';
import { parseClientFrame } from './client-frame-parser.js';
import { frames } from './server-frames.js';
import type { SubscriptionIndex } from './subscription-index.js';

/** One client's connection: what the index routes to. */
export interface Connection {
  readonly userId: string;
  readonly socket: WebSocket;
}

export interface SocketContext {
  index: SubscriptionIndex<Connection>;
  subscriber: ChannelSubscriber;
  maxFrameBytes: number;
  log: FastifyBaseLogger;
}

/**
 * Serves one accepted socket: answers its frames in the order they came,
 * keeps the index and the Redis subscriptions in step with it, and forgets
 * it when it closes. Bad frames get an error frame and change nothing else.
 */
export function serveSocket(socket: WebSocket, userId: string, ctx: SocketContext): void {
  const conn: Connection = { userId, socket };
  let queue = Promise.resolve();
  let closed = false;

  socket.on('message', (data: Buffer, isBinary: boolean) => {
    const parsed = parseClientFrame(data, isBinary, ctx.maxFrameBytes);
    if (!parsed.ok) {
      send(socket, frames.error(parsed.code, parsed.message));
      return;
    }
    queue = queue.then(() => handle(parsed.frame)).catch((err: unknown) => {
      ctx.log.error({ err, userId }, 'frame handling failed');
      send(socket, frames.error('internal_error', 'The server could not handle that frame; try again'));
    });
  });

  socket.on('close', () => {
    closed = true;
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
        const types = unique(frame.notification_types);
        await ctx.subscriber.ensure(ctx.index.subscribe(conn, types));
        // Only now will every event published from here on reach this socket.
        send(socket, frames.subscribed(types));
        return;
      }
      case 'unsubscribe': {
        const types = unique(frame.notification_types);
        ctx.subscriber.release(ctx.index.unsubscribe(conn, types));
        send(socket, frames.unsubscribed(types));
        return;
      }
    }
  }
}

function send(socket: WebSocket, text: string): void {
  if (socket.readyState === socket.OPEN) socket.send(text);
}

function unique(types: readonly NotificationType[]): NotificationType[] {
  return [...new Set(types)];
}
