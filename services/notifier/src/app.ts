import websocket from '@fastify/websocket';
import { healthRoutes, installErrorHandler, loggerOptions, type Redis, TokenStore } from '@parking-realtime/server';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { ChannelSubscriber } from './channel-subscriber.js';
import type { NotifierConfig } from './config.js';
import { type Connection, deliver, serveSocket } from './notification-socket.js';
import { SubscriptionIndex } from './subscription-index.js';
import { upgradeAuth } from './upgrade-auth.js';

export interface NotifierDeps {
  /** For commands (token consumption). */
  redis: Redis;
  /** A connection of its own, in subscriber mode. */
  subscriberRedis: Redis;
  logStream?: DestinationStream;
}

export async function buildNotifierApp(config: NotifierConfig, deps: NotifierDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { ...loggerOptions('notifier', config.logLevel), ...(deps.logStream ? { stream: deps.logStream } : {}) },
  });
  installErrorHandler(app);
  app.decorateRequest('wsUserId', undefined);

  const index = new SubscriptionIndex<Connection>();
  const subscriber = new ChannelSubscriber(deps.subscriberRedis, (channel, payload) => {
    const recipients = index.recipients(channel);
    if (!recipients) return;
    // One payload for every recipient: serialized once, by the worker.
    for (const conn of recipients) deliver(conn, payload);
  });

  await app.register(websocket, {
    // Frames above the soft limit get an error frame; far above it, ws closes with 1009.
    options: { maxPayload: config.maxFrameBytes * 4, perMessageDeflate: false },
  });
  const tokens = new TokenStore(deps.redis, 1);
  app.get(
    '/ws/notifications/',
    { websocket: true, preValidation: upgradeAuth(tokens) },
    (socket, request) => {
      const userId = request.wsUserId!;
      request.log.info({ userId }, 'socket open');
      serveSocket(socket, userId, { index, subscriber, redis: deps.redis, maxFrameBytes: config.maxFrameBytes, log: request.log });
    },
  );
  healthRoutes(app, { redis: deps.redis, extra: { subscriber: () => deps.subscriberRedis.status === 'ready' } });
  return app;
}
