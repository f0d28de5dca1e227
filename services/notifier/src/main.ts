import { createRedis, runService } from '@parking-realtime/server';
import { buildNotifierApp } from './app.js';
import { loadNotifierConfig } from './config.js';

await runService('notifier', loadNotifierConfig, async (config) => {
  const redis = createRedis(config.redisUrl, { name: 'notifier' });
  // Subscriber commands must wait out a reconnect rather than fail.
  const subscriberRedis = createRedis(config.redisUrl, { name: 'notifier-subscriber', maxRetriesPerRequest: null });
  const app = await buildNotifierApp(config, { redis, subscriberRedis });
  return {
    app,
    close: async () => {
      redis.disconnect();
      subscriberRedis.disconnect();
    },
  };
});
