import { createRedis, createServiceMetrics, runService } from '@parking-realtime/server';
import { buildNotifierApp } from './app.js';
import { loadNotifierConfig } from './config.js';

await runService('notifier', loadNotifierConfig, async (config) => {
  const metrics = createServiceMetrics('notifier');
  const reconnecting = (connection: string) => () => metrics.redisReconnects.inc({ connection });
  const redis = createRedis(config.redisUrl, { name: 'notifier', onReconnecting: reconnecting('notifier') });
  // Subscriber commands must wait out a reconnect rather than fail.
  const subscriberRedis = createRedis(config.redisUrl, {
    name: 'notifier-subscriber',
    maxRetriesPerRequest: null,
    onReconnecting: reconnecting('notifier-subscriber'),
  });
  const app = await buildNotifierApp(config, { redis, subscriberRedis, metrics });
  return {
    app,
    close: async () => {
      redis.disconnect();
      subscriberRedis.disconnect();
    },
  };
});
