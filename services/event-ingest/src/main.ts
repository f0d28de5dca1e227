import { createNotificationProducer } from '@parking-realtime/producer';
import { createRedis } from '@parking-realtime/redis';
import { createServiceMetrics, runService, startServiceTracing } from '@parking-realtime/server';
import { buildEventIngestApp } from './app.js';
import { loadEventIngestConfig } from './config.js';
import { NotificationPublisher } from './notification-publisher.js';
import { startNotificationWorker } from './notification-worker.js';

await runService('event-ingest', loadEventIngestConfig, async (config) => {
  // Before the app is built: its requests are traced only if this came first. Off (loads nothing) without OTEL_EXPORTER_OTLP_ENDPOINT.
  const tracing = await startServiceTracing('event-ingest');
  const serviceMetrics = createServiceMetrics('event-ingest');
  const redis = createRedis(config.redis, { name: 'event-ingest', failFast: true, reconnects: serviceMetrics.redisReconnects });
  // The one owner of accepting an event: POST /api/events/ stores through the same producer domain services use.
  const producer = createNotificationProducer({
    connection: redis,
    queueName: config.queueName,
    batchWindowMs: config.batchWindowMs,
    minReplicas: config.minReplicas,
  });
  const { app, metrics } = await buildEventIngestApp(config, { redis, producer, metrics: serviceMetrics });
  if (config.serviceJwt.usingDevSecret) app.log.warn('SERVICE_JWT_SECRET not set: using the development secret (refused in production)');

  let worker: ReturnType<typeof startNotificationWorker> | undefined;
  let workerRedis: ReturnType<typeof createRedis> | undefined;
  let publisherRedis: ReturnType<typeof createRedis> | undefined;
  if (config.runWorker) {
    workerRedis = createRedis(config.redis, { name: 'event-ingest-worker', maxRetriesPerRequest: null, reconnects: serviceMetrics.redisReconnects });
    publisherRedis = createRedis(config.redis, { name: 'event-ingest-publisher', reconnects: serviceMetrics.redisReconnects });
    worker = startNotificationWorker({
      queueName: config.queueName,
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
      // Stores what was accepted, then finishes the job in hand.
      await producer.close();
      await worker?.close();
      workerRedis?.disconnect();
      publisherRedis?.disconnect();
      redis.disconnect();
      // Sends the spans still buffered.
      await tracing?.shutdown();
    },
  };
});
