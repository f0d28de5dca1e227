import { createRedis, createServiceMetrics, runService } from '@parking-realtime/server';
import { buildEventIngestApp } from './app.js';
import { loadEventIngestConfig } from './config.js';
import { JobHandoff } from './job-handoff.js';
import { NotificationPublisher } from './notification-publisher.js';
import { startNotificationWorker } from './notification-worker.js';

await runService('event-ingest', loadEventIngestConfig, async (config) => {
  const serviceMetrics = createServiceMetrics('event-ingest');
  const redis = createRedis(config.redisUrl, { name: 'event-ingest', failFast: true, reconnects: serviceMetrics.redisReconnects });
  const runsWorker = config.workerConcurrency > 0;
  const workerRedis = runsWorker
    ? createRedis(config.redisUrl, { name: 'event-ingest-worker', maxRetriesPerRequest: null, reconnects: serviceMetrics.redisReconnects })
    : undefined;
  const publisherRedis = runsWorker ? createRedis(config.redisUrl, { name: 'event-ingest-publisher', reconnects: serviceMetrics.redisReconnects }) : undefined;
  const publisher = publisherRedis && new NotificationPublisher(publisherRedis, config);

  // With a worker here, events accepted over HTTP are handed to it as they are stored.
  let handoff: JobHandoff | undefined;
  const { app, metrics } = await buildEventIngestApp(config, {
    redis,
    metrics: serviceMetrics,
    ...(publisher && {
      events: ({ log, metrics }) => {
        handoff = new JobHandoff({
          redis,
          queueName: config.queueName,
          dedupeTtlSeconds: config.dedupeTtlSeconds,
          lockMs: config.workerLockMs,
          publisher,
          log,
          metrics,
          fault: config.workerFault,
        });
        return handoff;
      },
    }),
  });
  if (config.serviceJwt.usingDevSecret) app.log.warn('SERVICE_JWT_SECRET not set: using the development secret (refused in production)');

  // BullMQ's worker wakes for what the domain services enqueue (and takes retries, delayed jobs and
  // jobs whose holder died); once it has published a job, the handoff takes what else waits, in
  // batches, before that job completes and BullMQ's worker takes another.
  const worker =
    workerRedis && publisher
      ? startNotificationWorker({
          queueName: config.queueName,
          concurrency: config.workerConcurrency,
          lockMs: config.workerLockMs,
          fault: config.workerFault,
          connection: workerRedis,
          publisher,
          log: app.log,
          metrics,
          afterPublish: () => handoff?.drainWaiting() ?? Promise.resolve(),
        })
      : undefined;
  return {
    app,
    close: async () => {
      // Finishes the jobs in hand before closing.
      await handoff?.close();
      await worker?.close();
      workerRedis?.disconnect();
      publisherRedis?.disconnect();
      redis.disconnect();
    },
  };
});
