import { randomUUID } from 'node:crypto';
import type { AcceptedEvent, NotificationEvent } from '@parking-realtime/protocol';
import { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { assertEvent } from './event-validation.js';
import { DEFAULT_DEDUPE_TTL_SECONDS, notificationJobOptions } from './queue-options.js';
import { GroupCommit } from './group-commit.js';
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

/** Validates an event and stamps it as the queue stores it: with its id (generated when absent) and the time it was accepted. */
export function acceptEvent(event: NotificationEvent): AcceptedEvent {
  assertEvent(event);
  return { ...event, id: event.id ?? randomUUID(), created_at: new Date().toISOString() };
}

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

  async function store(batch: PendingJob[]): Promise<void> {
    let client: Awaited<typeof queue.client>;
    try {
      client = await queue.client;
    } catch (err) {
      for (const job of batch) job.failed(err);
      return;
    }
    // Corked, the socket gathers the jobs' commands and writes them at uncork,
    // with one writev. Not an ioredis pipeline: its constructor copies every
    // script BullMQ defined on the connection, which costs more than the writes.
    // Each job keeps its own reply, so one refused job does not fail the others.
    const add = ({ event, stored, failed }: PendingJob): Promise<void> => {
      try {
        return new Job(queue, event.type, event, { ...jobOptions, jobId: event.id }, event.id).addJob(client).then(stored, failed);
      } catch (err) {
        failed(err);
        return Promise.resolve();
      }
    };
    const socket = connection.stream;
    socket?.cork();
    let added: Array<Promise<void>>;
    try {
      added = batch.map(add);
    } finally {
      socket?.uncork();
    }
    await Promise.all(added);
  }

  // 202 still means stored: each event waits for its own batch's reply.
  const commits = new GroupCommit<PendingJob>(store);

  return {
    queue,
    async send(event) {
      const accepted = acceptEvent(event);
      await new Promise<void>((stored, failed) => commits.add({ event: accepted, stored, failed }));
      return { id: accepted.id };
    },
    async close() {
      await commits.drain();
      await queue.close();
      if (ownsConnection) connection.disconnect();
    },
  };
}
