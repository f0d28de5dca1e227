import { randomUUID } from 'node:crypto';
import type { AcceptedEvent, NotificationEvent } from '@parking-realtime/protocol';
import { Queue } from 'bullmq';
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

export function createNotificationProducer(options: NotificationProducerOptions): NotificationProducer {
  const ownsConnection = typeof options.connection === 'string';
  const connection =
    typeof options.connection === 'string'
      ? createRedis(options.connection, { name: 'notification-producer', failFast: true })
      : options.connection;
  const queue = new Queue<AcceptedEvent>(options.queueName ?? DEFAULT_QUEUE_NAME, {
    connection,
    prefix: QUEUE_PREFIX,
    defaultJobOptions: notificationJobOptions(options.dedupeTtlSeconds ?? DEFAULT_DEDUPE_TTL_SECONDS),
  });
  // Queue re-emits connection errors; without a listener they would crash the process.
  queue.on('error', () => {});

  return {
    queue,
    async send(event) {
      assertEvent(event);
      const id = event.id ?? randomUUID();
      const accepted: AcceptedEvent = { ...event, id, created_at: new Date().toISOString() };
      await queue.add(event.type, accepted, { jobId: id });
      return { id };
    },
    async close() {
      await queue.close();
      if (ownsConnection) connection.disconnect();
    },
  };
}
