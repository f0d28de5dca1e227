import { createRedis } from '@parking-realtime/redis';
import { createServiceMetrics, runService, startServiceTracing } from '@parking-realtime/server';
import { buildAuthTokenApp } from './app.js';
import { loadAuthTokenConfig } from './config.js';

await runService('auth-token', loadAuthTokenConfig, async (config) => {
  // Before the app is built: its requests are traced only if this came first. Off (loads nothing) without OTEL_EXPORTER_OTLP_ENDPOINT.
  const tracing = await startServiceTracing('auth-token');
  const metrics = createServiceMetrics('auth-token');
  const redis = createRedis(config.redis, {
    name: 'auth-token',
    // During an outage a token request fails at once with 503 instead of waiting in a queue.
    failFast: true,
    // Every token request makes three Redis calls (two rate-limit counters, the token); under load,
    // those of many requests go out in one write and come back in one read.
    autoPipelining: true,
    reconnects: metrics.redisReconnects,
  });
  const app = await buildAuthTokenApp(config, { redis, metrics });
  if (config.jwt.usingDevSecret) app.log.warn('JWT_SECRET not set: using the development secret (refused in production)');
  return {
    app,
    close: async () => {
      redis.disconnect();
      // Sends the spans still buffered.
      await tracing?.shutdown();
    },
  };
});
