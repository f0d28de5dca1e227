import { randomUUID } from 'node:crypto';
import type { AcceptedEvent, NotificationEvent } from '@parking-realtime/protocol';
import { Job, type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { assertEvent } from './event-validation.js';
import { DEFAULT_DEDUPE_TTL_SECONDS, notificationJobOptions } from './queue-options.js';
import { createRedis } from './redis.js';
import { DEFAULT_QUEUE_NAME, QUEUE_PREFIX } from './redis-names.js';

export interface NotificationProducerOptions {
  /** A Redis URL, or a connection to share. A URL gets its own fail-fast connection. */
  connection: string | Redis;
  /** Default `notifications`. */
  queueName?: string;
  /** Default 86400 (24 h). */
  dedupeTtlSeconds?: number;
}

/** The typed way for a Node domain service to send notifications. */
export interface NotificationProducer {
  /**
   * Validates and enqueues an event. Resolves once the job is stored in Redis,
   * with the event id (generated when absent). Sending the same id again within
   * the dedupe window is accepted and delivered once.
   * Rejects with InvalidEventError for a bad event, or with Redis' error while it is unreachable.
   */
  send(event: NotificationEvent): Promise<{ id: string }>;
  close(): Promise<void>;
  readonly queue: Queue<AcceptedEvent>;
}

/** Most jobs written to Redis in one pipeline; a larger batch is split. */
const MAX_BATCH = 500;

interface PendingJob {
  event: AcceptedEvent;
  stored: () => void;
  failed: (err: unknown) => void;
}

export function createNotificationProducer(options: NotificationProducerOptions): NotificationProducer {
  const ownsConnection = typeof options.connection === 'string';
  const connection =
    typeof options.connection === 'string'
      ? createRedis(options.connection, { name: 'notification-producer', failFast: true })
      : options.connection;
  const jobOptions = notificationJobOptions(options.dedupeTtlSeconds ?? DEFAULT_DEDUPE_TTL_SECONDS);
  const queue = new Queue<AcceptedEvent>(options.queueName ?? DEFAULT_QUEUE_NAME, {
    connection,
    prefix: QUEUE_PREFIX,
    defaultJobOptions: jobOptions,
  });
  // Queue re-emits connection errors; without a listener they would crash the process.
  queue.on('error', () => {});

  // Events sent in one turn of the event loop (say, every HTTP request whose
  // body arrived together) go to Redis as one pipeline: one write and one
  // reply read instead of one each per event, on both sides of the socket.
  let pending: PendingJob[] = [];

  const inFlight = new Set<Promise<void>>();

  const jobOf = (event: AcceptedEvent) => {
    const opts: JobsOptions = { ...jobOptions, jobId: event.id };
    return new Job(queue, event.type, event, opts, event.id);
  };

  async function store(batch: PendingJob[]): Promise<void> {
    let replies: Array<[Error | null, unknown]> | null;
    try {
      const client = await queue.client;
      if (batch.length === 1) {
        // An ioredis pipeline copies every script BullMQ defined on the connection: not worth it for one job.
        await jobOf(batch[0]!.event).addJob(client);
        batch[0]!.stored();
        return;
      }
      const pipeline = client.pipeline();
      // Queues each script on the pipeline, as Queue#addBulk does; the pipeline's replies carry any error.
      for (const { event } of batch) jobOf(event).addJob(pipeline as never).catch(() => {});
      replies = await pipeline.exec();
    } catch (err) {
      for (const job of batch) job.failed(err);
      return;
    }
    // Each job answers for itself: one refused job does not fail the others, which are stored.
    batch.forEach((job, i) => {
      const [err, reply] = replies?.[i] ?? [new Error('no reply from Redis'), undefined];
      if (err) job.failed(err);
      else if (typeof reply === 'number' && reply < 0) job.failed(new Error(`addJob refused the job (code ${reply})`));
      else job.stored();
    });
  }

  function flush(): void {
    const batch = pending;
    pending = [];
    for (let i = 0; i < batch.length; i += MAX_BATCH) {
      const write = store(batch.slice(i, i + MAX_BATCH));
      inFlight.add(write);
      void write.finally(() => inFlight.delete(write));
    }
  }

  return {
    queue,
    async send(event) {
      assertEvent(event);
      const id = event.id ?? randomUUID();
      const accepted: AcceptedEvent = { ...event, id, created_at: new Date().toISOString() };
      await new Promise<void>((stored, failed) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push({ event: accepted, stored, failed });
      });
      return { id };
    },
    async close() {
      if (pending.length > 0) flush();
      await Promise.all(inFlight);
      await queue.close();
      if (ownsConnection) connection.disconnect();
    },
  };
}
