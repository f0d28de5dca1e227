import { createRedis, createServiceMetrics, runService } from '@parking-realtime/server';
import { buildEventIngestApp } from './app.js';
import { loadEventIngestConfig } from './config.js';
import { NotificationPublisher } from './notification-publisher.js';
import { startNotificationWorker } from './notification-worker.js';

await runService('event-ingest', loadEventIngestConfig, async (config) => {
  const serviceMetrics = createServiceMetrics('event-ingest');
  const redis = createRedis(config.redisUrl, { name: 'event-ingest', failFast: true, reconnects: serviceMetrics.redisReconnects });
  const { app, metrics } = await buildEventIngestApp(config, { redis, metrics: serviceMetrics });
  if (config.serviceJwt.usingDevSecret) app.log.warn('SERVICE_JWT_SECRET not set: using the development secret (refused in production)');

  let workerRedis: ReturnType<typeof createRedis> | undefined;
  let publisherRedis: ReturnType<typeof createRedis> | undefined;
  let worker: ReturnType<typeof startNotificationWorker> | undefined;
  if (config.workerConcurrency > 0) {
    workerRedis = createRedis(config.redisUrl, {
      name: 'event-ingest-worker',
      maxRetriesPerRequest: null,
      reconnects: serviceMetrics.redisReconnects,
    });
    publisherRedis = createRedis(config.redisUrl, {
      name: 'event-ingest-publisher',
      reconnects: serviceMetrics.redisReconnects,
    });
    worker = startNotificationWorker({
      queueName: config.queueName,
      concurrency: config.workerConcurrency,
      lockMs: config.workerLockMs,
      fault: config.workerFault,
      connection: workerRedis,
      publisher: new NotificationPublisher(publisherRedis, config),
      log: app.log,
      metrics,
    });
  }
  return {
    app,
    close: async () => {
      // Finishes the jobs in hand before closing.
      await worker?.close();
      workerRedis?.disconnect();
      publisherRedis?.disconnect();
      redis.disconnect();
    },
  };
});
