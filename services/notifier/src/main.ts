import { createRedis } from '@parking-realtime/redis';
import { createServiceMetrics, runService, startServiceTracing } from '@parking-realtime/server';
import { buildNotifierApp } from './app.js';
import { loadNotifierConfig } from './config.js';

await runService('notifier', loadNotifierConfig, async (config) => {
  // Before the app is built: its requests are traced only if this came first. Off (loads nothing) without OTEL_EXPORTER_OTLP_ENDPOINT.
  const tracing = await startServiceTracing('notifier');
  const metrics = createServiceMetrics('notifier');
  const redis = createRedis(config.redis, { name: 'notifier', reconnects: metrics.redisReconnects });
  // Subscriber commands must wait out a reconnect rather than fail.
  const subscriberRedis = createRedis(config.redis, {
    name: 'notifier-subscriber',
    maxRetriesPerRequest: null,
    reconnects: metrics.redisReconnects,
    shardedSubscriber: true,
  });
  const app = await buildNotifierApp(config, { redis, subscriberRedis, metrics });
  return {
    app,
    close: async () => {
      redis.disconnect();
      subscriberRedis.disconnect();
      // Sends the spans still buffered.
      await tracing?.shutdown();
    },
  };
});
