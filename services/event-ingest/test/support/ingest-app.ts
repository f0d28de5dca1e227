import { createNotificationProducer, EVENT_BATCH_JOB, type QueuedBatch } from '@parking-realtime/producer';
import { createRedis, QUEUE_PREFIX } from '@parking-realtime/redis';
import { startRedis, type TestRedisOptions } from '@parking-realtime/testing';
import { type Job, Queue } from 'bullmq';
import { buildEventIngestApp } from '../../src/app.js';
import { loadEventIngestConfig } from '../../src/config.js';

export const SERVICE_SECRET = 'service-secret-that-is-long-enough-012345';

/**
 * event-ingest's HTTP app as main.ts wires it (a fail-fast connection, the
 * producer passed in), with its own Redis and no worker, so what it stores
 * stays on the queue to be read back.
 */
export async function startIngestApp(options: { env?: Record<string, string>; redis?: TestRedisOptions } = {}) {
  const redisServer = await startRedis(options.redis);
  const redis = createRedis(redisServer.url, { name: 'ingest', failFast: true });
  const config = loadEventIngestConfig({ SERVICE_JWT_SECRET: SERVICE_SECRET, REDIS_URL: redisServer.url, LOG_LEVEL: 'silent', ...options.env });
  const producer = createNotificationProducer({ connection: redis });
  const { app } = await buildEventIngestApp(config, { redis, producer });
  const inspector = new Queue<QueuedBatch>('notifications', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
  return {
    redisServer,
    redis,
    config,
    producer,
    app,
    inspector,
    /** Every event stored on the queue, with the job that holds it, oldest job first. */
    async storedEvents(): Promise<Array<{ job: Job<QueuedBatch>; event: QueuedBatch['events'][number] }>> {
      const jobs = await inspector.getJobs(['waiting', 'active', 'completed', 'delayed', 'failed'], 0, -1, true);
      return jobs
        .filter((job) => job?.name === EVENT_BATCH_JOB)
        .sort((a, b) => a.timestamp - b.timestamp || Number(a.id) - Number(b.id))
        .flatMap((job) => job.data.events.map((event) => ({ job, event })));
    },
    async close() {
      await app.close();
      await producer.close();
      await inspector.close();
      redis.disconnect();
      await redisServer.stop();
    },
  };
}
