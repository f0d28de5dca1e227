import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Server } from 'socket.io';
import type { SocketIoConfig } from './config.js';
import { createRequestHandler } from './http-routes.js';
import { hs256Verifier } from './jwt.js';
import { registerSocketHandlers } from './socket-handlers.js';
import type { NotificationServer } from './types.js';

export interface SocketIoServer {
  httpServer: HttpServer;
  io: NotificationServer;
  close(): Promise<void>;
}

async function ready(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') await once(redis, 'ready');
}

/**
 * The notification system's job done the Socket.IO way: an HTTP API beside a
 * Socket.IO server whose rooms are shared between nodes by the Redis adapter.
 * Resolves once both Redis connections are ready; the caller listens.
 */
export async function createSocketIoServer(
  config: Pick<SocketIoConfig, 'redisUrl' | 'jwtSecret' | 'serviceJwtSecret'>,
  logger: Logger,
): Promise<SocketIoServer> {
  // As the adapter's docs: one client publishes, its duplicate subscribes.
  const pubClient = new Redis(config.redisUrl);
  const subClient = pubClient.duplicate();
  for (const [name, client] of [['pub', pubClient], ['sub', subClient]] as const) {
    // Without a listener an 'error' would crash the process; ioredis reconnects by itself.
    client.on('error', (err: Error) => logger.warn({ redis: name, err: { message: err.message } }, 'redis error'));
  }
  await Promise.all([ready(pubClient), ready(subClient)]);

  const io: NotificationServer = new Server({ adapter: createAdapter(pubClient, subClient) });
  registerSocketHandlers(io, pubClient, logger);
  const handleRequest = createRequestHandler({
    io,
    redis: pubClient,
    verifyUserJwt: hs256Verifier(config.jwtSecret),
    verifyServiceJwt: hs256Verifier(config.serviceJwtSecret),
    logger,
  });
  // Attached after the API handler exists: engine.io wraps the 'request' listeners present at
  // attach time and keeps /socket.io/ for itself; a listener added later would see those requests too.
  const httpServer = createServer(handleRequest);
  io.attach(httpServer);

  return {
    httpServer,
    io,
    async close() {
      // io.close() disconnects every socket, closes the adapter and the HTTP server.
      await io.close();
      await Promise.all([pubClient.quit(), subClient.quit()]);
    },
  };
}
