import { isNotificationType, type NotificationType } from '@parking-realtime/protocol';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { NotificationServer, SubscriptionAck, SubscriptionRequest } from './types.js';
import { consumeWsToken } from './ws-tokens.js';

export const typeRoom = (type: NotificationType) => `type:${type}`;
export const userRoom = (userId: string | number, type: NotificationType) => `user:${userId}:${type}`;

/** The requested types, or the error ack to send back. */
function requestedTypes(msg: SubscriptionRequest | undefined): NotificationType[] | SubscriptionAck {
  const types: unknown = msg?.notification_types;
  if (!Array.isArray(types)) {
    return { type: 'error', code: 'invalid_frame', message: 'notification_types must be an array' };
  }
  const unknown = types.find((t) => !isNotificationType(t));
  if (unknown !== undefined) {
    return { type: 'error', code: 'unknown_notification_type', message: `Unknown notification type: ${String(unknown)}` };
  }
  return types as NotificationType[];
}

type Ack = (reply: SubscriptionAck) => void;

// A client may send anything in the ack's place; calling a non-function would crash the handler.
function reply(ack: Ack | undefined, value: SubscriptionAck): void {
  if (typeof ack === 'function') ack(value);
}

export function registerSocketHandlers(io: NotificationServer, redis: Redis, logger: Logger): void {
  io.use(async (socket, next) => {
    const token: unknown = socket.handshake.auth.token;
    try {
      const userId = typeof token === 'string' ? await consumeWsToken(redis, token) : null;
      if (userId === null) return next(new Error('forbidden'));
      socket.data.userId = userId;
      next();
    } catch (err) {
      logger.warn({ err }, 'ws token lookup failed');
      next(new Error('unavailable'));
    }
  });

  io.on('connection', (socket) => {
    const { userId } = socket.data;
    const roomsOf = (types: NotificationType[]) => types.flatMap((t) => [typeRoom(t), userRoom(userId, t)]);

    socket.on('subscribe', async (msg, ack) => {
      const types = requestedTypes(msg);
      if (!Array.isArray(types)) return reply(ack, types);
      await socket.join(roomsOf(types));
      reply(ack, { type: 'subscribed', notification_types: types });
    });

    socket.on('unsubscribe', async (msg, ack) => {
      const types = requestedTypes(msg);
      if (!Array.isArray(types)) return reply(ack, types);
      await Promise.all(roomsOf(types).map((room) => socket.leave(room)));
      reply(ack, { type: 'unsubscribed', notification_types: types });
    });
  });
}
