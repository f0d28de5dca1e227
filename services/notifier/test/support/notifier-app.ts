import { createRedis, TokenStore } from '@parking-realtime/redis';
import { startRedis, TestSocket } from '@parking-realtime/testing';
import { buildNotifierApp } from '../../src/app.js';
import { loadNotifierConfig } from '../../src/config.js';

/**
 * A notifier listening on a free port with its own Redis, the token store
 * that auth-token would fill, and a publisher connection: `connect(user)`
 * opens a socket with a fresh token; `close()` ends them all.
 */
export async function startNotifierApp(env: Record<string, string> = {}) {
  const redisServer = await startRedis();
  const redis = createRedis(redisServer.url, { name: 'test' });
  const subscriberRedis = createRedis(redisServer.url, { name: 'test-sub', maxRetriesPerRequest: null });
  const publisher = createRedis(redisServer.url, { name: 'test-pub' });
  const app = await buildNotifierApp(loadNotifierConfig({ LOG_LEVEL: 'silent', REDIS_URL: redisServer.url, ...env }), { redis, subscriberRedis });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const tokens = new TokenStore(redis, 1800);
  const sockets: TestSocket[] = [];
  const wsUrl = (token?: string) => `ws://127.0.0.1:${port}/ws/notifications/${token === undefined ? '' : `?token=${token}`}`;
  return {
    redisServer,
    redis,
    subscriberRedis,
    publisher,
    app,
    port,
    tokens,
    wsUrl,
    /** Sockets closed by close(); push any opened by hand. */
    sockets,
    async connect(userId: string): Promise<TestSocket> {
      const { token } = await tokens.issue(userId);
      const socket = await TestSocket.connect(wsUrl(token));
      sockets.push(socket);
      return socket;
    },
    async close() {
      await Promise.all(sockets.map((s) => s.close()));
      await app.close();
      for (const r of [redis, subscriberRedis, publisher]) r.disconnect();
      await redisServer.stop();
    },
  };
}
